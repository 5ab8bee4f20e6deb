"""The app entry: environment selection, main(), the Node runtime choice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import main as entry
from inventory_migration.runtime import use_supported_node

ROOT = Path(__file__).resolve().parent.parent


def test_build_app_selects_the_environment(tmp_path: Path) -> None:
    from inventory_migration.app import build_app

    _app, stack, config = build_app(outdir=str(tmp_path), environ={"MIGRATION_ENV": "prod"})
    assert config.environment == "prod" and stack.node.id == "inventory-migration-prod"


def test_context_selects_the_environment_when_the_variable_is_unset() -> None:
    from inventory_migration.app import select_environment
    from inventory_migration.cdk import App

    assert select_environment(App(context={"environment": "prod"}), {}) == "prod"
    assert select_environment(App(context={"environment": "prod"}), {"MIGRATION_ENV": "dev"}) == "dev"
    assert select_environment(App(), {}) is None


def test_main_synthesizes_to_the_outdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATION_ENV", "dev")
    assert entry.main(outdir=str(tmp_path)) == 0
    synth = json.loads((tmp_path / "stacks" / "inventory-migration-dev" / "cdk.tf.json").read_text())
    assert synth["provider"]["aws"][0]["region"] == "us-east-1"


def test_main_reports_bad_config_without_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MIGRATION_ENV", "staging")
    assert entry.main() == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid configuration") and "Traceback" not in err


def test_main_module_is_thin() -> None:
    # Importing main must not synthesize anything.
    proc = subprocess.run(
        [sys.executable, "-c", "import main"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and not (ROOT / "cdktf.out" / "never").exists()
    assert proc.stdout == ""


def test_use_supported_node(tmp_path: Path) -> None:
    env: dict[str, Any] = {}
    node = tmp_path / "node"
    node.write_text("")
    assert use_supported_node(env, node) == str(node) and env["JSII_NODE"] == str(node)
    assert use_supported_node({"JSII_NODE": "/x/node"}, node) == "/x/node"
    assert use_supported_node({}, tmp_path / "missing") is None
