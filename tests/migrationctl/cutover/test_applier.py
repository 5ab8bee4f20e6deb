"""The forward applier's fence (cutover/applier.py) against a DMS stand-in task applying on real PostgreSQL: once the
fence returns, nothing the task still holds lands on green — while it runs, reconnects and takes its time to stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.dms.standin import StandInSettings, StandInTask, Status
from inventory_migration.migrationctl.cutover import applier, facts, steps
from inventory_migration.migrationctl.cutover.journal import Journal
from inventory_migration.migrationctl.cutover.replication import DmsReplication, NativeReplication
from inventory_migration.migrationctl.cutover.settings import Settings

SCHEMA = "shop"
APPLIER = "dms_applier"
PASSWORD = "applier-password-1"
DDL = f"CREATE SCHEMA {SCHEMA}; CREATE TABLE {SCHEMA}.item (id int PRIMARY KEY, name text);"


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        source_dsn="",
        target_dsn="",
        app_roles=("fence_test_app",),
        dms_target_user=APPLIER,
        backend=DmsReplication(dms=None, cloudwatch=None, forward_task_arn="arn:aws:dms:us-east-1:1:task:F"),
        state_dir=tmp_path,
        say=lambda _line: None,
    )
    return Settings(**(values | overrides))


@pytest.fixture()
def world(pg_pair: Any, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """A source with a test_decoding slot, a target where ``dms_applier`` may write the shop's table (``owner``
    parameter: it owns it), and their DSNs (the target's also as the applier)."""
    owns = bool(getattr(request, "param", False))
    name = "apl" + "".join(ch for ch in request.node.name.lower() if ch.isalnum())[-28:]
    pg_pair.source.psql("postgres", f"CREATE DATABASE {name}")
    pg_pair.source.psql(name, DDL)
    pg_pair.target.psql("postgres", f"CREATE DATABASE {name}_t")
    pg_pair.target.psql(
        "postgres",
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APPLIER}') THEN "
        f"CREATE ROLE {APPLIER} LOGIN PASSWORD '{PASSWORD}'; END IF; "
        f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fence_test_app') THEN CREATE ROLE fence_test_app LOGIN; END IF; END $$;"
        f"ALTER ROLE {APPLIER} LOGIN",
    )
    pg_pair.target.psql(
        f"{name}_t",
        DDL
        + f"GRANT USAGE ON SCHEMA {SCHEMA} TO {APPLIER}; GRANT SELECT, INSERT, UPDATE, DELETE ON {SCHEMA}.item TO {APPLIER};"
        + f"CREATE SCHEMA awsdms_control AUTHORIZATION {APPLIER};"
        + f"GRANT SET ON PARAMETER session_replication_role TO {APPLIER};"  # its afterConnectScript (targets are 15+)
        + (f"ALTER TABLE {SCHEMA}.item OWNER TO {APPLIER};" if owns else ""),
    )
    source, target = str(pg_pair.source.dsn(name)), str(pg_pair.target.dsn(f"{name}_t"))
    as_applier = psycopg.conninfo.make_conninfo(target, user=APPLIER, password=PASSWORD)
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (name,))
    yield {"source": source, "target": target, "as_applier": as_applier, "slot": name}
    with psycopg.connect(pg_pair.source.dsn("postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s", (name,))
    pg_pair.source.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    pg_pair.target.psql("postgres", f"DROP DATABASE IF EXISTS {name}_t WITH (FORCE); ALTER ROLE {APPLIER} LOGIN")


def _task(world: dict[str, str], **overrides: Any) -> StandInTask:
    values: dict[str, Any] = dict(
        task_name="forward",
        source_dsn=world["source"],
        target_dsn=world["as_applier"],
        slot=world["slot"],
        schemas=(SCHEMA,),
        task_settings={"ControlTablesSettings": {"ControlSchema": "awsdms_control"}},
        stop_seconds=3.0,
        poll_seconds=0.01,
        reconnect_seconds=0.05,
    )
    return StandInTask(StandInSettings(**(values | overrides)))


def _count(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {SCHEMA}.item").fetchone()[0])  # type: ignore[index]


def _journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "cutover.json", "cutover", steps.JOURNAL_WRITES["cutover"])


def _fence(world: dict[str, str], tmp_path: Path) -> tuple[Journal, dict[str, Any], float]:
    journal, settings = _journal(tmp_path), _settings(tmp_path)
    with psycopg.connect(world["target"], autocommit=True) as target, journal.step("fence-forward") as result:
        began = time.monotonic()
        applier.fence(settings, journal, target, result)
        return journal, result, time.monotonic() - began


class _Writer(threading.Thread):
    """An on-prem writer that goes on through the fence (an exempt role's writes after the drain)."""

    def __init__(self, source: str) -> None:
        super().__init__(daemon=True)
        self.source, self.stop, self.written = source, threading.Event(), 0

    def run(self) -> None:
        with psycopg.connect(self.source, autocommit=True) as conn:
            while not self.stop.is_set():
                self.written += 1
                conn.execute(f"INSERT INTO {SCHEMA}.item VALUES (%s, 'x')", (self.written,))
                time.sleep(0.002)


def _until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {check.__doc__ or check}")
        time.sleep(0.02)


@pytest.mark.parametrize("world", [False, True], ids=["grants", "owner"], indirect=True)
def test_after_the_fence_the_task_lands_nothing_though_it_runs_and_stops_slowly(world: dict[str, str], tmp_path: Path) -> None:
    """The hostile order: the task is asked to stop first and applies on while stopping (3 s here, 30 s by default),
    reconnects when its sessions end; the fence returns in well under its stop time and nothing lands after it."""
    task, writer = _task(world), _Writer(world["source"])
    task.start()
    writer.start()
    try:
        _until(lambda: _count(world["target"]) > 20 or task.status is Status.FAILED)
        assert task.status is not Status.FAILED, task.failure
        task.stop()  # StopReplicationTask: 'stopping' for 3 s, still applying
        _, result, seconds = _fence(world, tmp_path)
        landed = _count(world["target"])
        time.sleep(1.0)  # the writer goes on; the task, still stopping, retries
        assert _count(world["target"]) == landed, "a change landed on green after the fence"
        assert task.status in (Status.STOPPING, Status.RUNNING), "the fence must not depend on the task having stopped"
        assert seconds < task.settings.stop_seconds / 2, f"the fence took {seconds:.2f} s"
        assert writer.written > landed
        assert result["applier"] == APPLIER
    finally:
        writer.stop.set()
        task.stop()
        task.join(10)


@pytest.mark.parametrize("world", [True], ids=["owner"], indirect=True)
def test_an_applier_that_owns_its_tables_gets_its_login_back_after_the_stop_and_its_writes_only_on_resume(
    world: dict[str, str], tmp_path: Path
) -> None:
    journal, result, _seconds = _fence(world, tmp_path)
    assert result["nologin"] == [APPLIER]
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(world["as_applier"]).close()
    with psycopg.connect(world["target"], autocommit=True) as target:
        applier.release_login(journal, target)
        # the reverse task reads as it: it logs in again, and cannot write
        with (
            psycopg.connect(world["as_applier"], autocommit=True) as as_applier,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            as_applier.execute(f"INSERT INTO {SCHEMA}.item VALUES (1, 'after the stop')")
        applier.give_back(journal, target)
    with psycopg.connect(world["as_applier"], autocommit=True) as as_applier:
        as_applier.execute(f"INSERT INTO {SCHEMA}.item VALUES (2, 'forward resumed')")


@pytest.mark.parametrize("world", [False], ids=["grants"], indirect=True)
def test_the_fence_is_journaled_before_anything_is_revoked(world: dict[str, str], tmp_path: Path) -> None:
    journal, result, _seconds = _fence(world, tmp_path)
    taken = journal.require(facts.APPLIER_FENCE)
    assert result["grants"] == len(taken["grants"]) >= 3 and taken["nologin"] == []


@pytest.mark.parametrize("world", [False], ids=["grants"], indirect=True)
def test_an_applier_nobody_named_is_refused_before_anything_changes(world: dict[str, str], tmp_path: Path) -> None:
    with psycopg.connect(world["target"], autocommit=True) as target:
        (problem,) = applier.problems(_settings(tmp_path, dms_target_user=""), target)
        assert "--dms-target-user" in problem
        (absent,) = applier.problems(_settings(tmp_path, dms_target_user="nobody_here"), target)
        assert "does not exist" in absent
        me = str(target.execute("SELECT current_user").fetchone()[0])  # type: ignore[index]
        (ours,) = applier.problems(_settings(tmp_path, dms_target_user=me), target)
        assert "connects as" in ours
        assert applier.problems(_settings(tmp_path), target) == []


@pytest.mark.parametrize("world", [False], ids=["grants"], indirect=True)
def test_an_applier_writing_through_the_applications_group_is_refused(world: dict[str, str], tmp_path: Path) -> None:
    with psycopg.connect(world["target"], autocommit=True) as target:
        target.execute("DROP ROLE IF EXISTS shop_writers; CREATE ROLE shop_writers")
        target.execute(f"GRANT shop_writers TO {APPLIER}, fence_test_app")
        try:
            (shared,) = applier.problems(_settings(tmp_path), target)
            assert "shop_writers" in shared and "the applications share" in shared
        finally:
            target.execute("DROP OWNED BY shop_writers; DROP ROLE shop_writers")


def test_a_backend_that_stops_at_once_is_its_own_fence(tmp_path: Path) -> None:
    native = NativeReplication(source_dsn="", target_dsn="")
    assert not applier.by_privilege(_settings(tmp_path, backend=native))
    assert applier.by_privilege(_settings(tmp_path))


@pytest.mark.parametrize("world", [False], ids=["grants"], indirect=True)
def test_once_fenced_the_applier_fails_only_the_forward_writes_gate(world: dict[str, str], tmp_path: Path) -> None:
    """A run resumed after fence-forward evaluates the switch's gates (privileges) but not the forward writes, which
    the switch itself took away; a run before the fence evaluates both."""
    from inventory_migration.migrationctl.cutover.gates import forward_writes_gates

    settings = _settings(tmp_path)
    with psycopg.connect(world["target"], autocommit=True) as target:
        (before,) = forward_writes_gates(settings, target)
        assert before.ok, before.detail
    _fence(world, tmp_path)
    with psycopg.connect(world["target"], autocommit=True) as target:
        (after,) = forward_writes_gates(settings, target)
        assert not after.ok and "INSERT, UPDATE, DELETE" in after.detail
