"""``migrationctl cutover`` / ``rollback``: the replication backends (DMS through botocore's Stubber, native on real
PostgreSQL 15 -> 15 and 13 -> 16), the gates, the state machines with their journal, and the CLI wiring.

The whole night under load, with SIGKILL at every step, is ``make rehearse-cutover``; a short night runs here too.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.stub import ANY, Stubber

from harness.night import relay
from harness.night import workload as wl
from harness.night.faults import stalled_apply
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl import cli, records
from inventory_migration.migrationctl.cutover import freeze, snapshot_holder, steps, switch
from inventory_migration.migrationctl.cutover.gates import gates
from inventory_migration.migrationctl.cutover.journal import ABORTED, DONE, KILL_ENV, Journal
from inventory_migration.migrationctl.cutover.replication import DmsReplication, NativeReplication
from inventory_migration.migrationctl.cutover.settings import CutoverAborted, GatesFailed, Settings
from inventory_migration.migrationctl.pg import fence, slots
from inventory_migration.migrationctl.pg.slots import FORWARD_NAME, REVERSE_NAME, lsn_value, slot_position, sync_point
from inventory_migration.migrationctl.polling import poll

FORWARD_ARN = "arn:aws:dms:us-east-1:123456789012:task:FORWARDTASK"
REVERSE_ARN = "arn:aws:dms:us-east-1:123456789012:task:REVERSETASK"

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------- pure parts


def test_lsn_order() -> None:
    assert lsn_value("0/0") == 0
    assert lsn_value("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert lsn_value("1/0") > lsn_value("0/FFFFFFFF")


def test_the_fence_wait_gives_up_at_the_timeout() -> None:
    ticks = iter(range(100))
    original = fence.visible
    fence.visible = lambda _c, _t: False  # type: ignore[assignment]
    try:
        with pytest.raises(fence.FenceTimeout, match="fence 'cutover@x' not applied on the other side after 1 s"):
            fence.wait_visible(None, "cutover@x", 1, clock=lambda: float(next(ticks)), sleep=lambda _s: None)  # type: ignore[arg-type]
    finally:
        fence.visible = original  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("insert", "expected"),
    [
        ("0/3876018", "0/3876000"),
        ("1/28", "1/0"),
        ("0/3876041", "0/3876041"),
        ("0/3876000", "0/3876000"),
        ("16/B374D848", "16/B374D848"),
    ],
)
def test_a_position_just_past_a_page_header_is_covered_by_the_page_boundary(insert: str, expected: str) -> None:
    """Only a page header lies between the boundary and the insert position: it is not flushed until a record
    follows, and nothing committed lies there."""
    assert slots.covered(insert, 8192) == expected


def test_a_sync_point_is_flushed_past_asynchronous_commits(empty_db: str) -> None:
    """Apply workers commit asynchronously: a slot advanced to an unflushed position stops short of their commits
    (``pg_replication_slot_advance`` clamps to the flush position) and sends them again later."""
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
        conn.execute("SET synchronous_commit = off")
        conn.execute("INSERT INTO t SELECT generate_series(1, 1000)")
        committed = str(conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0])  # type: ignore[index]
        position = sync_point(conn)
        flushed = str(conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()[0])  # type: ignore[index]
    assert lsn_value(committed) <= lsn_value(position) <= lsn_value(flushed)


def test_journal_resumes_and_records_failures(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "cutover.json", "cutover", steps.CUTOVER_STEPS)
    with journal.step("gates") as result:
        result["ok"] = True
    with pytest.raises(RuntimeError), journal.step("freeze"):
        raise RuntimeError("boom")
    again = Journal(tmp_path / "cutover.json", "cutover", steps.CUTOVER_STEPS)
    assert again.done("gates") and not again.done("freeze") and again.started("freeze")
    assert again.data["steps"]["freeze"]["error"] == "RuntimeError: boom"
    with again.step("freeze"):
        pass
    assert again.data["steps"]["freeze"]["attempts"] == 2
    with pytest.raises(ValueError, match="is a cutover journal, not rollback"):
        Journal(tmp_path / "cutover.json", "rollback", steps.JOURNAL_STEPS["rollback"])
    archived = again.archive()
    assert archived.exists() and not (tmp_path / "cutover.json").exists()


def test_forward_action_is_what_the_stack_declares() -> None:
    listener = switch.Listener(listener_arn="l", blue_target_group_arn="b", green_target_group_arn="g")
    action = switch.forward_action(listener, 0, 100)
    assert action["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": "b", "Weight": 0},
        {"TargetGroupArn": "g", "Weight": 100},
    ]
    assert action["ForwardConfig"]["TargetGroupStickinessConfig"] == {"Enabled": False, "DurationSeconds": 1}


# ----------------------------------------------------------------------------------------------- DMS backend


def dms_backend(**kwargs: Any) -> tuple[DmsReplication, Stubber]:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    client = session.client("dms")
    stub = Stubber(client)
    backend = DmsReplication(
        dms=client,
        cloudwatch=session.client("cloudwatch"),
        forward_task_arn=FORWARD_ARN,
        poll_seconds=0,
        timeout_seconds=5,
        **kwargs,
    )
    return backend, stub


def task(arn: str, status: str) -> dict[str, Any]:
    return {"ReplicationTasks": [{"ReplicationTaskArn": arn, "Status": status}]}


def describe(stub: Stubber, arn: str, status: str) -> None:
    stub.add_response(
        "describe_replication_tasks", task(arn, status), {"Filters": [{"Name": "replication-task-arn", "Values": [arn]}]}
    )


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


# ----------------------------------------------------------------------------------------------- real PostgreSQL


class Shop:
    """The shop database on both servers of a pair, replicated forward natively, verified, app role read-only on the
    target: the state of the night just before the window."""

    def __init__(self, pair: Any, name: str, state_dir: Path) -> None:
        self.pair = pair
        self.name = name
        self.source_dsn = pair.source.dsn(f"{name}_src")
        self.target_dsn = pair.target.dsn(f"{name}_tgt")
        self.state_dir = state_dir

    def app(self, side: str) -> str:
        server, db = (self.pair.source, f"{self.name}_src") if side == "source" else (self.pair.target, f"{self.name}_tgt")
        return str(server.dsn(db, user=wl.ROLE, password=wl.ROLE_PASSWORD))

    def setup(self) -> Shop:
        self.pair.source.psql("postgres", f"CREATE DATABASE {self.name}_src")
        self.pair.target.psql("postgres", f"CREATE DATABASE {self.name}_tgt")
        for server in {id(self.pair.source): self.pair.source, id(self.pair.target): self.pair.target}.values():
            server.psql("postgres", wl.role_sql())
        self.pair.source.psql(f"{self.name}_src", wl.SCHEMA_SQL + wl.SEED_SQL.format(customers=600, orders=800, lines=1600))
        self.pair.source.psql(f"{self.name}_src", wl.GRANTS_SQL)
        assert cli.main(["--no-progress", "schema", "pre-data", self.source_dsn, self.target_dsn]) == 0
        self.backend().setup_forward(copy_data=True)
        wait(self.backend().initial_copy_done, "initial copy")
        assert cli.main(["--no-progress", "schema", "post-data", self.source_dsn, self.target_dsn]) == 0
        self.pair.target.psql(f"{self.name}_tgt", wl.READ_GRANTS_SQL)  # reads only until the cutover opens it
        self.caught_up()
        argv = ["--no-progress", "verify", "--app-roles", wl.ROLE, self.source_dsn, self.target_dsn]
        assert cli.main(argv, io.StringIO()) == 0
        return self

    def backend(self) -> NativeReplication:
        return NativeReplication(source_dsn=self.source_dsn, target_dsn=self.target_dsn)

    def caught_up(self) -> None:
        with psycopg.connect(self.source_dsn, autocommit=True) as conn:
            goal = sync_point(conn)
            wait(lambda: lsn_value(slot_position(conn, FORWARD_NAME)[0] or "0/0") >= lsn_value(goal), "forward replication")  # type: ignore[index]

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "source_dsn": self.source_dsn,
            "target_dsn": self.target_dsn,
            "app_roles": (wl.ROLE,),
            "backend": self.backend(),
            "state_dir": self.state_dir,
            "drain_timeout": 20.0,
            "say": lambda _line: None,
        }
        return Settings(**(values | overrides))

    def insert(self, side: str) -> int:
        with psycopg.connect(self.app(side)) as conn:
            return int(
                conn.execute(
                    "INSERT INTO shop.orders (customer_id, client_ref, status) VALUES (1, gen_random_uuid(), 'new') RETURNING id"
                ).fetchone()[0]  # type: ignore[index]
            )

    def has_order(self, side: str, order_id: int) -> bool:
        dsn = self.source_dsn if side == "source" else self.target_dsn
        with psycopg.connect(dsn) as conn:
            return bool(conn.execute("SELECT 1 FROM shop.orders WHERE id = %s", (order_id,)).fetchone())

    def writable(self, side: str) -> bool:
        dsn = self.source_dsn if side == "source" else self.target_dsn
        with psycopg.connect(dsn, autocommit=True) as conn:
            return freeze.can_write(conn, wl.ROLE)

    def identity(self, side: str) -> str:
        """``shop.order_event.id``'s kind on that side: ``a`` (GENERATED ALWAYS) or ``d`` (BY DEFAULT)."""
        dsn = self.source_dsn if side == "source" else self.target_dsn
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT attidentity::text FROM pg_attribute WHERE attrelid = 'shop.order_event'::regclass AND attname = 'id'"
            ).fetchone()
            assert row is not None
            return str(row[0])


