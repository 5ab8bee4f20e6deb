"""Cutover and rollback on real PostgreSQL (migrationctl/cutover/steps.py): the steps, their journal, the way back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.night import relay
from harness.night import workload as wl
from harness.night.faults import stalled_apply
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.cutover import freeze, operations, sides, snapshot_holder, steps, switch
from inventory_migration.migrationctl.cutover.gates import gates
from inventory_migration.migrationctl.cutover.journal import ABORTED, DONE, Journal
from inventory_migration.migrationctl.cutover.replication import NativeReplication
from inventory_migration.migrationctl.cutover.settings import CutoverAborted, GatesFailed, Settings
from inventory_migration.migrationctl.pg.slots import FORWARD_NAME, REVERSE_NAME, lsn_value, slot_position, sync_point
from tests.migrationctl.cutover.support import (
    Shop,
    shop_has_customer,
    wait,
)


def test_dry_run_prints_the_gates_and_changes_nothing(shop: Shop) -> None:
    lines: list[str] = []
    journal = operations.cutover(shop.settings(say=lines.append), dry_run=True)
    assert not journal.path.exists()
    assert any("gate ok   recent clean verify" in line for line in lines), lines
    assert any("gate ok   applications cannot write to the target yet" in line for line in lines)
    assert lines[-1].startswith("dry run: the steps would be freeze -> drain")
    assert shop.writable("source") and not shop.writable("target")


def test_a_failing_gate_changes_nothing(shop: Shop) -> None:
    (shop.state_dir / "verify-last.json").unlink()
    shop.pair.target.psql(f"{shop.name}_tgt", wl.GRANTS_SQL)  # the application could write to Aurora already
    with pytest.raises(GatesFailed, match="recent clean verify; applications cannot write to the target yet"):
        operations.cutover(shop.settings())
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
    journal = operations.cutover(settings)
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
    assert operations.cutover(settings).status == DONE  # a repeat does nothing

    back = operations.rollback(settings)
    assert back.status == DONE and [s for s in steps.ROLLBACK_STEPS if back.done(s)] == list(steps.ROLLBACK_STEPS)
    assert back.data["steps"]["verify"]["result"]["equal"] is True  # both sides as of the switch back
    assert switch.weights(elbv2, listener) == {"blue": 100, "green": 0}
    assert shop.writable("source") and not shop.writable("target")
    assert shop.identity("source") == "a" and shop.identity("target") == "d"
    on_blue_again = shop.insert("source")
    assert on_blue_again > on_green
    wait(lambda: shop.has_order("target", on_blue_again), "forward replication resumed")
    with psycopg.connect(shop.target_dsn, autocommit=True) as conn:
        assert slot_position(conn, REVERSE_NAME) is None  # the way back is gone until the next cutover
    # And again: a second cutover starts a new journal.
    again = operations.cutover(settings)
    assert again.status == DONE and len(list((shop.state_dir / "journal").glob("cutover-*.json"))) == 1


def test_a_drain_timeout_aborts_and_unfreezes(shop: Shop) -> None:
    with stalled_apply(shop.source_dsn, shop.target_dsn), pytest.raises(CutoverAborted, match="the source is writable again"):
        operations.cutover(shop.settings(drain_timeout=1.0, catch_up_timeout=0, elbv2=None))
    assert shop.writable("source") and not shop.writable("target")
    journal = Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS)
    assert journal.status == ABORTED and journal.data["steps"]["drain"]["status"] == "failed"
    # The next cutover starts afresh once replication is healthy.
    shop.caught_up()
    assert operations.cutover(shop.settings()).status == DONE


def _suspended_after_the_fence(monkeypatch: pytest.MonkeyPatch, method: str, table: str) -> None:
    """DMS's suspend-on-error: once the fence is written, the replication reports a table it set aside (the fence,
    in its own table, still arrives)."""
    from inventory_migration.migrationctl.pg import fence

    written = threading.Event()
    write_fence, real = fence.write, getattr(NativeReplication, method)

    def write(*args: Any, **kwargs: Any) -> str:
        written.set()
        return write_fence(*args, **kwargs)

    def problems(self: NativeReplication, conn: psycopg.Connection) -> list[str]:
        return [f"{table}: Table error", *real(self, conn)] if written.is_set() else real(self, conn)

    monkeypatch.setattr(fence, "write", write)
    monkeypatch.setattr(NativeReplication, method, problems)


def test_a_table_suspended_during_the_drain_aborts_the_cutover_with_the_source_writable(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suspended_after_the_fence(monkeypatch, "apply_problems", "shop.order_line")
    with pytest.raises(CutoverAborted, match=r"forward replication did not apply every change: shop.order_line: Table error"):
        operations.cutover(shop.settings(elbv2=None))
    assert shop.writable("source") and not shop.writable("target")
    journal = Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS)
    assert journal.status == ABORTED and journal.data["steps"]["drain"]["status"] == "failed"


def test_a_table_suspended_on_the_way_back_aborts_the_rollback_with_green_writable(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert operations.cutover(shop.settings(elbv2=None)).status == DONE
    _suspended_after_the_fence(monkeypatch, "reverse_apply_problems", "shop.orders")
    with pytest.raises(CutoverAborted, match=r"the way back did not apply every change: shop.orders: Table error"):
        operations.rollback(shop.settings(elbv2=None))
    assert shop.writable("target") and not shop.writable("source")
    monkeypatch.undo()
    assert operations.rollback(shop.settings(elbv2=None)).status == DONE  # once the table applies again


def test_the_drain_waits_for_the_fence_when_the_slot_confirms_before_applying(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DMS's shape (:mod:`harness.night.relay`): the source's slot runs ahead of the apply. A slot-based drain would
    have opened green here; the fence holds the cutover until green has the writes (released 1.5 s after the fence is
    written, however long the gates took)."""
    from inventory_migration.migrationctl.pg import fence

    write_fence = fence.write
    with (
        relay.relayed(shop.source_dsn, shop.pair.target, f"{shop.name}_tgt"),
        stalled_apply(shop.source_dsn, shop.target_dsn) as release,
    ):
        order = shop.insert("source")
        with psycopg.connect(shop.source_dsn, autocommit=True) as conn:
            goal = lsn_value(sync_point(conn))
            wait(lambda: lsn_value(slot_position(conn, FORWARD_NAME)[0] or "0/0") >= goal, "the relay to confirm")  # type: ignore[index]
        assert not shop.has_order("target", order)  # confirmed on the source, not applied on the target

        def write_then_release_later(*args: Any, **kwargs: Any) -> str:
            threading.Timer(1.5, release).start()
            return write_fence(*args, **kwargs)

        monkeypatch.setattr(fence, "write", write_then_release_later)
        journal = operations.cutover(shop.settings(elbv2=None, catch_up_timeout=0))  # the drain's fence, not a catch-up
        monkeypatch.undo()
        assert journal.status == DONE and shop.has_order("target", order)
        assert journal.data["steps"]["drain"]["result"]["fence_seconds"] >= 1.0
    with psycopg.connect(shop.target_dsn, autocommit=True) as target:
        assert shop.backend().apply_problems(target) == []
    assert operations.rollback(shop.settings(elbv2=None)).status == DONE
    with psycopg.connect(shop.target_dsn, autocommit=True) as target:
        wait(shop.backend().forward_running, "forward replication")
        time.sleep(1)
        assert shop.backend().apply_problems(target) == []


