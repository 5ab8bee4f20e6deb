"""Checkov on the synthesized JSON: no failed check except the skips declared in rules/checkov.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.rules.checkov import CHECKOV_SKIPS, CheckovSkip, checkov_view, skipped_checks
from tests.conftest import DEV_EVERYDAY


def run_checkov(directory: Path, skips: list[str]) -> dict[str, Any]:
    checkov = shutil.which("checkov", path=str(Path(sys.executable).parent)) or shutil.which("checkov")
    assert checkov, "checkov is a dev dependency: pipenv sync --dev"
    args = [
        checkov,
        "-d",
        str(directory),
        "--framework",
        "terraform_json",
        "--quiet",
        "--compact",
        "-o",
        "json",
        "--skip-download",
    ]
    if skips:
        args += ["--skip-check", ",".join(skips)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.mark.parametrize("environment", DEV_EVERYDAY)
def test_checkov_has_no_unjustified_failure(synthesized: Any, environment: str, tmp_path: Path) -> None:
    (tmp_path / "cdk.tf.json").write_text(json.dumps(checkov_view(synthesized(environment))), encoding="utf-8")
    report = run_checkov(tmp_path, skipped_checks(environment))
    failed = [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 150
    assert report["summary"]["parsing_errors"] == 0
    print(f"checkov {environment}: {report['summary']}")


def test_every_skip_has_a_reason_and_a_check_id() -> None:
    assert CHECKOV_SKIPS
    for check_id, skip in CHECKOV_SKIPS.items():
        assert check_id.startswith(("CKV_AWS_", "CKV2_AWS_")) and len(skip.reason) > 40


def test_skips_are_scoped_to_environments() -> None:
    assert "CKV_AWS_139" in skipped_checks("dev")
    assert "CKV_AWS_139" not in skipped_checks("prod")
    assert CheckovSkip("x", ("dev",)).applies_to("dev") and not CheckovSkip("x", ("dev",)).applies_to("prod")


def test_checkov_view_keeps_only_object_entries() -> None:
    view = checkov_view({"terraform": {"required_version": ">= 1.10", "backend": {"local": {}}}, "resource": {}})
    assert view["terraform"] == {"backend": {"local": {}}}