def wait(predicate: Any, what: str, timeout: float = 60) -> None:
    poll(predicate, timeout=timeout, interval=0.05, timed_out=lambda: AssertionError(f"timed out waiting for {what}"))


@pytest.fixture()
def shop(pg_pair: Any, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(records, "STATE_DIR", tmp_path / ".migrationctl")
    name = "co" + "".join(ch for ch in request.node.name.lower() if ch.isalnum())[:30]
    s = Shop(pg_pair, name, tmp_path / ".migrationctl")
    try:
        yield s.setup()
    finally:
        snapshot_holder.release(s.state_dir / "journal", "source")
        snapshot_holder.release(s.state_dir / "journal", "target")
        for server, db in ((pg_pair.target, f"{name}_tgt"), (pg_pair.source, f"{name}_src")):
            with psycopg.connect(server.dsn(db), autocommit=True) as conn:
                for sub in conn.execute(
                    "SELECT subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ):
                    conn.execute(f"ALTER SUBSCRIPTION {sub[0]} DISABLE")
                    conn.execute(f"ALTER SUBSCRIPTION {sub[0]} SET (slot_name = NONE)")
                    conn.execute(f"DROP SUBSCRIPTION {sub[0]}")
        for server, db in ((pg_pair.source, f"{name}_src"), (pg_pair.target, f"{name}_tgt")):
            with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
                for slot in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s", (db,)).fetchall():
                    conn.execute("SELECT pg_drop_replication_slot(%s)", (slot[0],))
            server.psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


@pytest.fixture()
def lb(moto_endpoint: str) -> tuple[Any, switch.Listener, dict[StackOutput, str]]:
    from harness.aws.clients import client
    from harness.night.load_balancer import create_load_balancer

    outputs = create_load_balancer(moto_endpoint, suffix=uuid.uuid4().hex[:6])  # one emulator for the module
    listener = switch.Listener(
        listener_arn=outputs[StackOutput.HTTPS_LISTENER_ARN],
        blue_target_group_arn=outputs[StackOutput.BLUE_TARGET_GROUP_ARN],
        green_target_group_arn=outputs[StackOutput.GREEN_TARGET_GROUP_ARN],
    )
    return client(moto_endpoint, "elbv2"), listener, outputs


def test_dry_run_prints_the_gates_and_changes_nothing(shop: Shop) -> None:
    lines: list[str] = []
    journal = steps.cutover(shop.settings(say=lines.append), dry_run=True)
    assert not journal.path.exists()
    assert any("gate ok   recent clean verify" in line for line in lines), lines
    assert any("gate ok   applications cannot write to the target yet" in line for line in lines)
    assert lines[-1].startswith("dry run: the steps would be freeze -> drain")
    assert shop.writable("source") and not shop.writable("target")


def test_a_failing_gate_changes_nothing(shop: Shop) -> None:
    (shop.state_dir / "verify-last.json").unlink()
    shop.pair.target.psql(f"{shop.name}_tgt", wl.GRANTS_SQL)  # the application could write to Aurora already
    with pytest.raises(GatesFailed, match="recent clean verify; applications cannot write to the target yet"):
        steps.cutover(shop.settings())
    assert not (shop.state_dir / "journal" / "cutover.json").exists()
    assert shop.writable("source")
    with psycopg.connect(shop.target_dsn, autocommit=True) as conn:
        assert slot_position(conn, REVERSE_NAME) is None


def test_a_verify_of_other_databases_does_not_count(shop: Shop) -> None:
    record = json.loads((shop.state_dir / "verify-last.json").read_text())
    record["target"] = "127.0.0.1:1/elsewhere"
    (shop.state_dir / "verify-last.json").write_text(json.dumps(record))
    with psycopg.connect(shop.source_dsn) as source, psycopg.connect(shop.target_dsn) as target:
        gate = next(g for g in gates(shop.settings(), source, target) if g.name == "recent clean verify")
    assert not gate.ok and "recorded for another target database" in gate.detail


def test_cutover_then_rollback_moves_writes_and_traffic_both_ways(shop: Shop, lb: Any) -> None:
    elbv2, listener, outputs = lb
    from harness.aws.clients import client

    cloudwatch = client(elbv2.meta.endpoint_url, "cloudwatch")
    settings = shop.settings(
        elbv2=elbv2, listener=listener, cloudwatch=cloudwatch, cutover_alarm=outputs[StackOutput.CUTOVER_BLOCKED_ALARM_NAME]
    )
    on_blue = shop.insert("source")
    journal = steps.cutover(settings)
    assert journal.status == DONE
    assert [s for s in steps.CUTOVER_STEPS if journal.done(s)] == list(steps.CUTOVER_STEPS)
    assert journal.data["steps"]["verify"]["result"]["equal"] is True
    assert switch.weights(elbv2, listener) == {"blue": 0, "green": 100}
    assert shop.has_order("target", on_blue) and shop.writable("target") and not shop.writable("source")
    assert shop.identity("target") == "a" and shop.identity("source") == "d"  # the way back writes on-prem's ids
    # Green's writes go back to on-prem; sequences moved on: no collision with blue's ids.
    on_green = shop.insert("target")
    assert on_green > on_blue + 500
    wait(lambda: shop.has_order("source", on_green), "the way back")
    assert steps.cutover(settings).status == DONE  # a repeat does nothing

    back = steps.rollback(settings)
    assert back.status == DONE and [s for s in steps.ROLLBACK_STEPS if back.done(s)] == list(steps.ROLLBACK_STEPS)
    assert switch.weights(elbv2, listener) == {"blue": 100, "green": 0}
    assert shop.writable("source") and not shop.writable("target")
    assert shop.identity("source") == "a" and shop.identity("target") == "d"
    on_blue_again = shop.insert("source")
    assert on_blue_again > on_green
    wait(lambda: shop.has_order("target", on_blue_again), "forward replication resumed")
    with psycopg.connect(shop.target_dsn, autocommit=True) as conn:
        assert slot_position(conn, REVERSE_NAME) is None  # the way back is gone until the next cutover
    # And again: a second cutover starts a new journal.
    again = steps.cutover(settings)
    assert again.status == DONE and len(list((shop.state_dir / "journal").glob("cutover-*.json"))) == 1


def test_a_drain_timeout_aborts_and_unfreezes(shop: Shop) -> None:
    with stalled_apply(shop.source_dsn, shop.target_dsn), pytest.raises(CutoverAborted, match="the source is writable again"):
        steps.cutover(shop.settings(drain_timeout=1.0, elbv2=None))
    assert shop.writable("source") and not shop.writable("target")
    journal = Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS)
    assert journal.status == ABORTED and journal.data["steps"]["drain"]["status"] == "failed"
    # The next cutover starts afresh once replication is healthy.
    shop.caught_up()
    assert steps.cutover(shop.settings()).status == DONE


def test_the_drain_waits_for_the_fence_when_the_slot_confirms_before_applying(shop: Shop) -> None:
    """DMS's shape (:mod:`harness.night.relay`): the source's slot runs ahead of the apply. A slot-based drain would
    have opened green here; the fence holds the cutover until green has the writes."""
    with (
        relay.relayed(shop.source_dsn, shop.pair.target, f"{shop.name}_tgt"),
        stalled_apply(shop.source_dsn, shop.target_dsn) as release,
    ):
        order = shop.insert("source")
        with psycopg.connect(shop.source_dsn, autocommit=True) as conn:
            goal = lsn_value(sync_point(conn))
            wait(lambda: lsn_value(slot_position(conn, FORWARD_NAME)[0] or "0/0") >= goal, "the relay to confirm")  # type: ignore[index]
        assert not shop.has_order("target", order)  # confirmed on the source, not applied on the target
        threading.Timer(1.5, release).start()
        journal = steps.cutover(shop.settings(elbv2=None))
        assert journal.status == DONE and shop.has_order("target", order)
        assert journal.data["steps"]["drain"]["result"]["fence_seconds"] >= 1.0
    with psycopg.connect(shop.target_dsn, autocommit=True) as target:
        assert shop.backend().apply_problems(target) == []
    assert steps.rollback(shop.settings(elbv2=None)).status == DONE
    with psycopg.connect(shop.target_dsn, autocommit=True) as target:
        wait(shop.backend().forward_running, "forward replication")
        time.sleep(1)
        assert shop.backend().apply_problems(target) == []


def test_rollback_undoes_a_cutover_that_never_switched(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_holder(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("holder could not start")

    monkeypatch.setattr(snapshot_holder, "start", no_holder)
    with pytest.raises(RuntimeError, match="holder could not start"):
        steps.cutover(shop.settings())
    assert not shop.writable("source")  # frozen: the cutover stopped half-way
    assert shop.identity("target") == "a"  # its sequences step had handed the identities to green
    lines: list[str] = []
    undo = steps.rollback(shop.settings(say=lines.append))
    assert undo.status == DONE and list(undo.data["steps"]) == list(steps.ABORT_STEPS)
    assert shop.writable("source") and not shop.writable("target")
    assert shop.identity("source") == "a" and shop.identity("target") == "d"  # forward replication writes green again
    assert Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS).status == ABORTED
    with psycopg.connect(shop.target_dsn, autocommit=True) as conn:
        assert slot_position(conn, REVERSE_NAME) is None
    assert "nothing was written on green" in lines[-1]


def test_a_difference_at_the_switch_point_notifies_and_names_the_rollback(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    original = snapshot_holder.start

    def tamper_then_hold(dsns: dict[str, str], directory: Path, **kwargs: Any) -> dict[str, str]:
        with psycopg.connect(shop.target_dsn, autocommit=True) as conn:  # a row DMS "lost" on the way
            conn.execute("SET session_replication_role = replica; DELETE FROM shop.order_line WHERE id = 7")
        return original(dsns, directory, **kwargs)

    published: list[dict[str, Any]] = []

    class Sns:
        def publish(self, **message: Any) -> None:
            published.append(message)

    monkeypatch.setattr(snapshot_holder, "start", tamper_then_hold)
    journal = steps.cutover(shop.settings(sns=Sns(), topic_arn="arn:aws:sns:us-east-1:123456789012:alarms"))
    result = journal.data["steps"]["verify"]["result"]
    assert result["equal"] is False and result["differing_tables"] == ["shop.order_line"]
    assert published and "migrationctl rollback" in published[0]["Message"]


def test_rollback_without_a_cutover_is_a_usage_error(tmp_path: Path) -> None:
    settings = Settings(
        source_dsn="",
        target_dsn="",
        app_roles=("x",),
        backend=NativeReplication(source_dsn="", target_dsn=""),
        state_dir=tmp_path,
    )
    with pytest.raises(Exception, match="no cutover journal"):
        steps.rollback(settings)


# ----------------------------------------------------------------------------------------------- the CLI


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--no-progress", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_dry_run_and_json(shop: Shop) -> None:
    args = ["--app-roles", wl.ROLE, "--backend", "native", "--no-load-balancer", "--state-dir", str(shop.state_dir)]
    code, out, err = run_cli("cutover", shop.source_dsn, shop.target_dsn, "--dry-run", *args)
    assert code == 0 and "gate ok   post-data done" in out and "nothing changed" in out, err
    code, out, _ = run_cli("--output", "json", "cutover", shop.source_dsn, shop.target_dsn, *args)
    report = json.loads(out)
    assert code == 0 and report["status"] == DONE and report["steps"]["verify"]["result"]["equal"] is True
    code, out, _ = run_cli("rollback", shop.source_dsn, shop.target_dsn, *args)
    assert code == 0 and "rollback done" in out


def test_cli_reports_failed_gates_with_exit_1(shop: Shop) -> None:
    (shop.state_dir / "verify-last.json").unlink()
    args = ["--app-roles", wl.ROLE, "--backend", "native", "--no-load-balancer", "--state-dir", str(shop.state_dir)]
    code, out, _ = run_cli("cutover", shop.source_dsn, shop.target_dsn, *args)
    assert code == 1 and "NOT STARTED, gate(s) failed: recent clean verify. Nothing changed." in out


def test_cli_needs_the_load_balancer_and_the_task(tmp_path: Path) -> None:
    code, _out, err = run_cli("cutover", "host=x", "host=y", "--app-roles", "app", "--backend", "native")
    assert code == 2 and "the load balancer is not known" in err
    code, _out, err = run_cli("--region", "us-east-1", "cutover", "host=x", "host=y", "--app-roles", "app", "--no-load-balancer")
    assert code == 2 and "--backend dms needs the forward task" in err
    bad = tmp_path / "outputs.json"
    bad.write_text("[1]")
    code, _out, err = run_cli("rollback", "--app-roles", "app", "--stack-outputs", str(bad))
    assert code == 2 and "expected a JSON object" in err


def test_stack_outputs_in_both_shapes(tmp_path: Path) -> None:
    from inventory_migration.migrationctl.context import read_stack_outputs as load_stack_outputs

    terraform = tmp_path / "tf.json"
    terraform.write_text(json.dumps({"https_listener_arn": {"value": "arn:l", "type": "string", "sensitive": False}}))
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"https_listener_arn": "arn:l"}))
    assert load_stack_outputs(terraform) == load_stack_outputs(flat) == {"https_listener_arn": "arn:l"}
    with pytest.raises(Exception, match="cannot read --stack-outputs"):
        load_stack_outputs(tmp_path / "missing.json")


