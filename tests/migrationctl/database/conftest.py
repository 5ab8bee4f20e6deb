"""Fixtures of this directory's tests (from test_migrationctl_db.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _checkpoints_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify's default checkpoints go under the working directory; keep them out of the repository."""
    from inventory_migration.migrationctl import records

    monkeypatch.setattr(records, "STATE_DIR", tmp_path / ".migrationctl")
