"""``status`` (one screen for the night) and ``cleanup`` (what the migration leaves behind) — real PostgreSQL, DMS
through Stubber."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.stub import Stubber

from inventory_migration.migrationctl import records
from inventory_migration.migrationctl.cli import main
from inventory_migration.migrationctl.overview import cleanup, status
from inventory_migration.migrationctl.pg import fence

ARN = "arn:aws:dms:us-east-1:123456789012:task:FORWARD"


def dms_stub(tables: list[dict[str, Any]], task_status: str = "running") -> Any:
    client = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1").client("dms")
    stub = Stubber(client)
    stub.add_response(
        "describe_replication_tasks",
        {
            "ReplicationTasks": [
                {"ReplicationTaskArn": ARN, "ReplicationTaskIdentifier": "dms-task-full-load-cdc-prod-inv", "Status": task_status}
            ]
        },
        None,
    )
    stub.add_response("describe_table_statistics", {"TableStatistics": tables}, {"ReplicationTaskArn": ARN})
    stub.activate()
    return client


def table(name: str, state: str) -> dict[str, Any]:
    return {"SchemaName": "inventory", "TableName": name, "TableState": state}


def test_status_counts_loaded_tables_and_names_those_in_error() -> None:
    dms = dms_stub([table("stock", "Table completed"), table("orders", "Table error"), table("audit", "Full load")])
    part = status.dms_task(dms, None, "forward", ARN)
    assert part.ok is False and "tables 1/3 loaded, 1 in error (inventory.orders)" in part.text


def test_status_of_a_healthy_task_is_ok() -> None:
    part = status.dms_task(dms_stub([table("stock", "Table completed")]), None, "forward", ARN)
    assert part.ok is True and "running; tables 1/1 loaded, 0 in error" in part.text


def test_status_reads_the_records_and_the_journals(tmp_path: Path) -> None:
    records.write_json(tmp_path / records.VERIFY_RECORD, {"at": "2026-11-30T01:00:00+00:00", "equal": True})
    records.write_json(
        tmp_path / records.JOURNAL_DIR / "cutover.json",
        {
            "operation": "cutover",
            "status": "running",
            "started_at": "x",
            "steps": {"gates": {"status": "done"}, "freeze": {"status": "running"}},
        },
    )
    clock = lambda: 1796000000.0  # noqa: E731 - a fixed now
    verify = status.record(tmp_path, records.VERIFY_RECORD, "verify", clock)
    assert verify.ok and verify.text.startswith("verify: equal,")
    assert status.record(tmp_path, records.FILES_VERIFY_RECORD, "files verify", clock).ok is None
    assert "cutover: running at freeze" in status.journals(tmp_path).text


def _holder(tmp_path: Path, side: str) -> None:
    """A holder's file whose pid is alive (this process stands in for the detached holder)."""
    import os

    records.write_json(
        tmp_path / records.JOURNAL_DIR / f"snapshot-{side}.json",
        {"snapshot": "00000003-1", "pid": os.getpid(), "backend_pid": 4242, "at": 1796000000.0 - 600},
    )


def test_status_names_a_snapshot_holder_left_behind(tmp_path: Path) -> None:
    clock = lambda: 1796000000.0  # noqa: E731 - a fixed now
    assert status.holders(tmp_path, clock).text == "snapshot holders: none"
    _holder(tmp_path, "target")
    left = status.holders(tmp_path, clock)
    assert left.ok is False and "target since 10 min" in left.text and "LEFT BEHIND" in left.text


def test_a_holder_file_without_a_live_pid_is_not_a_holder(tmp_path: Path) -> None:
    for pid in (0, -1, "x", 2**40):
        records.write_json(tmp_path / records.JOURNAL_DIR / "snapshot-source.json", {"snapshot": "00000003-1", "pid": pid})
        assert records.snapshot_holders(tmp_path / records.JOURNAL_DIR) == {}, pid


def test_status_does_not_fault_a_holder_of_a_run_under_way(tmp_path: Path) -> None:
    records.write_json(
        tmp_path / records.JOURNAL_DIR / "cutover.json", {"operation": "cutover", "status": "running", "steps": {}}
    )
    _holder(tmp_path, "source")
    assert status.holders(tmp_path, lambda: 1796000000.0).ok is True


def test_status_command_shows_the_source_slots(source_db: str, tmp_path: Path) -> None:
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot('status_test', 'test_decoding')")
    try:
        out = io.StringIO()
        code = main(["--output", "json", "status", source_db, "--state", str(tmp_path)], out, io.StringIO())
        parts = {p["name"]: p for p in json.loads(out.getvalue())["parts"]}
        assert code == 0 and "status_test (test_decoding, inactive)" in parts["slots"]["text"]
    finally:
        with psycopg.connect(source_db, autocommit=True) as conn:
            conn.execute("SELECT pg_drop_replication_slot('status_test')")


