"""The comparison's plumbing: the batches handed to the pool, and the ``--resume`` progress file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.migrationctl.files import compare as fcmp
from inventory_migration.migrationctl.files.listing import Obj
from inventory_migration.migrationctl.files.report import FilesReport
from inventory_migration.migrationctl.files.tree import Entry

MIB = 1 << 20


def _batches(monkeypatch: pytest.MonkeyPatch, sizes: list[int]) -> tuple[list[list[int]], FilesReport]:
    """The file sizes of each batch :class:`fcmp._Checks` hands to the pool for files of ``sizes`` (checksum mode)."""
    seen: list[list[int]] = []

    def check_pair(s3: Any, bucket: str, root: Any, e: Entry, key: str, obj: Obj, o: Any, done: Any) -> Any:
        return fcmp._Outcome()

    def check_pairs(s3: Any, bucket: str, root: Any, pairs: list[tuple[Entry, str, Obj]], o: Any, done: Any) -> Any:
        seen.append([e.size for e, _, _ in pairs])
        return [check_pair(s3, bucket, root, e, k, obj, o, done) for e, k, obj in pairs]

    monkeypatch.setattr(fcmp, "_check_pairs", check_pairs)
    options = fcmp.VerifyOptions(checksum=True, mtime=fcmp.MtimeMode.IGNORE, jobs=2)
    report = FilesReport("tree", "s3://b")
    checks = fcmp._Checks(fcmp.Comparison(None, "b", "", None, options), report, None)
    try:
        for i, size in enumerate(sizes):
            key = f"f{i:04}"
            checks.submit(Entry(key.encode(), size, 0, 0o644), key, Obj(key, size, 0, ""))
        checks.finish()
    finally:
        checks.close()
    return seen, report


def test_small_files_go_to_the_pool_in_batches_and_every_one_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    batches, report = _batches(monkeypatch, [1000] * (2 * fcmp.BATCH_FILES + 5))
    assert [len(b) for b in batches] == [fcmp.BATCH_FILES, fcmp.BATCH_FILES, 5]
    assert report.matched == 2 * fcmp.BATCH_FILES + 5


def test_a_file_larger_than_a_batch_is_a_task_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    batches, _ = _batches(monkeypatch, [1000, 1000, 9 * MIB, 1000])
    assert batches == [[1000, 1000], [9 * MIB], [1000]]


def test_a_batch_holds_no_more_bytes_than_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    batches, _ = _batches(monkeypatch, [3 * MIB] * 5)
    assert batches == [[3 * MIB, 3 * MIB], [3 * MIB, 3 * MIB], [3 * MIB]]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_progress_file_is_written_at_most_a_flush_interval_late(tmp_path: Path) -> None:
    path, clock = tmp_path / "progress.jsonl", _Clock()
    writer = fcmp.ProgressWriter(path, resume=False, clock=clock)
    try:
        writer({"key": "a"})
        assert _lines(path) == []  # buffered: a line per file is not a write per file
        clock.now += fcmp.PROGRESS_FLUSH_SECONDS
        writer({"key": "b"})
        assert _lines(path) == [{"key": "a"}, {"key": "b"}]
    finally:
        writer.close()


def test_closing_the_progress_file_writes_what_it_held(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    writer = fcmp.ProgressWriter(path, resume=False, clock=_Clock())
    writer({"key": "a"})
    writer.close()
    assert _lines(path) == [{"key": "a"}]


def test_a_resumed_progress_file_keeps_its_lines_and_a_new_one_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    path.write_text('{"key": "old"}\n', encoding="utf-8")
    resumed = fcmp.ProgressWriter(path, resume=True)
    resumed({"key": "new"})
    resumed.close()
    assert _lines(path) == [{"key": "old"}, {"key": "new"}]
    fcmp.ProgressWriter(path, resume=False).close()
    assert _lines(path) == []