def test_the_kill_hook_is_inert_unless_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KILL_ENV, "rollback:freeze")
    journal = Journal(tmp_path / "j.json", "cutover", steps.CUTOVER_STEPS)
    with journal.step("freeze"):
        pass
    assert journal.done("freeze")


# ----------------------------------------------------------------------------------------------- the journal as a state machine


def test_a_killed_abort_is_finished_by_the_next_run(shop: Shop) -> None:
    """Killed between recording the abort and unfreezing: the next cutover finishes the abort, it does not resume."""
    journal = Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS)
    with psycopg.connect(shop.source_dsn, autocommit=True) as conn:
        record = freeze.plan(conn, (wl.ROLE,))
        journal.record(freeze_source=record.to_json())
        freeze.revoke(conn, record)
    assert not shop.writable("source")
    with journal.step("gates"), journal.step("freeze"):
        pass
    journal.record(abort_side="source", abort_reason="slot 'x' confirmed 0/1 after 1 s")
    journal.finish("aborting")
    with pytest.raises(CutoverAborted, match=r"the interrupted abort is finished .* the source is writable again"):
        steps.cutover(shop.settings())
    assert shop.writable("source")
    assert Journal(journal.path, "cutover", steps.CUTOVER_STEPS).status == ABORTED
    assert steps.cutover(shop.settings()).status == DONE  # and the next one starts afresh, from the gates


