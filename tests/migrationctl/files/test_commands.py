"""files plan and files verify from the command line (migrationctl/files/commands.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.migrationctl import cli
from inventory_migration.migrationctl.cutover.gates import record_gate
from inventory_migration.migrationctl.records import FILES_VERIFY_RECORD
from tests.migrationctl.files.support import (
    datasync_copy,
    make_tree,
)


def test_verify_cli_records_the_verdict_the_cutover_gate_reads(
    s3: Any, bucket: str, tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    root = make_tree(tmp_path / "tree")
    datasync_copy(s3, bucket, root)
    state = tmp_path / "state"
    record = state / FILES_VERIFY_RECORD
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["files", "verify", str(root), f"s3://{bucket}", "--state-dir", str(state)], out, err) == 0, err.getvalue()
    assert out.getvalue().rstrip().endswith("EQUAL")
    gate = record_gate(record, "files verify clean", 24, lambda: __import__("time").time())
    assert gate.ok, gate.detail
    s3.put_object(Bucket=bucket, Key="stray", Body=b"x")
    assert cli.main(["files", "verify", str(root), f"s3://{bucket}", "--state-dir", str(state)], io.StringIO(), err) == 1
    assert json.loads(record.read_text())["differences"] == {"extra": 1}
    assert not record_gate(record, "files verify clean", 24, lambda: __import__("time").time()).ok
    assert cli.main(["files", "verify", str(root), "not-a-url"], io.StringIO(), err) == 2


def test_a_state_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("")
    err = io.StringIO()
    argv = ["files", "verify", str(tmp_path), "s3://bucket", "--state", str(state)]
    assert cli.main(argv, io.StringIO(), err) == 2 and "is a file, not a directory" in err.getvalue()


def test_verify_report_file_lists_every_difference_as_json_lines(
    s3: Any, drifted: tuple[Path, str], tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    root, url = drifted
    listed = tmp_path / "differences.jsonl"
    argv = ["files", "verify", str(root), url, "--report", str(listed), "--state-dir", str(tmp_path / "state")]
    assert cli.main(argv, io.StringIO(), io.StringIO()) == 1
    lines = [json.loads(line) for line in listed.read_text().splitlines()]
    assert len(lines) == 6 and {"problem": "extra", "path": "catalog/stray.jpg", "detail": ""} in lines
    err = io.StringIO()
    argv[5] = str(tmp_path / "no-such-dir" / "x.jsonl")
    assert cli.main(argv, io.StringIO(), err) == 2 and "--report" in err.getvalue()
