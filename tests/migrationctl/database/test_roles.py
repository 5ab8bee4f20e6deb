"""``roles copy``: roles, memberships, grants and default privileges carried source to target, on real PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from inventory_migration.migrationctl.cli import main

ROLES = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rc_app') THEN CREATE ROLE rc_app LOGIN PASSWORD 'x'; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rc_reporting') THEN CREATE ROLE rc_reporting NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rc_analyst') THEN CREATE ROLE rc_analyst LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rc_owner') THEN CREATE ROLE rc_owner NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rc_root') THEN CREATE ROLE rc_root LOGIN SUPERUSER; END IF;
END $$;
GRANT rc_reporting TO rc_analyst;
"""
SCHEMA = """
CREATE SCHEMA shop;
CREATE TABLE shop.orders (id bigserial PRIMARY KEY, total numeric(12, 2));
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE total > 100;
CREATE FUNCTION shop.order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM shop.orders';
"""
GRANTS = """
GRANT USAGE ON SCHEMA shop TO rc_app, rc_reporting, rc_root;
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.orders TO rc_app;
GRANT USAGE ON SEQUENCE shop.orders_id_seq TO rc_app;
GRANT SELECT ON shop.big_orders TO rc_reporting WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION shop.order_count() TO rc_reporting;
GRANT SELECT ON shop.orders TO rc_root;
ALTER DEFAULT PRIVILEGES FOR ROLE rc_owner IN SCHEMA shop GRANT SELECT ON TABLES TO rc_reporting;
"""


def run(*argv: str) -> tuple[int, Any]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--no-progress", "--output", "json", *argv], out, err)
    assert not err.getvalue(), err.getvalue()
    return code, json.loads(out.getvalue())


@pytest.fixture()
def pair(pg_pair: Any) -> Iterator[tuple[str, str, bool]]:
    """Source and target databases with the same schema (as pre-data leaves it: no grants); whether the servers
    differ (roles are per server: on one server the target has them already)."""
    for server in {id(pg_pair.source): pg_pair.source, id(pg_pair.target): pg_pair.target}.values():
        server.psql("postgres", ROLES)
    pg_pair.source.psql("postgres", "CREATE DATABASE rc_source")
    pg_pair.target.psql("postgres", "CREATE DATABASE rc_target")
    pg_pair.source.psql("rc_source", SCHEMA + GRANTS)
    pg_pair.target.psql("rc_target", SCHEMA)
    if pg_pair.target is not pg_pair.source:  # the roles exist on the source server only
        pg_pair.target.psql("postgres", "DROP ROLE IF EXISTS rc_analyst, rc_reporting, rc_app, rc_owner, rc_root")
    try:
        yield str(pg_pair.source.dsn("rc_source")), str(pg_pair.target.dsn("rc_target")), pg_pair.target is not pg_pair.source
    finally:
        pg_pair.source.psql("postgres", "DROP DATABASE IF EXISTS rc_source WITH (FORCE)")
        pg_pair.target.psql("postgres", "DROP DATABASE IF EXISTS rc_target WITH (FORCE)")


def grants_of(dsn: str, role: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name || ':' || privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s AND table_schema = 'shop'",
            (role,),
        ).fetchall()
    return {r[0] for r in rows}


def test_without_apply_it_compares_and_changes_nothing(pair: tuple[str, str, bool]) -> None:
    source, target, _separate = pair
    code, report = run("roles", "copy", "--app-roles", "rc_app", source, target)
    assert code == 1 and not report["applied"]
    grants = {(g["kind"], g["name"], g["grantee"], g["privilege"]) for g in report["grants"]}
    assert ("TABLE", "shop.orders", "rc_app", "SELECT") in grants
    assert ("FUNCTION", "shop.order_count()", "rc_reporting", "EXECUTE") in grants
    assert grants_of(target, "rc_app") == set()


