"""The rollback's steps (:data:`ROLLBACK`, from ``cutover`` / ``rollback-window``): freeze green, drain the way back
to that freeze point, fence the way back (its user on-prem can write nothing: :mod:`.applier`; or, with a backend that
stops at once or a user that cannot be fenced, stop it), sequences target -> source (and identity columns handed
back), weights to blue, advance the forward slot to the current source position and hold a snapshot of each side there
(the switch-back point), unfreeze blue, stop the way back (off the critical path; its user's writes given back), resume
forward replication from that position (not a new full load: parity held at both
switches, and a 500 GB load does not fit the window), and verify both sides as of the switch-back point while blue
serves (a difference notifies the alarm topic, naming the tables). A rollback of a cutover that never switched runs
:data:`ABORT` instead: it undoes it."""

from __future__ import annotations

from typing import Any

from inventory_migration.migrationctl.cutover import applier, facts, switch_point
from inventory_migration.migrationctl.cutover import postconditions as post
from inventory_migration.migrationctl.cutover.gates import privilege_gates
from inventory_migration.migrationctl.cutover.settings import GatesFailed
from inventory_migration.migrationctl.cutover.sides import (
    catch_up,
    close_to_apps,
    drain,
    freeze_side,
    give_back,
    hold_snapshots,
    identities_to,
    recorded,
    release_snapshots,
    sequences_to,
    set_weights,
    verify_at_snapshots,
)
from inventory_migration.migrationctl.cutover.step_table import Run, Step
from inventory_migration.migrationctl.pg.slots import advance_slot, sync_point


def _freeze_green(run: Run, result: dict[str, Any]) -> None:
    # Before green is frozen: a rollback that cannot finish must not start — a way back that is not deployed yet (an
    # early rollback, before the cutover phase) is said at once, not found by a drain that waits for nothing.
    assert run.cut is not None
    backend = run.settings.backend
    absent = "" if backend.reverse_running() else backend.way_back_missing(run.cut.require(facts.REVERSE_START_LSN))
    if absent:
        raise GatesFailed(f"way back ready: {absent}")
    missing = [g for g in privilege_gates(run.settings, run.source, run.target) if not g.ok]
    if missing:
        raise GatesFailed("; ".join(f"{g.name}: {g.detail}" for g in missing))
    release_snapshots(run.settings)
    if backend.reverse_running() and run.settings.catch_up_timeout > 0:  # not started yet: it starts in the drain
        catch_up(run, left=run.target, other=run.source, side="target", what="the way back", result=result)
    freeze_side(run, run.target, "target", facts.GREEN_FREEZE_LSN, result)


def _reverse_drain(run: Run, result: dict[str, Any]) -> None:
    backend = run.settings.backend
    backend.stop_forward()  # before the way back runs: never both directions at once (a cutover killed in its switch)
    applier.release_login(run.cut, run.target)  # the reverse task reads Aurora as the forward task's user
    if not backend.reverse_running():
        assert run.cut is not None
        result["started"] = backend.start_reverse(run.cut.require(facts.REVERSE_START_LSN))
    drain(
        run,
        result,
        left=run.target,
        other=run.source,
        slot=lambda: backend.reverse_slot,
        problems=lambda: backend.reverse_apply_problems(run.source),
        what="the way back",
        side="target",
    )


def _sequences_to_blue(run: Run, result: dict[str, Any]) -> None:
    sequences_to(run, result, "source")


def _weights_to_blue(run: Run, _result: dict[str, Any]) -> None:
    set_weights(run, 100, 0)
    post.holds("weights-blue", "all traffic on blue", post.weights_not(run.settings, 100, 0))


def _forward_position(run: Run, result: dict[str, Any]) -> None:
    # Here on-prem equals Aurora: forward replication resumes from this point, so nothing the way back wrote is sent
    # again and nothing written on-prem from now on is missed. Both sides are frozen: the switch-back point, held as a
    # snapshot of each for the verify that runs once blue serves.
    s = run.settings
    backend = s.backend
    backend.stop_forward()  # already stopped unless the cutover was interrupted inside its switch
    position = advance_slot(run.source, backend.resolve_forward_slot(run.source), sync_point(run.source))
    held = hold_snapshots(run)
    run.journal.record({facts.FORWARD_RESUME_LSN: position, facts.SNAPSHOTS: held})
    result.update(position=position, snapshots=held)


def _switch_back_verify(run: Run, result: dict[str, Any]) -> None:
    """Both sides as of the switch back, compared once blue serves: the way back applied everything green took."""
    verify_at_snapshots(
        run,
        result,
        point="switch-back",
        instead="run `migrationctl verify` against the frozen Aurora and on-prem once no application writes on-prem "
        "tables it did not write before, or compare the tables you suspect with `migrationctl verify --tables …`",
        alarm=switch_point.ROLLBACK_ALARM,
    )