def test_the_switch_back_verify_names_a_table_the_way_back_did_not_bring(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row on-prem that green never had, written (as an exempt superuser) between the way back's drain and the
    switch-back point: the rollback finishes with blue serving, and its verify names the table."""
    from inventory_migration.migrationctl.cutover import rollback_steps

    assert operations.cutover(shop.settings(elbv2=None)).status == DONE
    real = rollback_steps.sequences_to

    def sequences_then_stray_write(run: Any, result: dict[str, Any], writer: str) -> None:
        with psycopg.connect(shop.source_dsn, autocommit=True) as admin:
            admin.execute("INSERT INTO shop.orders (customer_id, client_ref, status) VALUES (1, gen_random_uuid(), 'new')")
        real(run, result, writer)

    monkeypatch.setattr(rollback_steps, "sequences_to", sequences_then_stray_write)
    back = operations.rollback(shop.settings(elbv2=None))
    assert back.status == DONE and shop.writable("source")
    verdict = back.data["steps"]["verify"]["result"]
    assert verdict["equal"] is False and any("orders" in t for t in verdict["differing_tables"]), verdict
    from inventory_migration.migrationctl.cutover.commands import exit_code
    from inventory_migration.migrationctl.errors import ExitCode

    assert exit_code(back) is ExitCode.SWITCHED_WITH_DIFFERENCES


def test_rollback_undoes_a_cutover_that_never_switched(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_holder(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("holder could not start")

    monkeypatch.setattr(snapshot_holder, "start", no_holder)
    with pytest.raises(RuntimeError, match="holder could not start"):
        operations.cutover(shop.settings())
    assert not shop.writable("source")  # frozen: the cutover stopped half-way
    assert shop.identity("target") == "a"  # its sequences step had handed the identities to green
    lines: list[str] = []
    undo = operations.rollback(shop.settings(say=lines.append))
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
    journal = operations.cutover(shop.settings(sns=Sns(), topic_arn="arn:aws:sns:us-east-1:123456789012:alarms"))
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
        operations.rollback(settings)


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
        operations.cutover(shop.settings())
    assert shop.writable("source")
    assert Journal(journal.path, "cutover", steps.CUTOVER_STEPS).status == ABORTED
    assert operations.cutover(shop.settings()).status == DONE  # and the next one starts afresh, from the gates


def test_a_cutover_does_not_resume_while_its_rollback_is_under_way(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = shop.settings()
    assert operations.cutover(settings).status == DONE

    def stop(_run: Any, _result: Any) -> None:
        raise RuntimeError("killed in the middle of the rollback")

    monkeypatch.setattr(operations, "ROLLBACK", (*steps.ROLLBACK[:2], steps.Step("sequences", stop), *steps.ROLLBACK[3:]))
    with pytest.raises(RuntimeError, match="killed"):
        operations.rollback(settings)
    with pytest.raises(GatesFailed, match="a rollback of this cutover is under way"):
        operations.cutover(settings)
    monkeypatch.undo()
    back = operations.rollback(settings)
    assert back.status == DONE and shop.writable("source") and not shop.writable("target")
    assert Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS).status == "rolled back"
    again = operations.cutover(settings)  # a new cutover after the rollback starts from the gates
    assert again.status == DONE and again.data["steps"]["gates"]["attempts"] == 1


def test_undoing_an_unswitched_cutover_resumes_forward_where_its_slot_is(shop: Shop) -> None:
    backend = shop.backend()
    backend.stop_forward()
    with psycopg.connect(shop.source_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO shop.customer (email) VALUES ('late@example.test')")  # not applied yet
        before = slot_position(conn, FORWARD_NAME)[0]  # type: ignore[index]
        assert backend.resume_forward(conn, None) == before
    wait(lambda: shop_has_customer(shop, "late@example.test"), "the change made while stopped to arrive")


def _killed_at(step_name: str) -> tuple[steps.Step, ...]:
    """The cutover's table with ``step_name`` replaced by a kill (its work not done, the journal left running)."""

    def killed(_run: Any, _result: Any) -> None:
        raise RuntimeError(f"killed in {step_name}")

    return tuple(steps.Step(s.name, killed) if s.name == step_name else s for s in steps.CUTOVER)


def test_a_resumed_cutover_checks_its_gates_again_and_refuses_when_one_became_false(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operations, "CUTOVER", _killed_at("sequences"))
    with pytest.raises(RuntimeError, match="killed in sequences"):
        operations.cutover(shop.settings())
    monkeypatch.undo()
    lines: list[str] = []
    a_day_later = shop.settings(say=lines.append, clock=lambda: time.time() + 25 * 3600)  # the verify record aged
    with pytest.raises(GatesFailed, match="recent clean verify"):
        operations.cutover(a_day_later)
    journal = Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS)
    assert not journal.started("sequences") or not journal.done("sequences")
    assert journal.data["gate_checks"][-1]["failed"] == ["recent clean verify"]
    assert any(line.startswith("resuming the cutover") and "next: sequences" in line for line in lines), lines
    assert any("gate FAIL recent clean verify" in line for line in lines), lines
    assert not shop.writable("target")  # nothing changed: green still closed
    assert operations.cutover(shop.settings()).status == DONE  # the gates hold again: it resumes


