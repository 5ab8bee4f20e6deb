"""The journal's facts (migrationctl/cutover/facts.py) and the step tables' declarations of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inventory_migration.migrationctl.cutover import facts, operations, steps
from inventory_migration.migrationctl.cutover.facts import FACTS, UnknownFact
from inventory_migration.migrationctl.cutover.journal import Journal, MissingFact


def cutover_journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "cutover.json", "cutover", steps.JOURNAL_WRITES["cutover"])


def test_the_journal_refuses_a_fact_nobody_declared(tmp_path: Path) -> None:
    with pytest.raises(UnknownFact, match="no fact 'frozen_lsn'"):
        cutover_journal(tmp_path).record(frozen_lsn="0/1")


def test_the_journal_refuses_a_fact_of_the_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="'reverse_start_lsn' must be str"):
        cutover_journal(tmp_path).put(facts.REVERSE_START_LSN, 42)  # type: ignore[arg-type]


def test_a_step_may_record_only_the_facts_it_declares(tmp_path: Path) -> None:
    journal = cutover_journal(tmp_path)
    refused = pytest.raises(UnknownFact, match="step 'drain' does not declare that it writes 'reverse_start_lsn'")
    with refused, journal.step("drain"):
        journal.put(facts.REVERSE_START_LSN, "0/1")
    assert journal.get(facts.REVERSE_START_LSN) is None


def test_a_step_records_what_it_declares_and_the_operation_its_own_facts(tmp_path: Path) -> None:
    journal = cutover_journal(tmp_path)
    with journal.step("way-back"):
        journal.record({facts.REVERSE_START_LSN: "0/1", facts.SNAPSHOTS: {"source": "s", "target": "t"}})
        journal.record({facts.ABORT_REASON: "a journal-level fact"})
    journal.put(facts.SWITCHED_AT, 12)  # outside any step; an int is a float
    again = cutover_journal(tmp_path)
    assert (again.require(facts.REVERSE_START_LSN), again.get(facts.SWITCHED_AT)) == ("0/1", 12)


def test_a_missing_fact_is_named(tmp_path: Path) -> None:
    with pytest.raises(MissingFact, match="'forward_resume_lsn'"):
        Journal(tmp_path / "rollback.json", "rollback", steps.JOURNAL_WRITES["rollback"]).require(facts.FORWARD_RESUME_LSN)


def unwritten_reads(table: tuple[steps.Step, ...], before: frozenset[str] = frozenset()) -> list[str]:
    """Facts a step reads that no earlier step of ``table`` (nor ``before``) writes."""
    written = set(before)
    problems = []
    for step in table:
        problems += [f"{step.name} reads {f.name}" for f in step.reads if f.name not in written and f not in step.writes]
        written |= {f.name for f in step.writes}
    return problems


def test_every_fact_a_step_reads_an_earlier_step_writes() -> None:
    cutover_writes = frozenset(f.name for step in steps.CUTOVER for f in step.writes)
    assert unwritten_reads(steps.CUTOVER) == []
    assert unwritten_reads(steps.ROLLBACK, before=cutover_writes) == []
    assert unwritten_reads(steps.ABORT, before=cutover_writes) == []


def test_the_reads_check_sees_a_fact_read_too_early() -> None:
    early = (steps.Step("a", lambda run, result: None, reads=(facts.FENCE,)), steps.Step("b", lambda run, result: None))
    assert unwritten_reads(early) == ["a reads fence"]


def test_every_declared_fact_is_written_by_a_step_or_the_operation() -> None:
    written = {f.name for table in (steps.CUTOVER, steps.ROLLBACK, steps.ABORT) for step in table for f in step.writes}
    assert set(FACTS) - written - {f.name for f in facts.JOURNAL_LEVEL} == set()


def test_no_step_is_special_cased_by_name() -> None:
    """The operations find the gate step and the step that opens the target by what the table says of them."""
    source = "".join(Path(m.__file__ or "").read_text(encoding="utf-8") for m in (steps, operations))
    outside_tables = re.sub(r"^(CUTOVER|ROLLBACK|ABORT): tuple\[Step, \.\.\.\] = \(.*?^\)", "", source, flags=re.S | re.M)
    names = {step.name for table in (steps.CUTOVER, steps.ROLLBACK, steps.ABORT) for step in table}
    special = [n for n in names if re.search(rf'(done|started|step)\("{re.escape(n)}"\)|[=!]= "{re.escape(n)}"', outside_tables)]
    assert special == []
    assert (steps.GATE_STEP, steps.OPENS_TARGET) == ("gates", "switch")
