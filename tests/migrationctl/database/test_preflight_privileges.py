"""``preflight --privileges``: the privilege table checked days before, for this user on both sides and for the DMS
users, named by flags or by their endpoints' secrets (on real PostgreSQL; the secrets in the emulator)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from harness.night import workload as wl
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.cli import main

USERS = ("pp_dms_source", "pp_dms_target", "pp_reverse")
ROLES = (
    "DO $$ BEGIN "
    + " ".join(f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{u}') THEN CREATE ROLE {u} LOGIN; END IF;" for u in USERS)
    + " END $$;"
)


class Pair(NamedTuple):
    source: str
    target: str


@pytest.fixture(scope="module")
def templates(pg_pair: Any) -> Iterator[None]:
    """The shop on the source and, after ``schema pre-data`` (with the fence), on the target, once; each test gets
    copies (``CREATE DATABASE ... TEMPLATE``)."""
    for server in {id(pg_pair.source): pg_pair.source, id(pg_pair.target): pg_pair.target}.values():
        server.psql("postgres", ROLES)
    pg_pair.source.psql("postgres", "CREATE DATABASE pp_tpl_src")
    pg_pair.target.psql("postgres", "CREATE DATABASE pp_tpl_tgt")
    pg_pair.source.psql("pp_tpl_src", wl.SCHEMA_SQL)
    source, target = str(pg_pair.source.dsn("pp_tpl_src")), str(pg_pair.target.dsn("pp_tpl_tgt"))
    assert main(["--no-progress", "schema", "pre-data", source, target], io.StringIO()) == 0  # and the fence
    yield
    pg_pair.source.psql("postgres", "DROP DATABASE IF EXISTS pp_tpl_src WITH (FORCE)")
    pg_pair.target.psql("postgres", "DROP DATABASE IF EXISTS pp_tpl_tgt WITH (FORCE)")


@pytest.fixture()
def pair(pg_pair: Any, templates: None) -> Iterator[Pair]:
    for server in {id(pg_pair.source): pg_pair.source, id(pg_pair.target): pg_pair.target}.values():
        server.psql("postgres", "ALTER ROLE pp_dms_source NOREPLICATION")
    pg_pair.source.psql("postgres", "CREATE DATABASE pp_source TEMPLATE pp_tpl_src")
    pg_pair.target.psql("postgres", "CREATE DATABASE pp_target TEMPLATE pp_tpl_tgt")
    try:
        yield Pair(str(pg_pair.source.dsn("pp_source")), str(pg_pair.target.dsn("pp_target")))
    finally:
        pg_pair.source.psql("postgres", "DROP DATABASE IF EXISTS pp_source WITH (FORCE)")
        pg_pair.target.psql("postgres", "DROP DATABASE IF EXISTS pp_target WITH (FORCE)")


def preflight(pair: Pair, *extra: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--no-progress", "--output", "json", "preflight", "--privileges", "--skip-lob-sizes", "--target-dsn"]
    code = main([*argv, pair.target, *extra, pair.source], out, err)
    assert code in (0, 1), err.getvalue()
    return code, json.loads(out.getvalue()), err.getvalue()


def rows(report: dict[str, Any], user: str) -> dict[tuple[str, str], bool]:
    return {(r["side"], r["needs"]): r["ok"] for r in report["privileges"] if r["user"].endswith(f" {user}")}


def grant(dsn: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


def test_a_dms_source_user_without_replication_is_named(pair: Pair) -> None:
    code, report, _err = preflight(pair, "--dms-source-user", "pp_dms_source")
    assert code == 1
    assert rows(report, "pp_dms_source") == {("source", "REPLICATION and SELECT on every user table"): False}


def test_a_dms_source_user_with_replication_and_select_passes(pair: Pair) -> None:
    grant(pair.source, "ALTER ROLE pp_dms_source REPLICATION")
    grant(pair.source, "GRANT USAGE ON SCHEMA shop TO pp_dms_source; GRANT SELECT ON ALL TABLES IN SCHEMA shop TO pp_dms_source")
    _code, report, _err = preflight(pair, "--dms-source-user", "pp_dms_source")
    assert rows(report, "pp_dms_source") == {("source", "REPLICATION and SELECT on every user table"): True}


def test_the_dms_target_user_needs_writes_the_replication_role_setting_and_the_reverse_reads(pair: Pair) -> None:
    _code, report, _err = preflight(pair, "--dms-target-user", "pp_dms_target")
    assert rows(report, "pp_dms_target") == {
        ("target", "INSERT, UPDATE, DELETE on every user table"): False,
        ("target", "SET session_replication_role"): False,
        ("target", "REPLICATION (rds_replication) and SELECT on every user table"): False,  # the reverse task reads as it
    }


def test_this_user_is_checked_on_both_sides(pair: Pair) -> None:
    code, report, _err = preflight(pair)
    mine = {r["side"] for r in report["privileges"] if r["user"].startswith("migration user")}
    assert mine == {"source", "target"} and code == 0  # a superuser on both test servers


def test_a_user_named_nowhere_is_said_not_checked(pair: Pair) -> None:
    _code, report, _err = preflight(pair)
    assert report["privileges_not_checked"] == [
        "the forward DMS user on the source (--dms-source-user)",
        "the forward DMS user on the target (--dms-target-user)",
        "the reverse DMS user (--reverse-user)",
    ]


def test_the_dms_users_are_read_from_their_secrets(
    pair: Pair, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import boto3

    for name, value in (("AWS_ENDPOINT_URL", moto_endpoint), ("AWS_ACCESS_KEY_ID", "t"), ("AWS_SECRET_ACCESS_KEY", "t")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sm = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_endpoint)
    suffix = tmp_path.name[-12:]
    filled = {
        StackOutput.DMS_SOURCE_SECRET_ARN: "pp_dms_source",
        StackOutput.DMS_TARGET_SECRET_ARN: "pp_dms_target",
    }
    outputs: dict[str, Any] = {}
    for output, user in filled.items():
        arn = sm.create_secret(Name=f"pp-{output.value}-{suffix}", SecretString=json.dumps({"username": user}))["ARN"]
        outputs[output.value] = {"value": arn, "type": "string", "sensitive": False}
    empty = sm.create_secret(Name=f"pp-reverse-{suffix}")["ARN"]  # created by the stack, not filled yet
    outputs[StackOutput.DMS_REVERSE_TARGET_SECRET_ARN.value] = {"value": empty, "type": "string", "sensitive": False}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    _code, report, _err = preflight(pair, "--stack-outputs", str(path))
    assert rows(report, "pp_dms_source") and rows(report, "pp_dms_target")
    assert report["privileges_not_checked"] == ["the reverse DMS user (--reverse-user)"]


def test_before_pre_data_the_missing_fence_is_a_finding_not_an_error(pair: Pair) -> None:
    grant(pair.target, "DROP SCHEMA migration_control CASCADE")
    code, report, _err = preflight(pair)
    mine = rows(report, "postgres")
    assert code == 1 and mine[("target", "INSERT and SELECT on migration_control.fence")] is False