# ----------------------------------------------------------------------------- cleanup


@pytest.fixture()
def leftovers(pg_pair: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database holding what a finished migration leaves: the fence, DMS's heartbeat, a slot and a publication."""
    name = "cl" + "".join(ch for ch in request.node.name.lower() if ch.isalnum())[:24]
    server = pg_pair.source
    server.psql("postgres", f"CREATE DATABASE {name}")
    dsn = str(server.dsn(name))
    with psycopg.connect(dsn, autocommit=True) as conn:
        fence.ensure(conn)
        conn.execute("CREATE TABLE public.awsdms_heartbeat (hb_key serial PRIMARY KEY, hb_timestamp timestamp)")
        conn.execute("CREATE TABLE public.keep_me (id int PRIMARY KEY)")
        conn.execute("CREATE PUBLICATION migration_forward FOR ALL TABLES")
        conn.execute("SELECT pg_create_logical_replication_slot('migration_forward', 'pgoutput')")
        conn.execute("SELECT pg_create_logical_replication_slot('someone_elses', 'test_decoding')")
    try:
        yield dsn
    finally:
        with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
            for (slot,) in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s", (name,)).fetchall():
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
        server.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_cleanup_is_a_dry_run_by_default(leftovers: str) -> None:
    out = io.StringIO()
    assert main(["cleanup", leftovers, leftovers], out, io.StringIO()) == 0
    text = out.getvalue()
    assert "would drop (dry run; --apply to act)" in text and "replication slot migration_forward" in text
    assert "left alone" in text and "someone_elses (test_decoding)" in text
    with psycopg.connect(leftovers) as conn:
        assert conn.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'migration_forward'").fetchone()[0] == 1  # type: ignore[index]


def test_cleanup_apply_drops_the_migrations_objects_and_nothing_else(leftovers: str) -> None:
    with psycopg.connect(leftovers, autocommit=True) as conn:
        found = {a.what for a in cleanup.plan(conn, "source")}
        assert {
            "publication migration_forward",
            "replication slot migration_forward",
            "table public.awsdms_heartbeat",
            "schema migration_control (the fence)",
        } <= found
    assert main(["cleanup", "--apply", leftovers, leftovers], io.StringIO(), io.StringIO()) == 0
    with psycopg.connect(leftovers, autocommit=True) as conn:
        assert cleanup.plan(conn, "source") == []
        assert conn.execute("SELECT to_regclass('public.keep_me') IS NOT NULL").fetchone()[0]  # type: ignore[index]
        slots = {r[0] for r in conn.execute("SELECT slot_name FROM pg_replication_slots")}
        assert "someone_elses" in slots and "migration_forward" not in slots


def test_cleanup_apply_is_refused_while_a_dms_task_runs(leftovers: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from inventory_migration.migrationctl.context import Context

    dms = dms_stub([], task_status="running")
    monkeypatch.setattr(Context, "client", lambda self, name, **kw: dms)
    err = io.StringIO()
    assert main(["cleanup", "--apply", "--task-arn", ARN, leftovers, leftovers], io.StringIO(), err) == 2
    assert "is still running" in err.getvalue()


def _slots_part(*kept: int) -> status.Part:
    return status.Part("slots", None, "", {"slots": [{"retained_wal_bytes": k} for k in kept]})


def test_publish_slot_wal_sends_the_most_any_slot_keeps_under_the_forward_task() -> None:
    from inventory_migration.contracts import metrics

    client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    expected = {
        "Namespace": metrics.NAMESPACE,
        "MetricData": [
            {
                "MetricName": metrics.SOURCE_SLOT_WAL,
                "Dimensions": [{"Name": metrics.TASK_DIMENSION, "Value": "FWDTASK"}],
                "Value": float(3 * 1024**3),
                "Unit": "Bytes",
            }
        ],
    }
    stub.add_response("put_metric_data", {}, expected)
    with stub:
        part = status.publish_slot_wal(client, "arn:aws:dms:us-east-1:1:task:FWDTASK", _slots_part(1024, 3 * 1024**3))
    stub.assert_no_pending_responses()
    assert part.ok and "3.00 GiB for FWDTASK" in part.text


def test_publish_slot_wal_without_a_forward_task_says_so_and_publishes_nothing() -> None:
    part = status.publish_slot_wal(None, "", _slots_part(1))
    assert part.ok is False and "no forward DMS task" in part.text
