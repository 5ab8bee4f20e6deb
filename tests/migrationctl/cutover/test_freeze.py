"""The freeze, against sessions that work against it: a session that SETs read-only off, a member of a group role, a
batch role nobody named, a prepared transaction, a pool that reconnects every 10 ms — on real PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from inventory_migration.contracts.names import CONTROL_SCHEMA
from inventory_migration.migrationctl.cutover import freeze
from inventory_migration.migrationctl.cutover.gates import freeze_gates
from inventory_migration.migrationctl.cutover.replication import NativeReplication
from inventory_migration.migrationctl.cutover.settings import Settings
from inventory_migration.migrationctl.pg import fence, privileges
from inventory_migration.migrationctl.pg.grants import Kind

SETUP = """
CREATE ROLE {p}_app LOGIN PASSWORD 'pw';
CREATE ROLE {p}_writers NOLOGIN;
CREATE ROLE {p}_member LOGIN PASSWORD 'pw' IN ROLE {p}_writers;
CREATE ROLE {p}_batch LOGIN PASSWORD 'pw';
CREATE SCHEMA shop;
CREATE TABLE shop.orders (id bigserial PRIMARY KEY, note text);
CREATE TABLE shop.audit (id bigserial PRIMARY KEY, note text);
GRANT USAGE ON SCHEMA shop TO {p}_app, {p}_member, {p}_batch;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA shop TO {p}_app, {p}_member, {p}_batch;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA shop TO {p}_app;
GRANT SELECT, INSERT ON shop.orders TO {p}_writers;
GRANT SELECT, INSERT ON shop.audit TO {p}_batch;
"""


class Db:
    def __init__(self, server: Any, name: str) -> None:
        self.server, self.name, self.p = server, name, name

    def dsn(self, role: str = "") -> str:
        return str(self.server.dsn(self.name, user=f"{self.p}_{role}", password="pw") if role else self.server.dsn(self.name))

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn(), autocommit=True)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "source_dsn": self.dsn(),
            "target_dsn": self.dsn(),
            "app_roles": (f"{self.p}_app",),
            "backend": NativeReplication(source_dsn="", target_dsn=""),
            "state_dir": None,
        }
        return Settings(**(values | overrides))

    def can_insert(self, role: str) -> bool:
        with psycopg.connect(self.dsn(role), autocommit=True) as conn:
            try:
                conn.execute("SET default_transaction_read_only = off")
                conn.execute("INSERT INTO shop.orders (note) VALUES ('x')")
                return True
            except psycopg.errors.InsufficientPrivilege:
                return False


@pytest.fixture()
def db(pg_pair: Any, request: pytest.FixtureRequest) -> Iterator[Db]:
    name = "fz" + "".join(ch for ch in request.node.name.lower() if ch.isalnum())[:24]
    server = pg_pair.source
    server.psql("postgres", f"CREATE DATABASE {name}")
    d = Db(server, name)
    server.psql(name, SETUP.format(p=name))
    with d.admin() as conn:
        fence.ensure(conn)  # as schema pre-data leaves it
    try:
        yield d
    finally:
        with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
            for gid in conn.execute("SELECT gid FROM pg_prepared_xacts WHERE database = %s", (name,)).fetchall():
                with psycopg.connect(server.dsn(name), autocommit=True) as c:
                    c.execute(f"ROLLBACK PREPARED '{gid[0]}'")
        server.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        for role in ("app", "member", "batch", "writers"):
            server.psql("postgres", f"DROP ROLE IF EXISTS {name}_{role}")


def freeze_now(db: Db, roles: tuple[str, ...]) -> freeze.Record:
    with db.admin() as conn:
        record = freeze.plan(conn, roles)
        freeze.revoke(conn, record)
        freeze.end_writing_sessions(conn, roles, nologin=record.nologin)
        return record


def test_a_session_that_sets_read_only_off_still_cannot_write(db: Db) -> None:
    assert db.can_insert("app")
    freeze_now(db, (f"{db.p}_app",))
    assert not db.can_insert("app")  # SET default_transaction_read_only = off changes nothing: the privilege is gone
    with psycopg.connect(db.dsn("app")) as conn:
        assert conn.execute("SELECT count(*) FROM shop.orders").fetchone()[0] >= 1  # type: ignore[index]  # reads go on


def test_a_member_of_a_group_role_is_frozen_through_the_group(db: Db) -> None:
    assert db.can_insert("member")
    record = freeze_now(db, (f"{db.p}_member",))
    assert f"{db.p}_writers" in record.grantees and not db.can_insert("member")
    with db.admin() as conn:
        freeze.restore(conn, record)
    assert db.can_insert("member")  # exactly what was taken is given back


def test_a_writer_nobody_named_stops_the_gate_until_it_is_named(db: Db) -> None:
    with db.admin() as conn:
        gates = {g.name: g for g in freeze_gates(db.settings(), conn, side="source")}
        unnamed = gates["every writer on the source named"]
        assert (
            not unnamed.ok
            and f"{db.p}_batch: grant on 1 relation(s), e.g. shop.audit" in unnamed.detail
            and f"{db.p}_member" in unnamed.detail
        )
        named = freeze_gates(db.settings(freeze_roles=(f"{db.p}_member",), exempt_roles=(f"{db.p}_batch",)), conn, side="source")
        assert all(g.ok for g in named), [g for g in named if not g.ok]


def test_an_exempt_role_sharing_a_frozen_group_is_refused(db: Db) -> None:
    db.server.psql(db.name, f"GRANT {db.p}_writers TO {db.p}_batch")
    with db.admin() as conn:
        gates = {
            g.name: g
            for g in freeze_gates(
                db.settings(freeze_roles=(f"{db.p}_member",), exempt_roles=(f"{db.p}_batch",)), conn, side="source"
            )
        }
    closes = gates["the freeze closes every write path on the source"]
    assert not closes.ok and f"{db.p}_member: grant as {db.p}_writers" in closes.detail


def test_a_prepared_transaction_stops_the_gate(db: Db) -> None:
    with psycopg.connect(db.dsn("app")) as conn:
        conn.execute("INSERT INTO shop.orders (note) VALUES ('prepared')")
        conn.execute("PREPARE TRANSACTION 'night-1'")
    with db.admin() as conn:
        (prepared,) = [g for g in freeze_gates(db.settings(), conn, side="source") if g.name.startswith("no prepared")]
    assert not prepared.ok and "night-1" in prepared.detail


def test_the_freeze_converges_under_a_pool_that_reconnects_every_10_ms(db: Db) -> None:
    stop = threading.Event()
    committed: list[float] = []

    def pool() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(db.dsn("app"), autocommit=True) as conn:
                    conn.execute("SET default_transaction_read_only = off")
                    conn.execute("BEGIN")
                    conn.execute("INSERT INTO shop.orders (note) VALUES ('pool')")
                    time.sleep(0.2)  # a transaction in flight across the revoke: only ending it stops its commit
                    conn.execute("COMMIT")
                    committed.append(time.time())
            except psycopg.Error:
                pass
            time.sleep(0.01)

    workers = [threading.Thread(target=pool) for _ in range(4)]
    for w in workers:
        w.start()
    time.sleep(1.0)
    pool_rows = "SELECT count(*) FROM shop.orders WHERE note = 'pool'"
    with db.admin() as watcher:
        started = time.monotonic()
        freeze_now(db, (f"{db.p}_app",))
        took = time.monotonic() - started
        # What the database holds once the freeze returned, read at once (the client's clock is no judge: a reply read
        # late is not a late commit).
        at_freeze = watcher.execute(pool_rows).fetchone()[0]  # type: ignore[index]
        time.sleep(0.6)
        stop.set()
        for w in workers:
            w.join()
        after = watcher.execute(pool_rows).fetchone()[0]  # type: ignore[index]
    assert took < 5, f"the freeze took {took:.1f} s under the pool"
    assert committed and after == at_freeze, f"{after - at_freeze} write(s) committed after the freeze"


# ----------------------------------------------------------------------------- privileges


def test_a_superuser_migration_user_has_every_privilege_the_switch_needs(db: Db) -> None:
    with db.admin() as conn:
        findings = privileges.check(conn, "source", nologin=True)
    assert findings and all(f.ok for f in findings), [f.line for f in findings if not f.ok]


def test_a_migration_user_that_owns_nothing_is_told_what_it_lacks(db: Db) -> None:
    with psycopg.connect(db.dsn("batch"), autocommit=True) as conn:
        missing = {f.need.what for f in privileges.check(conn, "source", nologin=True) if not f.ok}
    assert {
        "replication slots",
        "owner (member of the owning role) or superuser of every user table",
        "pg_signal_backend",
        "CREATEROLE",
        "UPDATE on every user sequence",
        f"INSERT and SELECT on {CONTROL_SCHEMA}.fence",
    } <= missing


def test_the_reverse_user_must_write_every_table_and_set_session_replication_role(db: Db) -> None:
    with db.admin() as conn:
        lacking = {f.need.what for f in privileges.check(conn, "source", reverse_user=f"{db.p}_app") if not f.ok}
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
    assert lacking == {"SET session_replication_role"}  # the app writes every table, but is no superuser
    if version >= 150000:  # from 15 the parameter can be granted
        db.server.psql(db.name, f"GRANT SET ON PARAMETER session_replication_role TO {db.p}_app")
        try:
            with db.admin() as conn:
                assert all(f.ok for f in privileges.check(conn, "source", reverse_user=f"{db.p}_app"))
        finally:
            db.server.psql(db.name, f"REVOKE SET ON PARAMETER session_replication_role FROM {db.p}_app")


# ----------------------------------------------------------------------------- every path, checked by effect


def _freeze_and_check(db: Db, roles: tuple[str, ...], *, exempt: tuple[str, ...] = ()) -> freeze.Record:
    with db.admin() as conn:
        gates = {g.name: g for g in freeze_gates(db.settings(app_roles=roles, exempt_roles=exempt), conn, side="source")}
        assert gates["the freeze closes every write path on the source"].ok, gates
        record = freeze.plan(conn, roles, exempt=exempt)
        freeze.revoke(conn, record)
        assert not freeze.residual(conn, exempt)
        return record


def test_a_grant_to_public_is_taken_and_given_back(db: Db) -> None:
    db.server.psql(db.name, "REVOKE ALL ON shop.orders FROM PUBLIC; GRANT INSERT ON shop.orders TO PUBLIC")
    p = db.p
    record = _freeze_and_check(db, (f"{p}_app", f"{p}_member", f"{p}_batch"))
    assert "PUBLIC" in record.grantees and not db.can_insert("batch")
    with db.admin() as conn:
        freeze.restore(conn, record)
    assert db.can_insert("batch")


def test_a_column_level_update_grant_is_a_write_path(db: Db) -> None:
    db.server.psql(db.name, f"GRANT UPDATE (note) ON shop.audit TO {db.p}_member")
    with db.admin() as conn:
        paths = [p.line for p in freeze.residual(conn, ()) if p.role == f"{db.p}_member"]
    assert any("column grant" in line and "shop.audit" in line for line in paths), paths
    _freeze_and_check(db, (f"{db.p}_app", f"{db.p}_member", f"{db.p}_batch"))
    with psycopg.connect(db.dsn("member"), autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE shop.audit SET note = 'x'")


def test_a_security_definer_function_of_an_exempt_owner_is_closed_for_the_frozen(db: Db) -> None:
    p = db.p
    db.server.psql(
        db.name,
        "CREATE FUNCTION shop.wipe() RETURNS void LANGUAGE sql SECURITY DEFINER AS $$ DELETE FROM shop.orders $$;"
        f"ALTER FUNCTION shop.wipe() OWNER TO {p}_batch; GRANT DELETE ON shop.orders TO {p}_batch",
    )
    with db.admin() as conn:
        before = [x.line for x in freeze.residual(conn, (f"{p}_batch",))]
    assert any("routine" in line and "shop.wipe()" in line for line in before), before
    _freeze_and_check(db, (f"{p}_app", f"{p}_member"), exempt=(f"{p}_batch",))
    with psycopg.connect(db.dsn("app"), autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT shop.wipe()")


def test_a_routine_with_named_arguments_is_frozen_given_back_and_found_on_either_side(db: Db) -> None:
    """Its grant names it by argument types: ``shop.wipe_one(integer)``, never ``shop.wipe_one(ref integer)``."""
    p = db.p
    db.server.psql(
        db.name,
        "CREATE FUNCTION shop.wipe_one(ref integer) RETURNS void LANGUAGE sql SECURITY DEFINER "
        "AS $$ DELETE FROM shop.orders WHERE id = ref $$",
    )
    record = _freeze_and_check(db, (f"{p}_app", f"{p}_member", f"{p}_batch"))
    routines = {g.target for g in record.grants if g.kind is Kind.ROUTINE}
    assert routines == {"shop.wipe_one(integer)"}, routines
    with db.admin() as conn:
        assert freeze.present(conn, record) == record
        freeze.restore(conn, record)
    with psycopg.connect(db.dsn("app"), autocommit=True) as conn:
        conn.execute("SELECT shop.wipe_one(0)")


def _passed_on(db: Db, *, by: str, to: str) -> None:
    """``by`` holds DELETE on shop.audit WITH GRANT OPTION and grants it on to ``to``: a grant chain."""
    p = db.p
    db.server.psql(
        db.name,
        f"GRANT DELETE ON shop.audit TO {p}_{by} WITH GRANT OPTION; SET ROLE {p}_{by}; "
        f"GRANT DELETE ON shop.audit TO {p}_{to}; RESET ROLE",
    )


def test_a_grant_passed_on_with_grant_option_is_revoked_as_its_grantor_and_restored_exactly(db: Db) -> None:
    from inventory_migration.migrationctl.pg.grants import acl_snapshot

    p = db.p
    _passed_on(db, by="batch", to="member")
    with db.admin() as conn:
        acl = acl_snapshot(conn)
    record = _freeze_and_check(db, (f"{p}_app", f"{p}_member", f"{p}_batch"))
    assert any(g.grantor == f"{p}_batch" and g.grantee == f"{p}_member" for g in record.grants)
    with db.admin() as conn:
        freeze.restore(conn, record)
        assert acl_snapshot(conn) == acl


def test_a_dependent_grant_to_an_exempt_role_is_refused_before_anything_changes(db: Db) -> None:
    p = db.p
    _passed_on(db, by="member", to="batch")
    with db.admin() as conn:
        gates = {
            g.name: g
            for g in freeze_gates(
                db.settings(app_roles=(f"{p}_app", f"{p}_member"), exempt_roles=(f"{p}_batch",)), conn, side="source"
            )
        }
    closes = gates["the freeze closes every write path on the source"]
    assert not closes.ok and "dependent privileges exist" in closes.detail
    assert db.can_insert("app")  # the trial was rolled back


@contextlib.contextmanager
def _with_viewers(db: Db, sql: str) -> Iterator[None]:
    p = db.p
    db.server.psql(db.name, f"CREATE ROLE {p}_viewers NOLOGIN; " + sql.format(p=p))
    try:
        yield
    finally:
        db.server.psql(db.name, f"DROP OWNED BY {p}_viewers CASCADE; DROP ROLE {p}_viewers")


def test_an_exempt_write_through_a_set_role_and_a_view_is_one_the_trial_sees_lost(db: Db) -> None:
    p = db.p
    setup = (
        "GRANT INSERT ON shop.audit TO PUBLIC; CREATE VIEW shop.entry AS SELECT * FROM shop.audit; "
        "ALTER VIEW shop.entry OWNER TO {p}_viewers; ALTER ROLE {p}_batch NOINHERIT; GRANT {p}_viewers TO {p}_batch"
    )
    with _with_viewers(db, setup):
        with db.admin() as conn:
            trial = freeze.trial(conn, (f"{p}_app", f"{p}_member"), exempt=(f"{p}_batch",))
        assert f"as {p}_viewers: INSERT on shop.entry" in trial.exempt_lost.get(f"{p}_batch", []), trial.exempt_lost


def test_a_write_through_a_view_on_a_view_needs_every_owner_beneath_it(db: Db) -> None:
    from inventory_migration.migrationctl.pg.write_paths import written_relations

    p = db.p
    setup = (
        "CREATE VIEW shop.e1 AS SELECT * FROM shop.audit; ALTER VIEW shop.e1 OWNER TO {p}_viewers; "
        "CREATE VIEW shop.e2 AS SELECT * FROM shop.e1; GRANT INSERT ON shop.e2 TO {p}_member"
    )
    with _with_viewers(db, setup), db.admin() as conn:
        assert "INSERT on shop.e2" not in written_relations(conn, [f"{p}_member"])[f"{p}_member"]
        conn.execute(f"GRANT INSERT ON shop.audit TO {p}_viewers")
        assert "INSERT on shop.e2" in written_relations(conn, [f"{p}_member"])[f"{p}_member"]


def test_pg_write_all_data_is_a_path_the_freeze_cannot_close(db: Db) -> None:
    with db.admin() as conn:
        if int(conn.execute("SHOW server_version_num").fetchone()[0]) < 140000:  # type: ignore[index]
            pytest.skip("pg_write_all_data is PostgreSQL 14+")
    p = db.p
    db.server.psql(db.name, f"GRANT pg_write_all_data TO {p}_batch")
    try:
        with db.admin() as conn:
            gates = {
                g.name: g
                for g in freeze_gates(db.settings(app_roles=(f"{p}_app", f"{p}_member", f"{p}_batch")), conn, side="source")
            }
        closes = gates["the freeze closes every write path on the source"]
        assert not closes.ok and f"REVOKE pg_write_all_data FROM {p}_batch" in closes.detail
    finally:
        db.server.psql(db.name, f"REVOKE pg_write_all_data FROM {p}_batch")


def test_setting_a_superuser_nologin_needs_a_superuser(db: Db) -> None:
    p = db.p
    db.server.psql(
        db.name,
        f"ALTER ROLE {p}_batch SUPERUSER; CREATE ROLE {p}_admin LOGIN CREATEROLE PASSWORD 'pw'; GRANT USAGE ON SCHEMA shop, {CONTROL_SCHEMA} TO {p}_admin",
    )
    try:
        with psycopg.connect(db.dsn("admin"), autocommit=True) as conn:
            findings = privileges.check(conn, "source", nologin=[f"{p}_batch"])
        row = next(f for f in findings if f.need.what.startswith("superuser, when"))
        assert not row.ok and row.frozen == f"{p}_batch" and f"[{p}_batch]" in row.line
    finally:
        db.server.psql(db.name, f"ALTER ROLE {p}_batch NOSUPERUSER; DROP OWNED BY {p}_admin; DROP ROLE {p}_admin")


def test_from_postgresql_16_createrole_alone_does_not_alter_another_role(pg_pair: Any) -> None:
    server = pg_pair.target  # PostgreSQL 16 in the migration's pair
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        if int(conn.execute("SHOW server_version_num").fetchone()[0]) < 160000:  # type: ignore[index]
            pytest.skip("the ADMIN OPTION rule is PostgreSQL 16's")
        conn.execute("CREATE ROLE adm16_app LOGIN; CREATE ROLE adm16_admin LOGIN CREATEROLE PASSWORD 'pw'")
    try:
        with psycopg.connect(server.dsn("postgres", user="adm16_admin", password="pw"), autocommit=True) as conn:
            (row,) = [f for f in privileges.check(conn, "target", nologin=["adm16_app"]) if "ADMIN OPTION" in f.need.what]
            assert not row.ok
            with pytest.raises(psycopg.errors.InsufficientPrivilege):  # what the row predicts
                conn.execute("ALTER ROLE adm16_app NOLOGIN")
    finally:
        with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
            conn.execute("DROP ROLE adm16_app; DROP ROLE adm16_admin")