def test_a_cutover_does_not_resume_while_its_rollback_is_under_way(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = shop.settings()
    assert steps.cutover(settings).status == DONE

    def stop(_run: Any, _result: Any) -> None:
        raise RuntimeError("killed in the middle of the rollback")

    monkeypatch.setattr(steps, "ROLLBACK", (*steps.ROLLBACK[:2], steps.Step("sequences", stop), *steps.ROLLBACK[3:]))
    with pytest.raises(RuntimeError, match="killed"):
        steps.rollback(settings)
    with pytest.raises(GatesFailed, match="a rollback of this cutover is under way"):
        steps.cutover(settings)
    monkeypatch.undo()
    back = steps.rollback(settings)
    assert back.status == DONE and shop.writable("source") and not shop.writable("target")
    assert Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS).status == "rolled back"
    again = steps.cutover(settings)  # a new cutover after the rollback starts from the gates
    assert again.status == DONE and again.data["steps"]["gates"]["attempts"] == 1


def test_undoing_an_unswitched_cutover_resumes_forward_where_its_slot_is(shop: Shop) -> None:
    backend = shop.backend()
    backend.stop_forward()
    with psycopg.connect(shop.source_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO shop.customer (email) VALUES ('late@example.test')")  # not applied yet
        before = slot_position(conn, FORWARD_NAME)[0]  # type: ignore[index]
        assert backend.resume_forward(conn, None) == before
    wait(lambda: shop_has_customer(shop, "late@example.test"), "the change made while stopped to arrive")


def shop_has_customer(shop: Shop, email: str) -> bool:
    with psycopg.connect(shop.target_dsn) as conn:
        return bool(conn.execute("SELECT 1 FROM shop.customer WHERE email = %s", (email,)).fetchone())


def test_exit_codes_of_cutover(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory_migration.migrationctl.errors import ExitCode

    args = ["--app-roles", wl.ROLE, "--backend", "native", "--no-load-balancer", "--state-dir", str(shop.state_dir)]

    def no_snapshots(_s: Any, _held: Any) -> bool:
        return False

    monkeypatch.setattr(steps, "_snapshots_alive", no_snapshots)  # the holders died: the switch-point verify cannot run
    code, out, _err = run_cli("cutover", shop.source_dsn, shop.target_dsn, *args)
    assert code == ExitCode.SWITCHED_WITH_DIFFERENCES == 4, out
    assert "switch-point snapshots are gone" in out
