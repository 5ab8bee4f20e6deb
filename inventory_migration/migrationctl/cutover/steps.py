"""The cutover's steps (:data:`CUTOVER`), and the step names of all three tables: the switch from on-prem (blue) to
Aurora (green) as a resumable, journaled step table, with seconds of write unavailability, nothing lost, and parity
proven at the switch point. Which table runs, and when, is :mod:`.operations`; the way back is :mod:`.rollback_steps`,
what both share :mod:`.sides`, the loop :mod:`.step_table`. Each step checks its outcome afterwards
(:mod:`.postconditions`): a promise that does not hold stops the run with its reason.

1. **gates** — nothing changes unless all pass (:mod:`.gates`); every run, fresh or resumed, evaluates the gates of
   every step still to run (:attr:`.step_table.Step.needs`).
2. **freeze** the source: every write path but the exempt roles' closed, checked by asking PostgreSQL who can still
   write (:mod:`.freeze`); the freeze LSN is recorded.
3. **drain**: wait until the fence row written after the freeze is readable on the target, then ask the replication
   whether it applied everything (no table suspended or in error, no apply exception this run). A timeout or a
   problem aborts: the source is unfrozen and nothing else has changed.
4. **fence-forward**: the forward replication can land nothing more on green. A replication that stops at once
   (native) is stopped; DMS, whose stop takes tens of seconds, has its user on Aurora fenced by privilege instead
   (:mod:`.applier`) — milliseconds, and proven by asking PostgreSQL what that user can still write. Nothing written
   on-prem from here can travel to green and back through the way back's slot (created only after).
5. **sequences** to the source's positions (``sequences sync``), and GENERATED ALWAYS identity columns handed over:
   ALWAYS on the target, BY DEFAULT on the source, which the way back writes (:mod:`..pg.identities`).
6. **way-back**: the reverse slot is created on the target (its consistent point is the reverse start position), and a
   detached holder exports and holds a snapshot of each side — both before the first green write.
7. **switch**: the target opened for the application roles, the listener's weights to green (exactly as the
   ``cutover`` phase declares them). The write unavailability ends here.
8. **stop-forward**, off the critical path: the forward task stopped (DMS: its login given back, as the reverse task
   reads Aurora as the same user; its writes stay fenced until forward replication resumes).
9. **start-reverse**: the way back started from the recorded position.
10. **verify** at the switch point: every connection reads the held snapshots; a difference notifies the alarm topic
    and names the rollback decision (:mod:`.switch_point`).
"""

from __future__ import annotations

from typing import Any

from inventory_migration.migrationctl.cutover import applier, facts, switch_point
from inventory_migration.migrationctl.cutover import postconditions as post
from inventory_migration.migrationctl.cutover.gates import Check
from inventory_migration.migrationctl.cutover.rollback_steps import ABORT, ROLLBACK
from inventory_migration.migrationctl.cutover.settings import GatesFailed, PostconditionFailed
from inventory_migration.migrationctl.cutover.sides import (
    SIDES,
    catch_up,
    drain,
    finish_abort,
    freeze_side,
    hold_snapshots,
    open_to_apps,
    recorded,
    release_snapshots,
    sequences_to,
    set_weights,
    verify_at_snapshots,
)
from inventory_migration.migrationctl.cutover.step_table import Run, Step, pending_checks, run_steps, step_writes

__all__ = [
    "ABORT",
    "CUTOVER",
    "ROLLBACK",
    "SIDES",
    "Run",
    "Step",
    "finish_abort",
    "pending_checks",
    "release_snapshots",
    "run_steps",
]


def _record_gates(run: Run, result: dict[str, Any]) -> None:
    result["gates"] = {g.name: g.detail for g in run.gate_results}


def _freeze_blue(run: Run, result: dict[str, Any]) -> None:
    unfenceable = applier.problems(run.settings, run.target)  # before anything changes: the switch must be able to fence
    if unfenceable:
        raise GatesFailed("; ".join(unfenceable))
    if run.settings.catch_up_timeout > 0:  # the lag gate reads a metric; this reads the effect (a resumed task's backlog)
        catch_up(run, left=run.source, other=run.target, side="source", what="the forward replication", result=result)
    result["freeze_lsn"] = freeze_side(run, run.source, "source", facts.FREEZE_LSN, result)


def _forward_drain(run: Run, result: dict[str, Any]) -> None:
    drain(
        run,
        result,
        left=run.source,
        other=run.target,
        slot=lambda: run.settings.backend.resolve_forward_slot(run.source),
        problems=lambda: run.settings.backend.apply_problems(run.target),
        what="forward replication",
        side="source",
    )


def _sequences_to_green(run: Run, result: dict[str, Any]) -> None:
    sequences_to(run, result, "target")


def _way_back(run: Run, result: dict[str, Any]) -> None:
    s = run.settings
    reverse_lsn = s.backend.prepare_reverse(run.target)
    snapshots = hold_snapshots(run)
    run.journal.record({facts.REVERSE_START_LSN: reverse_lsn, facts.SNAPSHOTS: snapshots})
    result.update(reverse_start_lsn=reverse_lsn, snapshots=snapshots)
    s.say(f"way back: slot {s.backend.reverse_slot} on the target from {reverse_lsn}; switch-point snapshots held")


