"""``migrationctl cutover`` and ``rollback`` as operations: which journal to continue, whether the gates let a cutover
begin, and which step table runs (:mod:`.steps`): the cutover, the rollback of a switched cutover, or the undo
(abort) of one that never switched.
"""

from __future__ import annotations

from inventory_migration.migrationctl.cutover import facts
from inventory_migration.migrationctl.cutover.gates import gates
from inventory_migration.migrationctl.cutover.journal import ABORTED, ABORTING, DONE, FINISHED, ROLLED_BACK, RUNNING, Journal
from inventory_migration.migrationctl.cutover.settings import GatesFailed, Settings
from inventory_migration.migrationctl.cutover.sides import arm_snapshots, disarm_snapshots
from inventory_migration.migrationctl.cutover.steps import (
    ABORT,
    ABORT_STEPS,
    CUTOVER,
    CUTOVER_STEPS,
    JOURNAL_WRITES,
    OPENS_TARGET,
    ROLLBACK,
    ROLLBACK_STEPS,
    Run,
    finish_abort,
    pending_checks,
    release_snapshots,
    run_steps,
)
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.records import JOURNALS

JOURNAL_FILES = JOURNALS


def _journal(s: Settings, operation: str) -> Journal:
    return Journal(s.journal_dir / JOURNAL_FILES[operation], operation, JOURNAL_WRITES[operation])


def _cutover_journal(s: Settings) -> Journal:
    """The cutover journal to continue, or a new one when the last cutover finished, was aborted or rolled back."""
    journal = _journal(s, "cutover")
    if journal.path.exists() and journal.status in FINISHED and journal.status != DONE:
        journal.archive()
        journal = _journal(s, "cutover")
    return journal


def _rollback_journal(s: Settings, cut: Journal) -> Journal:
    """The rollback journal of *this* cutover (``cut``): a journal left by the rollback of an earlier cutover is
    archived, never taken for this one's; so is an aborted one (its freeze was undone: it starts over)."""
    journal = _journal(s, "rollback")
    if journal.path.exists() and (journal.get(facts.CUTOVER) != cut.data["started_at"] or journal.status == ABORTED):
        journal.archive()  # an earlier cutover's, or an aborted one whose freeze was undone: start over
        journal = _journal(s, "rollback")
    if journal.get(facts.CUTOVER) is None:
        journal.put(facts.CUTOVER, cut.data["started_at"])
    return journal


def _next(journal: Journal, names: tuple[str, ...]) -> str:
    return next((name for name in names if not journal.done(name)), "nothing")


def cutover(s: Settings, *, dry_run: bool = False) -> Journal:
    """Run (or resume) the cutover; returns its journal."""
    journal = _cutover_journal(s)
    if journal.status == ABORTING and not dry_run:
        finish_abort(s, journal)
    undo = _journal(s, "rollback")
    ours = journal.path.exists() and undo.path.exists() and undo.get(facts.CUTOVER) == journal.data["started_at"]
    if ours and undo.status in (RUNNING, ABORTING):
        raise GatesFailed(f"a rollback of this cutover is under way ({undo.path}): finish it with `migrationctl rollback`")
    if journal.status == DONE:
        s.say(f"cutover already done ({journal.path}); nothing to do")
        return journal
    with connection(s.source_dsn, "source") as source, connection(s.target_dsn, "target") as target:
        run = Run(s, journal, source, target)
        # Every run evaluates the gates of every step still to run: a resume hours later finds what changed since.
        checks = pending_checks(CUTOVER, journal)
        run.gate_results = gates(s, source, target, checks)
        resumed = journal.path.exists()
        if resumed:
            s.say(f"resuming the cutover ({journal.path}); next: {_next(journal, CUTOVER_STEPS)}; its gates again:")
        for g in run.gate_results:
            s.say(f"  gate {'ok  ' if g.ok else 'FAIL'} {g.name}: {g.detail}")
        if dry_run:
            if resumed:
                s.say(f"dry run: a cutover is under way ({journal.path}); next: {_next(journal, CUTOVER_STEPS)}")
            else:
                s.say("dry run: the steps would be " + " -> ".join(CUTOVER_STEPS[1:]) + "; nothing changed")
            return journal
        failed = [g for g in run.gate_results if not g.ok]
        if resumed:
            journal.note_gates([g.name for g in failed], checked=[c.value for c in checks])
        if failed:
            raise GatesFailed("; ".join(g.name for g in failed), resumed_at=_next(journal, CUTOVER_STEPS) if resumed else "")
        arm_snapshots(run)
        try:
            run_steps(CUTOVER, run)
        finally:
            disarm_snapshots(s)
        release_snapshots(s)
        journal.finish(DONE)
    s.say(
        f"cutover done. Record the reverse start position for the stack: dms.reverse_cdc_start_position = "
        f'"{journal.require(facts.REVERSE_START_LSN)}"; then migration_phase = "cutover", previous_phase = "cdc"; cdktf deploy'
    )
    return journal


def _close(cut: Journal, status: str) -> None:
    """The cutover is over once its undo begins: a later ``cutover`` starts anew, from the gates."""
    if cut.status != status:
        cut.finish(status)


def rollback(s: Settings, *, dry_run: bool = False) -> Journal:
    """Run (or resume) the way back; undoes a cutover that never switched."""
    cut = _journal(s, "cutover")
    if not cut.path.exists():
        raise UsageError(f"no cutover journal in {s.journal_dir}: nothing to roll back")
    if not cut.started(OPENS_TARGET):  # green never opened: nothing was written there
        return _abort(s, cut, dry_run=dry_run)
    journal = _rollback_journal(s, cut)
    if journal.status == ABORTING and not dry_run:
        finish_abort(s, journal)
    if journal.status == DONE:
        _close(cut, ROLLED_BACK)
        s.say(f"rollback already done ({journal.path}); nothing to do")
        return journal
    if dry_run:
        s.say("dry run: the steps would be " + " -> ".join(ROLLBACK_STEPS) + f"; next: {_next(journal, ROLLBACK_STEPS)}")
        return journal
    with connection(s.source_dsn, "source") as source, connection(s.target_dsn, "target") as target:
        run = Run(s, journal, source, target, cut=cut)
        arm_snapshots(run)
        try:
            run_steps(ROLLBACK, run)
        finally:
            disarm_snapshots(s)
        release_snapshots(s)  # after the whole table: a re-run after a kill in its verify still has them
        journal.finish(DONE)
        _close(cut, ROLLED_BACK)
    s.say('rollback done: set migration_phase = "cdc" (previous_phase = the deployed one) and cdktf deploy')
    return journal


def _abort(s: Settings, cut: Journal, *, dry_run: bool) -> Journal:
    """Undo a cutover that stopped before the switch: nothing was written on green."""
    journal = _rollback_journal(s, cut)
    if dry_run:
        s.say("dry run: the cutover never switched; the undo would be " + " -> ".join(ABORT_STEPS))
        return journal
    with connection(s.source_dsn, "source") as source, connection(s.target_dsn, "target") as target:
        _close(cut, ABORTED)
        run_steps(ABORT, Run(s, journal, source, target, cut=cut))
    journal.finish(DONE)
    s.say("the cutover was undone: blue serves, forward replication runs, nothing was written on green")
    return journal
