"""The machinery of an operation's step table: one :class:`Run` under way, the :class:`Step` rows, and the loop that
runs a table with its journal (a step already done is skipped, so a re-run after a kill resumes with the first
unfinished one) — and which gates a run evaluates before its steps (:func:`pending_checks`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from inventory_migration.migrationctl.cutover.facts import Fact
from inventory_migration.migrationctl.cutover.gates import UNTIL_STARTED, Check, Gate
from inventory_migration.migrationctl.cutover.journal import Journal
from inventory_migration.migrationctl.cutover.settings import Settings


@dataclasses.dataclass
class Run:
    """One cutover or rollback under way: its settings, journal and connections, and what the steps share."""

    settings: Settings
    journal: Journal
    source: psycopg.Connection
    target: psycopg.Connection
    gate_results: list[Gate] = dataclasses.field(default_factory=list)
    cut: Journal | None = None
    """A rollback's view of the cutover it undoes."""


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of an operation's table: its name (the journal's), its work, and the facts it reads and writes."""

    name: str
    do: Callable[[Run, dict[str, Any]], None]
    """The step's work; it fills the result dict the journal keeps."""
    reads: tuple[Fact[Any], ...] = ()
    """Facts an earlier step (or, for the way back, the cutover) recorded, which this one needs."""
    writes: tuple[Fact[Any], ...] = ()
    """Facts this step records; the journal refuses any other while it runs."""
    checks_gates: bool = False
    """The step that records the gates' verdict: run only after every gate passed (:func:`cutover`)."""
    opens_target: bool = False
    """The step from whose start green may hold writes: an undo before it is an abort, after it a rollback."""
    needs: tuple[Check, ...] = ()
    """The gates this step depends on: every run — fresh or resumed — evaluates them while the step is still to run
    (:func:`pending_checks`)."""


def pending_checks(steps: Sequence[Step], journal: Journal) -> list[Check]:
    """The gate groups to evaluate before this run's steps: those of every step not yet done (a step begun and
    interrupted is resumed, so what it depends on is checked again), except the groups that describe the state before
    a step it has already begun to change (:data:`.gates.UNTIL_STARTED`); and always whether a rollback is under way."""
    wanted = {Check.ROLLBACK}
    for step in steps:
        if not journal.done(step.name):
            wanted |= {c for c in step.needs if not (c in UNTIL_STARTED and journal.started(step.name))}
    return [c for c in Check if c in wanted]


def step_writes(*tables: Sequence[Step]) -> dict[str, tuple[str, ...]]:
    """Step name -> the fact names it may record, over ``tables`` (one journal may hold the steps of two tables)."""
    out: dict[str, tuple[str, ...]] = {}
    for table in tables:
        for step in table:
            out[step.name] = tuple(dict.fromkeys(out.get(step.name, ()) + tuple(f.name for f in step.writes)))
    return out


def run_steps(steps: Sequence[Step], run: Run) -> None:
    """Run every step of the table that the journal does not have as done, in order."""
    for step in steps:
        if not run.journal.done(step.name):
            with run.journal.step(step.name) as result:
                step.do(run, result)