def _unfreeze_blue(run: Run, _result: dict[str, Any]) -> None:
    s = run.settings
    if run.journal.get(facts.REVERSE_FENCE):  # a run resumed later: the fence must still hold before blue opens
        post.holds("unfreeze-blue", "the way back lands nothing on-prem", _reverse_unfenced(run))
    give_back(run.source, recorded(run.cut, "source"))  # blue as it was before the cutover froze it
    post.holds("unfreeze-blue", "the applications can write on-prem", post.apps_cannot_write(s, run.source))
    if run.journal.get(facts.REVERSE_FENCE):
        post.holds("unfreeze-blue", "the way back lands nothing on-prem", _reverse_unfenced(run))
    run.journal.put(facts.SWITCHED_AT, run.settings.clock())
    run.settings.say("switch: blue serves again")


def _reverse_unfenced(run: Run) -> list[str]:
    left = applier.holds(run.settings, run.source, who=applier.REVERSE)
    return [left] if left else []


def _fence_reverse(run: Run, result: dict[str, Any]) -> None:
    """The way back has applied everything green took (reverse drain); from here it can land nothing on-prem. Fenced
    by privilege when its stop is slow (DMS), so the stop does not count as unavailability; else stopped here."""
    s = run.settings
    unfenceable = applier.problems(s, run.source, applier.REVERSE)
    if applier.by_privilege(s) and not unfenceable:
        applier.fence(s, run.journal, run.source, result, applier.REVERSE)
        return
    if applier.by_privilege(s):
        result["stopped_instead"] = "; ".join(unfenceable)
        s.say(f"the way back is stopped, not fenced ({result['stopped_instead']}): its stop counts as unavailability")
    _stop_way_back(run)


def _stop_way_back(run: Run) -> None:
    run.settings.backend.stop_reverse(run.target)
    post.holds("stop-reverse", "the way back stopped", ["it still runs"] if run.settings.backend.reverse_running() else [])


def _stop_reverse(run: Run, _result: dict[str, Any]) -> None:
    """Off the critical path (blue serves): the way back stopped and its slot dropped; its user's writes on-prem given
    back for the next cutover's way back."""
    _stop_way_back(run)
    applier.give_back(run.journal, run.source, applier.REVERSE)
    run.settings.say("the way back stopped")


def _resume_forward(run: Run, result: dict[str, Any]) -> None:
    applier.give_back(run.cut, run.target)  # the cutover fenced the forward task's writes on Aurora: they resume now
    result["position"] = run.settings.backend.resume_forward(run.source, run.journal.require(facts.FORWARD_RESUME_LSN))
    post.holds("resume-forward", "the forward replication runs", [] if run.settings.backend.forward_running() else ["stopped"])
    run.settings.say(f"forward replication resumed from {result['position']}")


ROLLBACK: tuple[Step, ...] = (
    Step(
        "freeze-green",
        _freeze_green,
        reads=(facts.REVERSE_START_LSN,),
        writes=(facts.FREEZE_TARGET, facts.GREEN_FREEZE_LSN, facts.FROZEN_AT),
    ),
    Step("reverse-drain", _reverse_drain, reads=(facts.FREEZE_TARGET, facts.REVERSE_START_LSN), writes=(facts.FENCE,)),
    Step("fence-reverse", _fence_reverse, writes=(facts.REVERSE_FENCE,)),
    Step("sequences", _sequences_to_blue),
    Step("weights-blue", _weights_to_blue),
    Step("forward-position", _forward_position, reads=(facts.SNAPSHOTS,), writes=(facts.FORWARD_RESUME_LSN, facts.SNAPSHOTS)),
    Step("unfreeze-blue", _unfreeze_blue, reads=(facts.FREEZE_SOURCE, facts.REVERSE_FENCE), writes=(facts.SWITCHED_AT,)),
    Step("stop-reverse", _stop_reverse, reads=(facts.REVERSE_FENCE,)),
    Step("resume-forward", _resume_forward, reads=(facts.FORWARD_RESUME_LSN,)),
    Step("verify", _switch_back_verify, reads=(facts.SNAPSHOTS,)),
)

# --------------------------------------------------------------------------------------------- undo of an unswitched cutover


def _close_green(run: Run, _result: dict[str, Any]) -> None:
    close_to_apps(run.settings, run.target, recorded(run.cut, "source"))


def _release_way_back(run: Run, _result: dict[str, Any]) -> None:
    release_snapshots(run.settings)
    run.settings.backend.stop_reverse(run.target)


def _forward_running_again(run: Run, result: dict[str, Any]) -> None:
    # The cutover never switched: nothing of green has to be skipped, and whatever the forward replication has not
    # applied yet must still be. It resumes from its own slot's position, never from "now".
    identities_to(run, result, "source")  # the cutover's sequences step may have handed them to green
    applier.give_back(run.cut, run.target)  # its fence-forward step may have fenced the forward task's writes
    if not run.settings.backend.forward_running():
        result["position"] = run.settings.backend.resume_forward(run.source, None)


def _unfreeze_source(run: Run, _result: dict[str, Any]) -> None:
    give_back(run.source, recorded(run.cut, "source"))


ABORT: tuple[Step, ...] = (
    Step("close-green", _close_green, reads=(facts.FREEZE_SOURCE,)),
    Step("weights-blue", _weights_to_blue),
    Step("stop-reverse", _release_way_back),
    Step("resume-forward", _forward_running_again),
    Step("unfreeze-blue", _unfreeze_source, reads=(facts.FREEZE_SOURCE,)),
)