def _fence_forward(run: Run, result: dict[str, Any]) -> None:
    """The forward replication has applied everything before the freeze (drain); from here it can land nothing on
    green. Only then is the way back's slot created (:func:`_way_back`), so no change — an exempt role's write on-prem
    after the fence included — can be applied on green, captured by that slot and sent back: nothing travels in a
    circle. What an exempt role writes on-prem from here on stays there, and the switch-point verify names its table."""
    s = run.settings
    if applier.by_privilege(s):
        applier.fence(s, run.journal, run.target, result)
        return
    s.backend.stop_forward()
    if s.backend.forward_running():
        raise PostconditionFailed("after fence-forward, the forward replication still runs")
    result["forward_running"] = False
    s.say(f"forward replication stopped ({s.backend.name}): it applies nothing more on green")


def _forward_fenced(run: Run) -> str:
    """Why the forward replication could land something on green now (empty: it cannot)."""
    s = run.settings
    if applier.by_privilege(s):
        return applier.holds(s, run.target)
    return "the forward replication runs again since it was stopped: stop it" if s.backend.forward_running() else ""


def _switch_to_green(run: Run, result: dict[str, Any]) -> None:
    s = run.settings
    unfenced = _forward_fenced(run)  # a run resumed hours later: someone restarted the task or gave its grants back
    if unfenced:
        raise GatesFailed(f"{unfenced}, then run cutover again")
    open_to_apps(s, run.target, recorded(run.journal, "source"))
    post.holds("opening green", "the applications can write on Aurora", post.apps_cannot_write(s, run.target))
    post.holds("opening green", "the forward replication lands nothing on green", [u for u in [_forward_fenced(run)] if u])
    set_weights(run, 0, 100)
    post.holds("the weights", "all traffic on green", post.weights_not(run.settings, 0, 100))
    run.journal.put(facts.SWITCHED_AT, s.clock())
    s.say("switch: green serves")


def _stop_forward(run: Run, result: dict[str, Any]) -> None:
    """Off the critical path: green already serves, and the fence keeps whatever the task still holds off it."""
    s = run.settings
    s.backend.stop_forward()
    post.holds("stop-forward", "the forward replication stopped", ["it still runs"] if s.backend.forward_running() else [])
    applier.release_login(run.journal, run.target)
    result["forward_running"] = False
    s.say(f"forward replication stopped ({s.backend.name})")


def _start_reverse(run: Run, result: dict[str, Any]) -> None:
    result["reverse"] = run.settings.backend.start_reverse(run.journal.require(facts.REVERSE_START_LSN))
    run.settings.say(f"way back: {result['reverse']}")


def _switch_point_verify(run: Run, result: dict[str, Any]) -> None:
    verify_at_snapshots(
        run, result, point="switch-point", instead="run `migrationctl verify` once drained", alarm=switch_point.CUTOVER_ALARM
    )


CUTOVER: tuple[Step, ...] = (
    Step("gates", _record_gates, checks_gates=True),
    Step(
        "freeze",
        _freeze_blue,
        writes=(facts.FREEZE_SOURCE, facts.FREEZE_LSN, facts.FROZEN_AT),
        needs=(Check.LAG, Check.FREEZE, Check.PRIVILEGES, Check.FORWARD_WRITES),
    ),
    Step(
        "drain",
        _forward_drain,
        reads=(facts.FREEZE_SOURCE,),
        writes=(facts.FENCE,),
        needs=(Check.REPLICATION, Check.FORWARD_WRITES),
    ),
    Step("fence-forward", _fence_forward, writes=(facts.APPLIER_FENCE,)),
    Step("sequences", _sequences_to_green, needs=(Check.SEQUENCES,)),
    Step(
        "way-back",
        _way_back,
        reads=(facts.SNAPSHOTS,),
        writes=(facts.REVERSE_START_LSN, facts.SNAPSHOTS),
        needs=(Check.WAY_BACK,),
    ),
    Step(
        "switch",
        _switch_to_green,
        reads=(facts.FREEZE_SOURCE, facts.APPLIER_FENCE),
        writes=(facts.SWITCHED_AT,),
        opens_target=True,
        needs=(  # not REPLICATION: the drain proved it, and the fenced task's refused writes are no new problem
            Check.ALARM,
            Check.POST_DATA,
            Check.VERIFY,
            Check.PRIVILEGES,
            Check.TARGET_CLOSED,
            Check.BLUE,
        ),
    ),
    Step("stop-forward", _stop_forward, reads=(facts.APPLIER_FENCE,)),
    Step("start-reverse", _start_reverse, reads=(facts.REVERSE_START_LSN,)),
    Step("verify", _switch_point_verify, reads=(facts.SNAPSHOTS,)),
)


CUTOVER_STEPS = tuple(step.name for step in CUTOVER)
ROLLBACK_STEPS = tuple(step.name for step in ROLLBACK)
ABORT_STEPS = tuple(step.name for step in ABORT)
JOURNAL_WRITES = {"cutover": step_writes(CUTOVER), "rollback": step_writes(ROLLBACK, ABORT)}
JOURNAL_STEPS = {operation: tuple(writes) for operation, writes in JOURNAL_WRITES.items()}
"""Each operation's steps and the facts each may record: what its journal accepts."""
GATE_STEP = next(step.name for step in CUTOVER if step.checks_gates)
"""The cutover's step that records the gates' verdict."""
OPENS_TARGET = next(step.name for step in CUTOVER if step.opens_target)
"""The cutover's step from whose start green may hold writes."""
"""The names each operation's journal accepts (a rollback's journal records a rollback or the undo of a cutover)."""