def test_a_gate_failing_inside_the_freeze_sends_the_next_run_through_the_gates(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inventory_migration.migrationctl.cutover.gates import Gate

    monkeypatch.setattr(sides, "freeze_gates", lambda *_a, **_k: [Gate("a new writer", False, "batch_job: grant")])
    with pytest.raises(GatesFailed, match="a new writer"):
        operations.cutover(shop.settings())
    journal = Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS)
    assert journal.data["steps"]["freeze"]["status"] == "failed" and "GatesFailed" in journal.data["steps"]["freeze"]["error"]
    assert shop.writable("source")
    monkeypatch.undo()
    lines: list[str] = []
    assert operations.cutover(shop.settings(say=lines.append)).status == DONE
    assert any("gate ok   every writer on the source named" in line for line in lines), lines


def test_a_cutover_killed_inside_its_switch_then_rolled_back_lets_the_next_cutover_pass(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = steps.open_to_apps

    def open_then_die(s: Any, conn: Any, record: Any) -> None:
        original(s, conn, record)
        raise RuntimeError("killed inside switch")

    monkeypatch.setattr(steps, "open_to_apps", open_then_die)
    with pytest.raises(RuntimeError, match="killed inside switch"):
        operations.cutover(shop.settings())
    monkeypatch.undo()
    assert operations.rollback(shop.settings()).status == DONE
    shop.insert("source")
    shop.caught_up()
    with psycopg.connect(shop.target_dsn, autocommit=True) as target:
        wait(shop.backend().forward_running, "forward replication")
        assert shop.backend().apply_problems(target) == []
    again = operations.cutover(shop.settings())
    assert again.status == DONE and again.data["steps"]["verify"]["result"]["equal"] is True


def test_the_way_back_slot_is_created_only_after_the_forward_replication_is_fenced(shop: Shop) -> None:
    journal = operations.cutover(shop.settings())
    order = list(journal.data["steps"])
    assert order.index("fence-forward") < order.index("way-back") < order.index("switch")
    assert journal.data["steps"]["fence-forward"]["result"]["forward_running"] is False


def test_sequences_that_did_not_move_stop_the_cutover_before_the_switch(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory_migration.migrationctl.cutover.settings import PostconditionFailed

    shop.insert("source")
    monkeypatch.setattr(sides, "sync_sequences", lambda *_a: 0)  # a sync that silently did nothing
    with pytest.raises(PostconditionFailed, match="after sequences, every Aurora sequence past on-prem's does not hold"):
        operations.cutover(shop.settings())
    assert not shop.writable("target")  # stopped before green opened
    monkeypatch.undo()
    assert operations.cutover(shop.settings()).status == DONE  # the re-run repeats the step, and it holds


def test_a_green_the_applications_cannot_write_stops_the_switch(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory_migration.migrationctl.cutover.settings import PostconditionFailed

    monkeypatch.setattr(steps, "open_to_apps", lambda *_a: None)  # an opening that granted nothing
    with pytest.raises(PostconditionFailed, match="after opening green, the applications can write on Aurora does not hold"):
        operations.cutover(shop.settings())
    journal = Journal(shop.state_dir / "journal" / "cutover.json", "cutover", steps.CUTOVER_STEPS)
    assert (
        journal.data["steps"]["switch"]["status"] == "failed"
        and "PostconditionFailed" in journal.data["steps"]["switch"]["error"]
    )
    monkeypatch.undo()
    assert operations.cutover(shop.settings()).status == DONE and shop.writable("target")


def test_an_early_rollback_without_a_way_back_is_refused_before_green_is_frozen(shop: Shop) -> None:
    assert operations.cutover(shop.settings()).status == DONE

    class NotDeployed(NativeReplication):
        def reverse_running(self) -> bool:
            return False

        def way_back_missing(self, start_lsn: str) -> str:
            return f"the reverse DMS task is not deployed yet: deploy the cutover phase (start {start_lsn})"

    early = shop.settings(backend=NotDeployed(source_dsn=shop.source_dsn, target_dsn=shop.target_dsn))
    with pytest.raises(GatesFailed, match="way back ready: the reverse DMS task is not deployed yet"):
        operations.rollback(early)
    assert shop.writable("target") and not shop.writable("source")  # nothing changed: green still serves
    assert operations.rollback(shop.settings()).status == DONE  # once it is there, the rollback runs


def _release_at_the_first_fence(monkeypatch: pytest.MonkeyPatch, release: Callable[[], None]) -> None:
    """The held apply released 1 s after the next fence row is written, however long the steps before it take."""
    from inventory_migration.migrationctl.pg import fence

    write_fence = fence.write

    def write_then_release_later(*args: Any, **kwargs: Any) -> str:
        threading.Timer(1.0, release).start()
        return write_fence(*args, **kwargs)

    monkeypatch.setattr(fence, "write", write_then_release_later)


def test_a_cutover_waits_for_the_forward_replication_to_catch_up_before_blue_is_frozen(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forward task a rollback resumed starts with blue's backlog, and the lag gate reads a metric that lags. The
    cutover waits for the replication with blue still writable (a fence row written on-prem, applied on Aurora within
    5 s), then freezes. Not caught up in time: nothing frozen, blue still serves."""
    with stalled_apply(shop.source_dsn, shop.target_dsn) as release:  # the forward apply held on a locked Aurora row
        with pytest.raises(
            GatesFailed, match=r"the forward replication caught up: no fence row written before the freeze was applied"
        ):
            operations.cutover(shop.settings(elbv2=None, catch_up_timeout=1.0))
        assert shop.writable("source") and not shop.writable("target")  # nothing frozen: blue still serves
        _release_at_the_first_fence(monkeypatch, release)
        journal = operations.cutover(shop.settings(elbv2=None, catch_up_timeout=30.0))
    assert journal.status == DONE
    assert journal.data["steps"]["freeze"]["result"]["caught_up_seconds"] >= 0.9


def test_a_rollback_waits_for_the_way_back_to_catch_up_before_green_is_frozen(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DMS reverse task starts after the forward task's stop, tens of seconds of green writes behind. The rollback
    waits for it with green still writable (a fence row written there, applied on-prem), then freezes: the drain under
    the freeze waits for the last moments only. Not caught up in time: nothing frozen, green still serves."""
    assert operations.cutover(shop.settings(elbv2=None)).status == DONE
    with stalled_apply(shop.target_dsn, shop.source_dsn) as release:  # the way back held on a locked on-prem row
        with pytest.raises(
            GatesFailed, match=r"the way back caught up: no fence row written before the freeze was applied within 5 s"
        ):
            operations.rollback(shop.settings(elbv2=None, catch_up_timeout=1.0))
        assert shop.writable("target") and not shop.writable("source")  # nothing frozen: green still serves
        _release_at_the_first_fence(monkeypatch, release)
        journal = operations.rollback(shop.settings(elbv2=None, catch_up_timeout=30.0))
    assert journal.status == DONE
    assert journal.data["steps"]["freeze-green"]["result"]["caught_up_seconds"] >= 0.9