def test_apply_carries_roles_memberships_grants_and_default_privileges(pair: tuple[str, str, bool]) -> None:
    source, target, separate = pair
    code, report = run("roles", "copy", "--app-roles", "rc_app", "--apply", source, target)
    assert code == 0, report["failed"]
    if separate:
        assert {r["name"] for r in report["roles"]} == {"rc_app", "rc_reporting", "rc_analyst", "rc_owner", "rc_root"}
    assert grants_of(target, "rc_reporting") == {"big_orders:SELECT"}
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT pg_has_role('rc_analyst', 'rc_reporting', 'MEMBER')").fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM pg_default_acl WHERE defaclrole = 'rc_owner'::regrole").fetchone() == (1,)
        assert conn.execute("SELECT has_function_privilege('rc_reporting', 'shop.order_count()', 'EXECUTE')").fetchone()
    assert run("roles", "copy", "--app-roles", "rc_app", source, target)[0] == 0  # nothing left to carry


def test_the_application_stays_read_only_until_the_cutover(pair: tuple[str, str, bool]) -> None:
    source, target, _separate = pair
    code, report = run("roles", "copy", "--app-roles", "rc_app", "--apply", source, target)
    assert code == 0
    assert grants_of(target, "rc_app") == {"orders:SELECT"}
    held = {(g["grantee"], g["privilege"]) for g in report["held_back_until_cutover"]}
    assert held == {("rc_app", "INSERT"), ("rc_app", "UPDATE"), ("rc_app", "DELETE")}


def test_superuser_is_named_not_carried(pair: tuple[str, str, bool]) -> None:
    source, target, separate = pair
    code, report = run("roles", "copy", "--apply", source, target)
    assert code == 0 and "rc_root: SUPERUSER" in report["not_carried"]
    if separate:
        with psycopg.connect(target) as conn:
            assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'rc_root'").fetchone() == (False,)


# ------------------------------------------------------------------ verify compares them too


def privilege_differences(report: dict[str, Any]) -> list[str]:
    kinds = {"role", "membership", "grant", "default privilege"}
    return [f"{d['kind']}: {d['name']}" for d in report["schema_differences"] if d["kind"] in kinds]


def test_verify_names_each_privilege_the_target_lacks(pair: tuple[str, str, bool]) -> None:
    source, target, _separate = pair
    code, report = run("verify", "--schema-only", "--app-roles", "rc_app", source, target)
    found = privilege_differences(report)
    assert code == 1 and not report["equal"]
    assert "grant: SELECT ON TABLE shop.big_orders TO rc_reporting WITH GRANT OPTION" in found
    assert "grant: EXECUTE ON FUNCTION shop.order_count() TO rc_reporting" in found
    assert "default privilege: FOR ROLE rc_owner IN SCHEMA shop SELECT ON TABLES TO rc_reporting" in found


def test_verify_is_equal_once_roles_copy_carried_them(pair: tuple[str, str, bool]) -> None:
    source, target, _separate = pair
    assert run("roles", "copy", "--app-roles", "rc_app", "--apply", source, target)[0] == 0
    code, report = run("verify", "--schema-only", "--app-roles", "rc_app", source, target)
    assert code == 0 and privilege_differences(report) == []


def test_verify_counts_the_application_s_held_back_writes_apart(pair: tuple[str, str, bool]) -> None:
    source, target, _separate = pair
    run("roles", "copy", "--app-roles", "rc_app", "--apply", source, target)
    _code, report = run("verify", "--schema-only", "--app-roles", "rc_app", source, target)
    assert report["privileges_held_back"] == 3  # INSERT, UPDATE, DELETE on shop.orders


def test_verify_without_the_application_roles_names_their_writes(pair: tuple[str, str, bool]) -> None:
    source, target, _separate = pair
    run("roles", "copy", "--app-roles", "rc_app", "--apply", source, target)
    code, report = run("verify", "--schema-only", source, target)
    assert code == 1 and "grant: INSERT ON TABLE shop.orders TO rc_app" in privilege_differences(report)


def test_public_create_of_a_pre_15_source_is_named_not_carried(pair: tuple[str, str, bool]) -> None:
    source, target, _separate = pair
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")  # PostgreSQL 13's default, explicit on any major
    code, report = run("roles", "copy", "--app-roles", "rc_app", "--apply", source, target)
    assert code == 0 and any(n.startswith("CREATE ON SCHEMA public TO PUBLIC") for n in report["not_carried"])
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT has_schema_privilege('public', 'public', 'CREATE')").fetchone() == (False,)
    assert run("verify", "--schema-only", "--app-roles", "rc_app", source, target)[0] == 0
