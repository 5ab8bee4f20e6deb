"""files plan (migrationctl/files/plan.py): every kind of name and file, the manifest, the exit code."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from inventory_migration.migrationctl import cli
from inventory_migration.migrationctl.files import plan as fp
from inventory_migration.migrationctl.files import tree as ft
from tests.migrationctl.files.support import (
    BAD_NAME,
    make_tree,
)


def test_plan_reports_every_kind_of_name_and_file(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", bad_name=True, special=True)
    entries, info = ft.walk(root, jobs=4)
    plan = fp.make_plan(root, entries, info, prefix="images/", bandwidth_mbps=200)
    assert plan.files == 29  # 20 thumbs + 2 catalog + hard link + 3 names + zero + big + latin-1
    assert plan.max_depth == 3 and plan.directories == 7
    assert plan.histogram["0 B"] == (1, 0) and plan.histogram["< 8 MiB"][0] == 1
    assert [i.path for i in plan.blocking] == ["latin1-\\xe9t\\xe9.jpg"]
    warned = " ".join(f"{i.path}: {i.problem}" for i in plan.warnings)
    assert "a b+c%d#e?f.jpg: needs URL-encoding" in warned and "avoid: '#' '%'" in warned
    assert "2 names with the same NFC form" in warned and "not in NFC" in warned
    assert plan.symlinks == ["latest.png"] and plan.special == ["pipe"] and plan.empty_dirs == ["empty-dir"]
    assert plan.hard_links == 2
    assert plan.transfer_hours == pytest.approx(plan.bytes * 8 / 200e6 / 3600)
    text = fp.render_plan(plan)
    for line in ("names that cannot become keys: 1", "symlinks: 1 (DataSync stores the link's target path", "cheapest:"):
        assert line in text


def test_plan_cli_writes_a_manifest_and_exits_1_on_blocking_names(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", bad_name=True)
    out, err = io.StringIO(), io.StringIO()
    manifest = tmp_path / "m.jsonl"
    code = cli.main(
        ["--output", "json", "files", "plan", str(root), "--manifest", str(manifest), "--manifest-checksum"], out, err
    )
    assert code == 1, err.getvalue()
    assert json.loads(out.getvalue())["blocking"][0]["blocking"] is True
    entries = {e.path: e for e in ft.read_manifest(manifest)}
    assert BAD_NAME in entries  # a name that is not UTF-8 survives the manifest
    assert entries[b"zero.jpg"].sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert entries[b"latest.png"].kind is ft.Kind.SYMLINK and entries[b"latest.png"].link_target == b"catalog/2024/sku-2.png"
