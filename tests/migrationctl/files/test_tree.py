"""The tree side (migrationctl/files/tree.py): names that cannot become keys."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from inventory_migration.migrationctl.files import tree as ft
from tests.migrationctl.files.support import (
    BAD_NAME,
    NFC,
    NFD,
    random_tree,
    seeded,
)


@pytest.mark.parametrize(
    ("path", "blocking", "mentions"),
    [
        (b"plain/name.jpg", False, ""),
        (BAD_NAME, True, "not valid UTF-8"),
        (b"x" * 1025, True, "over S3's 1024"),
        (b"a b+c.jpg", False, "URL-encoding"),
        (b"hash#brace{.jpg", False, "avoid"),
        (NFD.encode(), False, "not in NFC"),
    ],
)
def test_name_issues(path: bytes, blocking: bool, mentions: str) -> None:
    issues = ft.name_issues(path, "")
    assert any(i.blocking for i in issues) is blocking
    assert (mentions in " ".join(i.problem for i in issues)) if mentions else not issues


def test_a_prefix_counts_toward_the_key_limit() -> None:
    assert ft.key_for(b"x" * 1000, "") is not None
    assert ft.key_for(b"x" * 1000, "images/" * 4) is None


def test_the_walk_yields_every_name_in_key_order(tmp_path: Path) -> None:
    seed = seeded("FILES_TREE_SEED")
    rng = random.Random(seed)
    for n in range(10):
        root = tmp_path / f"t{n}"
        root.mkdir()
        files = random_tree(root, rng)
        info = ft.Walk()
        walked = [item.path for item in ft.iter_walk(root, jobs=3, info=info)]
        files_walked = [p for p in walked if (root / os.fsdecode(p)).is_file()]
        assert sorted(files_walked) == sorted(files), f"seed {seed}"
        keys = [p + b"/" if (root / os.fsdecode(p)).is_dir() else p for p in walked]
        assert keys == sorted(keys), f"seed {seed}: not in key order"


def test_a_directory_sorts_as_its_name_and_a_slash(tmp_path: Path) -> None:
    for name in ("a", "a-b", "a.b", "a0"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "a b").mkdir()
    (tmp_path / "a b" / "x").write_bytes(b"")
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "y").write_bytes(b"")
    assert [e.path for e in ft.walk(tmp_path)[0]] == [b"a", b"a b/x", b"a-b", b"a.b", b"a0", b"ab/y"]


def test_siblings_that_differ_only_in_normalization_are_named_once_per_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / NFC).write_bytes(b"")
    (tmp_path / "d" / NFD).write_bytes(b"")
    _entries, info = ft.walk(tmp_path)
    assert len(info.twins) == 1 and "2 names with the same NFC form" in info.twins[0].problem


def test_the_walk_keeps_lists_capped_and_counts_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ft, "LIST_CAP", 2)
    for i in range(5):
        (tmp_path / f"empty-{i}").mkdir()
    _entries, info = ft.walk(tmp_path)
    assert info.empty_dir_count == 5 and len(info.empty_dirs) == 2
