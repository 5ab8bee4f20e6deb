"""The app entry: environment selection, main(), the Node runtime choice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import main as entry
from inventory_migration.synth.runtime import use_supported_node

ROOT = Path(__file__).resolve().parent.parent


def test_build_app_selects_the_environment(tmp_path: Path) -> None:
    from inventory_migration.app import build_app

    warnings: list[str] = []
    _app, stack, config = build_app(outdir=str(tmp_path), environ={"MIGRATION_ENV": "dev"}, warn=warnings.append)
    assert config.environment == "dev" and stack.node.id == "inventory-migration-dev"


def test_prod_refuses_its_placeholders_naming_each_field_and_value() -> None:
    from inventory_migration.app import build_app
    from inventory_migration.config import ConfigError

    with pytest.raises(ConfigError) as refused:
        build_app(environ={"MIGRATION_ENV": "prod"})
    message = str(refused.value)
    assert 'prod.toml (placeholders = "refuse")' in message
    assert "network.customer_gateway_ip = '198.51.100.20': a placeholder" in message
    assert "app.certificate_arn = 'arn:aws:acm:us-east-1:123456789012:certificate/" in message


def test_dev_keeps_its_placeholders_with_a_one_line_warning() -> None:
    from inventory_migration.app import build_app

    warnings: list[str] = []
    build_app(environ={"MIGRATION_ENV": "dev"}, warn=warnings.append)
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and "network.customer_gateway_ip" in warnings[0]
    assert "\n" not in warnings[0] and "prod refuses them" in warnings[0]


def test_main_exits_2_with_one_message_on_prods_placeholders(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MIGRATION_ENV", "prod")
    assert entry.main() == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid configuration in") and "files.server = 'files.inventory.corp.example'" in err
    assert "Traceback" not in err


def test_context_selects_the_environment_when_the_variable_is_unset() -> None:
    from inventory_migration.app import select_environment
    from inventory_migration.synth.cdk import App

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
    err = capsys.readouterr().err  # node may add its own deprecation warning when jsii starts in this test
    ours = [line for line in err.splitlines() if not line.startswith("(node:") and "--trace-deprecation" not in line]
    assert ours[0].startswith("error: invalid configuration") and "Traceback" not in err


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


@pytest.mark.wide  # a fresh interpreter importing the bindings: 17 s
def test_importing_the_bindings_anywhere_prints_no_node_banner(tmp_path: Path) -> None:
    """A test, a script or a notebook that imports the stack gets the supported Node too, not only main.py."""
    proc = subprocess.run(
        [sys.executable, "-c", "import inventory_migration.synth.cdk"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "JSII_NODE": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and "end-of-life" not in proc.stderr, proc.stderr[-2000:]
