"""The replication backends (migrationctl/cutover/replication.py): DMS against botocore's Stubber, slots on a real server."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from botocore.stub import ANY

from inventory_migration.migrationctl.cutover import switch
from tests.migrationctl.cutover.support import (
    FORWARD_ARN,
    REVERSE_ARN,
    describe,
    dms_backend,
    task,
)


def test_forward_action_is_what_the_stack_declares() -> None:
    listener = switch.Listener(listener_arn="l", blue_target_group_arn="b", green_target_group_arn="g")
    action = switch.forward_action(listener, 0, 100)
    assert action["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": "b", "Weight": 0},
        {"TargetGroupArn": "g", "Weight": 100},
    ]
    assert action["ForwardConfig"]["TargetGroupStickinessConfig"] == {"Enabled": False, "DurationSeconds": 1}


def test_dms_stop_forward_waits_for_stopped() -> None:
    backend, stub = dms_backend()
    describe(stub, FORWARD_ARN, "running")
    stub.add_response("stop_replication_task", {"ReplicationTask": {"Status": "stopping"}}, {"ReplicationTaskArn": FORWARD_ARN})
    describe(stub, FORWARD_ARN, "stopping")
    describe(stub, FORWARD_ARN, "stopped")
    with stub:
        backend.stop_forward()
        stub.assert_no_pending_responses()
    describe(stub, FORWARD_ARN, "stopped")  # already stopped: no stop call
    describe(stub, FORWARD_ARN, "stopped")
    with stub:
        backend.stop_forward()
        stub.assert_no_pending_responses()


def test_dms_reverse_starts_from_the_recorded_position() -> None:
    backend, stub = dms_backend(reverse_task_arn=REVERSE_ARN)
    describe(stub, REVERSE_ARN, "ready")
    stub.add_response(
        "start_replication_task",
        {"ReplicationTask": {"Status": "starting"}},
        {"ReplicationTaskArn": REVERSE_ARN, "StartReplicationTaskType": "start-replication", "CdcStartPosition": "0/1A2B3C4D"},
    )
    describe(stub, REVERSE_ARN, "starting")
    describe(stub, REVERSE_ARN, "running")
    with stub:
        assert backend.start_reverse("0/1A2B3C4D") == "reverse DMS task running from 0/1A2B3C4D"
        stub.assert_no_pending_responses()
    # Stopped after a run: resumed, still from the recorded position.
    describe(stub, REVERSE_ARN, "stopped")
    stub.add_response(
        "start_replication_task",
        {"ReplicationTask": {"Status": "starting"}},
        {"ReplicationTaskArn": REVERSE_ARN, "StartReplicationTaskType": "resume-processing", "CdcStartPosition": "0/1A2B3C4D"},
    )
    describe(stub, REVERSE_ARN, "running")
    describe(stub, REVERSE_ARN, "running")
    with stub:
        backend.start_reverse("0/1A2B3C4D")
        assert backend.reverse_running()
        stub.assert_no_pending_responses()


def test_dms_task_missing_and_wait_timeout() -> None:
    backend, stub = dms_backend()
    stub.add_response("describe_replication_tasks", {"ReplicationTasks": []}, {"Filters": ANY})
    with stub, pytest.raises(Exception, match="no DMS replication task"):
        backend.forward_running()
    backend.timeout_seconds = 0
    describe(stub, FORWARD_ARN, "starting")
    describe(stub, FORWARD_ARN, "starting")
    with stub, pytest.raises(Exception, match="is 'starting' after 0 s"):
        backend._wait(FORWARD_ARN, ("running",))


def test_dms_slot_resolution_resume_and_way_back_on_a_real_server(empty_db: str) -> None:
    """DMS's slot on the source found by plugin, advanced to the rollback position before the task resumes; the way
    back's slot dropped once the reverse task has stopped."""
    backend, stub = dms_backend(reverse_task_arn=REVERSE_ARN)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        with pytest.raises(Exception, match="0 test_decoding slots"):
            backend.resolve_forward_slot(conn)
        slot = f"dms_{uuid.uuid4().hex[:8]}"
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (slot,))
        conn.execute("SELECT pg_create_logical_replication_slot('migration_way_back', 'pgoutput')")
        try:
            assert backend.resolve_forward_slot(conn) == slot
            conn.execute("CREATE TABLE t (id int primary key)")
            position = str(conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0])  # type: ignore[index]
            describe(stub, FORWARD_ARN, "stopped")
            stub.add_response(
                "start_replication_task",
                {"ReplicationTask": {"Status": "starting"}},
                {"ReplicationTaskArn": FORWARD_ARN, "StartReplicationTaskType": "resume-processing"},
            )
            describe(stub, FORWARD_ARN, "running")
            with stub:
                advanced = backend.resume_forward(conn, position)
                stub.assert_no_pending_responses()
            confirmed = conn.execute("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s", (slot,))
            assert str(confirmed.fetchone()[0]) == advanced != "0/0"  # type: ignore[index]
            describe(stub, REVERSE_ARN, "running")
            stub.add_response(
                "stop_replication_task", {"ReplicationTask": {"Status": "stopping"}}, {"ReplicationTaskArn": REVERSE_ARN}
            )
            describe(stub, REVERSE_ARN, "stopped")
            with stub:
                backend.stop_reverse(conn)
                stub.assert_no_pending_responses()
            assert not conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'migration_way_back'").fetchone()
        finally:
            conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()"
            )


