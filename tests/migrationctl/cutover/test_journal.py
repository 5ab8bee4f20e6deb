"""The cutover journal (migrationctl/cutover/journal.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory_migration.migrationctl.cutover import steps
from inventory_migration.migrationctl.cutover.journal import KILL_ENV, Journal


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


def test_the_kill_hook_is_inert_unless_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KILL_ENV, "rollback:freeze")
    journal = Journal(tmp_path / "j.json", "cutover", steps.CUTOVER_STEPS)
    with journal.step("freeze"):
        pass
    assert journal.done("freeze")
