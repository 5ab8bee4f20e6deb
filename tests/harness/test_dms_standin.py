"""The DMS stand-in (harness/dms/standin.py) between real PostgreSQL servers (13 -> 16): what the DMS user guide says
a PostgreSQL -> PostgreSQL CDC task does, checked on the databases."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from harness.dms.standin import TABLE_ERROR, StandInSettings, StandInTask, Status
from inventory_migration.migrationctl.pg.slots import lsn_value

pytestmark = pytest.mark.wide  # the rehearsals' machinery, not the product: make check runs it

SCHEMA = "shop"
DDL = f"""
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.item (id int PRIMARY KEY, name text, price numeric(10, 2), tags text[], attrs jsonb,
                             seen timestamptz, blob bytea);
CREATE TABLE {SCHEMA}.note (id int PRIMARY KEY, body text NOT NULL);
"""
ERROR_BEHAVIOR = {
    "ErrorBehavior": {
        "ApplyErrorInsertPolicy": "SUSPEND_TABLE",
        "ApplyErrorUpdatePolicy": "SUSPEND_TABLE",
        "ApplyErrorDeletePolicy": "SUSPEND_TABLE",
    }
}


@pytest.fixture()
def pair(pg_pair: Any, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A source database with a test_decoding slot, and a target with the same tables; their DSNs."""
    name = "dms" + "".join(ch for ch in request.node.name.lower() if ch.isalnum())[:30]
    databases = ((pg_pair.source, name), (pg_pair.target, f"{name}_t"))
    for server, db in databases:
        server.psql("postgres", f"CREATE DATABASE {db}")
        server.psql(db, DDL)
    source, target = str(pg_pair.source.dsn(name)), str(pg_pair.target.dsn(f"{name}_t"))
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (name,))
    yield source, target
    with psycopg.connect(pg_pair.source.dsn("postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s", (name,))
    for server, db in databases:
        server.psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def _task(pair: tuple[str, str], **overrides: Any) -> StandInTask:
    source, target = pair
    slot = psycopg.conninfo.conninfo_to_dict(source)["dbname"]
    values: dict[str, Any] = dict(
        task_name="forward",
        source_dsn=source,
        target_dsn=target,
        slot=slot,
        schemas=(SCHEMA,),
        task_settings=ERROR_BEHAVIOR | {"ChangeProcessingTuning": {"CommitTimeout": 0}},  # a commit per read
        stop_seconds=0.2,
        poll_seconds=0.02,
    )
    task = StandInTask(StandInSettings(**(values | overrides)))
    TASKS[:] = [task]
    return task


TASKS: list[StandInTask] = []


def context() -> str:
    """The tasks' states, for a failure's message."""
    return "".join(f"; task {t.settings.task_name}: {t.status} {t.failure} {t.table_statistics()} {t.apply_log}" for t in TASKS)


def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {check.__doc__ or check}{context()}")


def _rows(dsn: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(statement).fetchall()


def _write(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn) as conn:
        for statement in statements:
            conn.execute(statement)


ITEMS = f"SELECT id, name, price, tags, attrs, seen, blob FROM {SCHEMA}.item ORDER BY id"


def test_inserts_updates_and_deletes_of_every_type_arrive_as_committed(pair: tuple[str, str]) -> None:
    source, target = pair
    task = _task(pair)
    task.start()
    try:
        _write(
            source,
            f"INSERT INTO {SCHEMA}.item VALUES (1, 'it''s', 9.99, '{{a,\"b c\"}}', '{{\"k\": [1, null]}}', now(), '\\x00ff'),"
            f" (2, NULL, NULL, NULL, NULL, NULL, NULL)",
        )
        _write(
            source,
            f"UPDATE {SCHEMA}.item SET name = 'two', price = 2 WHERE id = 2",
            f"UPDATE {SCHEMA}.item SET id = 3 WHERE id = 2",
        )
        _write(source, f"DELETE FROM {SCHEMA}.item WHERE id = 1")
        _until(lambda: _rows(target, ITEMS) == _rows(source, ITEMS) and len(task.apply_log) >= 3)
        stats = {(t["TableName"], t["Inserts"], t["Updates"], t["Deletes"], t["TableState"]) for t in task.table_statistics()}
        assert stats == {("item", 2, 2, 1, "Table completed"), ("note", 0, 0, 0, "Table completed")}  # every mapped table
    finally:
        task.stop()
        task.join(10)


def test_a_change_the_target_refuses_suspends_its_table_and_the_rest_replicates_on(pair: tuple[str, str]) -> None:
    """SUSPEND_TABLE: the table is "Table error", a row in awsdms_apply_exceptions says why, and the other table's
    changes — in the same transaction and after — still arrive. The fence of a drain can arrive over such a table."""
    source, target = pair
    _write(target, f"ALTER TABLE {SCHEMA}.note ADD CHECK (length(body) < 5)")  # the target refuses long notes
    task = _task(pair)
    task.start()
    try:
        _write(source, f"INSERT INTO {SCHEMA}.note VALUES (1, 'far too long')", f"INSERT INTO {SCHEMA}.item (id) VALUES (1)")
        _write(source, f"INSERT INTO {SCHEMA}.note VALUES (2, 'ok')", f"INSERT INTO {SCHEMA}.item (id) VALUES (2)")
        _until(lambda: _rows(target, f"SELECT count(*) FROM {SCHEMA}.item") == [(2,)])
        states = {t["TableName"]: t["TableState"] for t in task.table_statistics()}
        assert states == {"note": TABLE_ERROR, "item": "Table completed"}
        assert _rows(target, f"SELECT count(*) FROM {SCHEMA}.note") == [(0,)], "a suspended table takes no more changes"
        (exception,) = _rows(
            target, "SELECT task_name, table_owner, table_name, statement, error FROM public.awsdms_apply_exceptions"
        )
        assert exception[:3] == ("forward", SCHEMA, "note") and "INSERT INTO" in exception[3] and "check" in exception[4].lower()
        assert task.status is Status.RUNNING
    finally:
        task.stop()
        task.join(10)


def _grouping(pair: tuple[str, str]) -> StandInTask:
    """A task that holds what it read for half a second before committing it (the stack's CommitTimeout is 1 s)."""
    return _task(pair, task_settings=ERROR_BEHAVIOR | {"ChangeProcessingTuning": {"CommitTimeout": 0.5}})


def test_transactions_read_together_commit_together_as_transactional_apply_groups_them(pair: tuple[str, str]) -> None:
    """MinTransactionSize/CommitTimeout: consecutive source transactions, in commit order, in one target commit."""
    source, target = pair
    for n in (1, 2, 3):
        _write(source, f"INSERT INTO {SCHEMA}.item (id) VALUES ({n})")
    task = _grouping(pair)
    task.start()
    try:
        _until(lambda: _rows(target, f"SELECT count(*) FROM {SCHEMA}.item") == [(3,)])
        assert _rows(target, f"SELECT count(DISTINCT xmin::text) FROM {SCHEMA}.item") == [(1,)]
        assert len(task.apply_log) == 3
    finally:
        task.stop()
        task.join(10)


def test_a_change_that_fails_in_a_group_is_handled_alone_and_the_others_arrive(pair: tuple[str, str]) -> None:
    """The group rolls back and is applied transaction by transaction: the failing one by its policy, the rest as
    they were."""
    source, target = pair
    _write(target, f"INSERT INTO {SCHEMA}.note VALUES (7, 'on the target already')")
    _write(source, f"INSERT INTO {SCHEMA}.item (id) VALUES (1)")
    _write(source, f"INSERT INTO {SCHEMA}.note VALUES (7, 'a duplicate there')")
    _write(source, f"INSERT INTO {SCHEMA}.item (id) VALUES (3)")
    task = _grouping(pair)
    task.start()
    try:
        _until(lambda: _rows(target, f"SELECT id FROM {SCHEMA}.item ORDER BY id") == [(1,), (3,)])
        assert _rows(target, f"SELECT count(DISTINCT xmin::text) FROM {SCHEMA}.item") == [(2,)]
        assert {t["TableName"]: t["TableState"] for t in task.table_statistics()}["note"] == TABLE_ERROR
    finally:
        task.stop()
        task.join(10)


def test_an_update_that_finds_no_row_is_an_apply_error(pair: tuple[str, str]) -> None:
    source, target = pair
    task = _task(pair)
    _write(source, f"INSERT INTO {SCHEMA}.item (id) VALUES (5)")  # before the task: consumed here, never applied

    def consumed() -> bool:
        """the insert read off the slot (the servers commit asynchronously: decoding sees it once flushed)"""
        statement = "SELECT count(*) FROM pg_logical_slot_get_changes(%s, NULL, NULL) WHERE data LIKE 'table %%INSERT%%'"
        return bool(_rows(source, statement.replace("%s", f"'{task.settings.slot}'").replace("%%", "%"))[0][0])

    _until(consumed)
    task.start()
    try:
        _write(source, f"UPDATE {SCHEMA}.item SET name = 'x' WHERE id = 5")
        _until(lambda: any(t["TableState"] == TABLE_ERROR for t in task.table_statistics()))
        assert "not found" in _rows(target, "SELECT error FROM public.awsdms_apply_exceptions")[0][0]
    finally:
        task.stop()
        task.join(10)


def test_stop_takes_its_time_and_applies_on_while_stopping(pair: tuple[str, str]) -> None:
    """The hostile case for a fence: a task asked to stop is 'stopping' for stop_seconds and still applies."""
    source, target = pair
    task = _task(pair, stop_seconds=3.0)  # room for a loaded CI machine to apply one insert while stopping
    task.start()
    _until(lambda: task.status is Status.RUNNING)
    asked = time.monotonic()
    task.stop()
    assert task.status is Status.STOPPING
    _write(source, f"INSERT INTO {SCHEMA}.item (id) VALUES (7)")
    _until(lambda: _rows(target, f"SELECT count(*) FROM {SCHEMA}.item") == [(1,)], timeout=2.9)
    task.join(10)
    assert task.status is Status.STOPPED and time.monotonic() - asked >= 3.0


def test_a_batch_is_confirmed_to_the_slot_before_it_is_applied(pair: tuple[str, str]) -> None:
    """DMS's order: what the task read and had not applied when it died is gone from the slot."""
    source, target = pair
    task = _task(pair)
    applied: list[int] = []
    original = task._apply

    def die_before_applying(conn: Any, txn: Any) -> None:
        applied.append(txn.xid)
        raise RuntimeError("the replication instance died")

    task._apply = die_before_applying  # type: ignore[method-assign]
    _write(source, f"INSERT INTO {SCHEMA}.item (id) VALUES (9)")
    task.start()
    _until(lambda: task.status is Status.FAILED)
    assert applied and _rows(target, f"SELECT count(*) FROM {SCHEMA}.item") == [(0,)]
    slot = task.settings.slot
    assert _rows(source, f"SELECT count(*) FROM pg_logical_slot_peek_changes('{slot}', NULL, NULL)") == [(0,)]
    assert original is not None


def test_the_heartbeat_moves_an_idle_slot(pair: tuple[str, str]) -> None:
    source, _target = pair
    task = _task(pair, heartbeat_schema="public", heartbeat_seconds=0.1)
    task.start()
    try:
        _until(lambda: _rows(source, "SELECT count(*) FROM pg_tables WHERE tablename = 'awsdms_heartbeat'") == [(1,)])
        first = _rows(source, "SELECT hb_ts FROM public.awsdms_heartbeat")[0][0]
        _until(lambda: _rows(source, "SELECT hb_ts FROM public.awsdms_heartbeat")[0][0] > first)
    finally:
        task.stop()
        task.join(10)


def test_changes_before_the_cdc_start_position_are_not_applied_and_leave_no_latency(pair: tuple[str, str]) -> None:
    source, target = pair
    _write(source, f"INSERT INTO {SCHEMA}.note VALUES (1, 'before the start position')")
    # Past the insert position (the servers commit asynchronously: the write position can lag the commit just made).
    end = lsn_value(_rows(source, "SELECT pg_current_wal_insert_lsn()::text")[0][0]) + 1
    start = f"{end >> 32:X}/{end & 0xFFFFFFFF:X}"
    task = _task(pair, start_position=start, task_settings=ERROR_BEHAVIOR | {"ChangeProcessingTuning": {"CommitTimeout": 60}})
    task.start()
    try:

        def read_past_the_start() -> bool:
            """the slot confirmed past the start position"""
            return bool(
                _rows(
                    source,
                    f"SELECT confirmed_flush_lsn >= '{start}'::pg_lsn FROM pg_replication_slots WHERE slot_name = "
                    f"current_database()",
                )[0][0]
            )

        _until(read_past_the_start)
        time.sleep(0.5)
        assert task.latency_seconds() == 0.0, context()
        assert _rows(target, f"SELECT count(*) FROM {SCHEMA}.note") == [(0,)]
    finally:
        task.stop()
        task.join(10)


def test_updates_and_deletes_find_their_row_through_the_key_index_not_a_table_scan(pair: tuple[str, str]) -> None:
    """Was: ``IS NOT DISTINCT FROM`` on the key, which no index serves: every UPDATE and DELETE scanned its table (the
    applier's backend at a full core in the night at 500/s, the apply slower as the tables grew)."""
    source, target = pair
    _write(source, f"INSERT INTO {SCHEMA}.note SELECT g, 'n' FROM generate_series(1, 20000) g")  # past one page
    task = _task(pair)
    task.start()
    scans = f"SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relid = '{SCHEMA}.note'::regclass"
    try:
        _until(lambda: _rows(target, f"SELECT count(*) FROM {SCHEMA}.note") == [(20000,)])
        before = _rows(target, scans)[0]
        while (settled := _rows(target, scans)[0]) != before:  # the count's own scans, reported late
            before = settled
            time.sleep(0.5)
        _write(source, f"UPDATE {SCHEMA}.note SET body = 'changed' WHERE id = 7", f"DELETE FROM {SCHEMA}.note WHERE id = 9")
        _write(source, f"UPDATE {SCHEMA}.note SET body = 'again' WHERE id = 8")

        def applied_by_index() -> bool:
            """the three changes applied and counted as index scans"""
            return _rows(target, scans)[0][1] >= before[1] + 3

        _until(applied_by_index)
        assert _rows(target, scans)[0][0] == before[0], "an UPDATE or DELETE scanned the whole table"
        assert _rows(target, f"SELECT count(*) FROM {SCHEMA}.note WHERE body <> 'n'") == [(2,)]
    finally:
        task.stop()
        task.join(10)