def test_dms_says_at_once_when_the_reverse_task_is_not_deployed() -> None:
    """An early rollback (before the cutover phase is deployed) is told what to deploy, not left to a drain timeout."""
    backend, stub = dms_backend()
    forward = {
        "ReplicationTaskArn": FORWARD_ARN,
        "Status": "stopped",
        "ReplicationTaskIdentifier": "dms-task-prod-full-load-cdc-inventory",
    }
    stub.add_response("describe_replication_tasks", {"ReplicationTasks": [forward]}, {"Filters": ANY})
    stub.add_response("describe_replication_tasks", {"ReplicationTasks": []}, {"Filters": ANY})
    with stub:
        missing = backend.way_back_missing("0/3000060")
    assert 'dms.reverse_cdc_start_position = "0/3000060"' in missing and "cdktf deploy, then run rollback again" in missing


def test_dms_way_back_is_ready_once_the_reverse_task_exists() -> None:
    backend, _stub = dms_backend(reverse_task_arn=REVERSE_ARN)
    assert backend.way_back_missing("0/3000060") == ""


def test_dms_way_back_problems_name_a_suspended_table_and_its_apply_exceptions(empty_db: str) -> None:
    """What the rollback's drain asks once the fence is back on-prem: the reverse task's tables and exceptions."""
    import datetime as dt

    backend, stub = dms_backend(reverse_task_arn=REVERSE_ARN)
    stub.add_response(
        "describe_table_statistics",
        {
            "TableStatistics": [
                {"SchemaName": "shop", "TableName": "orders", "TableState": "Table completed"},
                {"SchemaName": "shop", "TableName": "order_line", "TableState": "Table error"},
            ]
        },
        {"ReplicationTaskArn": REVERSE_ARN},
    )
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    reverse = task(REVERSE_ARN, "running")
    reverse["ReplicationTasks"][0]["ReplicationTaskStats"] = {"StartDate": started}
    stub.add_response(
        "describe_replication_tasks", reverse, {"Filters": [{"Name": "replication-task-arn", "Values": [REVERSE_ARN]}]}
    )
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA awsdms_control; CREATE TABLE awsdms_control.awsdms_apply_exceptions (error_time timestamptz)")
        conn.execute("INSERT INTO awsdms_control.awsdms_apply_exceptions VALUES (now()), (now() - interval '1 hour')")
        try:
            with stub:
                problems = backend.reverse_apply_problems(conn)
        finally:
            conn.execute("DROP SCHEMA awsdms_control CASCADE")
    assert problems[0] == "shop.order_line: Table error"
    assert problems[1].startswith("awsdms_control.awsdms_apply_exceptions: 1 change(s) DMS could not apply since")
