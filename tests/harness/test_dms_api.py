"""A table DMS suspends does not stop the fence — and the drain's postcondition catches it, both directions: the DMS
stand-in (harness/dms) applying on real PostgreSQL, asked through migrationctl's own DMS backend (harness/dms/api.py
answers its API calls)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from harness.dms.api import StandInDms, task_arn
from harness.dms.standin import StandInSettings, StandInTask, Status
from inventory_migration.migrationctl.cutover.replication import DmsReplication
from inventory_migration.migrationctl.pg import fence

DDL = """
CREATE SCHEMA shop;
CREATE TABLE shop.item (id int PRIMARY KEY, name text);
CREATE TABLE shop.note (id int PRIMARY KEY, body text NOT NULL);
"""
SUSPEND = {
    "ErrorBehavior": {"ApplyErrorInsertPolicy": "SUSPEND_TABLE", "ApplyErrorUpdatePolicy": "SUSPEND_TABLE"},
    "ControlTablesSettings": {"ControlSchema": "awsdms_control"},
}


@pytest.fixture()
def sides(pg_pair: Any, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Two databases with the shop's tables and the fence table, each with a test_decoding slot (the forward task's on
    the source, the way back's on the target)."""
    name = "api" + "".join(ch for ch in request.node.name.lower() if ch.isalnum())[-28:]
    dsns = {}
    for side, server, db in (("source", pg_pair.source, name), ("target", pg_pair.target, f"{name}_t")):
        server.psql("postgres", f"CREATE DATABASE {db}")
        server.psql(db, DDL + fence.DDL)
        dsns[side] = str(server.dsn(db))
        with psycopg.connect(dsns[side], autocommit=True) as conn:
            conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (db,))
        dsns[f"{side}_slot"] = db
    yield dsns
    for server, db in ((pg_pair.source, name), (pg_pair.target, f"{name}_t")):
        with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
            conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s", (db,))
        server.psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def _task(name: str, read: str, slot: str, write: str) -> StandInTask:
    return StandInTask(
        StandInSettings(
            task_name=name,
            source_dsn=read,
            target_dsn=write,
            slot=slot,
            schemas=("shop", "migration_control"),
            task_settings=SUSPEND,
            stop_seconds=0.2,
            poll_seconds=0.02,
        )
    )


def _suspend_a_table_then_fence(task: StandInTask, left: str, other: str, side: str) -> float:
    """The other side refuses long notes; a long note and an item are committed on the side being left, then the
    fence. The fence arrives; the seconds it took."""
    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("ALTER TABLE shop.note ADD CHECK (length(body) < 5)")
    task.start()
    token = f"test@{time.time()}"
    with psycopg.connect(left) as conn:
        conn.execute("INSERT INTO shop.note VALUES (1, 'far too long')")
        conn.execute("INSERT INTO shop.item VALUES (1, 'an item')")
    with psycopg.connect(left, autocommit=True) as conn:
        fence.write(conn, token, side)
    with psycopg.connect(other, autocommit=True) as conn:
        waited = fence.wait_visible(conn, token, 20)
    assert task.status is Status.RUNNING, task.failure  # suspended a table, kept going
    return waited


def test_forward_a_suspended_table_lets_the_fence_through_and_the_drain_check_names_it(sides: dict[str, str]) -> None:
    task = _task("forward", sides["source"], sides["source_slot"], sides["target"])
    backend = DmsReplication(dms=StandInDms({"forward": task}), cloudwatch=None, forward_task_arn=task_arn("forward"))
    try:
        waited = _suspend_a_table_then_fence(task, sides["source"], sides["target"], "source")
        with psycopg.connect(sides["target"], autocommit=True) as target:
            problems = backend.apply_problems(target)
            item = target.execute("SELECT count(*) FROM shop.item").fetchone()
    finally:
        task.stop()
        task.join(10)
    print(f"forward: fence after {waited:.2f} s; drain postcondition: {problems}")
    assert item == (1,), "the other table replicated on"
    assert problems[0] == "shop.note: Table error"
    assert "awsdms_control.awsdms_apply_exceptions: 1 change(s) DMS could not apply" in problems[1]


def test_reverse_a_suspended_table_lets_the_fence_through_and_the_drain_check_names_it(sides: dict[str, str]) -> None:
    forward = _task("forward", sides["source"], sides["source_slot"], sides["target"])
    reverse = _task("forward-reverse", sides["target"], sides["target_slot"], sides["source"])
    backend = DmsReplication(
        dms=StandInDms({"forward": forward, "forward-reverse": reverse}),
        cloudwatch=None,
        forward_task_arn=task_arn("forward"),
        reverse_task_arn=task_arn("forward-reverse"),
    )
    try:
        waited = _suspend_a_table_then_fence(reverse, sides["target"], sides["source"], "target")
        with psycopg.connect(sides["source"], autocommit=True) as source:
            problems = backend.reverse_apply_problems(source)
    finally:
        reverse.stop()
        reverse.join(10)
    print(f"reverse: fence after {waited:.2f} s; drain postcondition: {problems}")
    assert problems[0] == "shop.note: Table error"
    assert "1 change(s) DMS could not apply" in problems[1]


def test_the_api_answers_a_task_by_id_and_its_tables_by_name(sides: dict[str, str]) -> None:
    task = _task("forward", sides["source"], sides["source_slot"], sides["target"])
    dms = StandInDms({"forward": task})
    (found,) = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-id", "Values": ["forward"]}])[
        "ReplicationTasks"
    ]
    assert found["Status"] == "ready" and found["ReplicationTaskArn"] == task_arn("forward")
    dms.start_replication_task(ReplicationTaskArn=task_arn("forward"), StartReplicationTaskType="start-replication")
    try:
        with psycopg.connect(sides["source"]) as conn:
            conn.execute("INSERT INTO shop.item VALUES (1, 'x')")
        deadline = time.monotonic() + 20
        while not dms.describe_table_statistics(
            ReplicationTaskArn=task_arn("forward"), Filters=[{"Name": "table-name", "Values": ["item"]}]
        )["TableStatistics"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        dms.stop_replication_task(ReplicationTaskArn=task_arn("forward"))
        task.join(10)
    assert task.status is Status.STOPPED
