"""migrationctl cutover and rollback from the command line (migrationctl/cutover/commands.py): flags, outputs, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.night import workload as wl
from inventory_migration.migrationctl.cutover import sides
from inventory_migration.migrationctl.cutover.journal import DONE
from tests.migrationctl.cutover.support import (
    Shop,
    run_cli,
)


def test_cli_dry_run_and_json(shop: Shop) -> None:
    args = ["--app-roles", wl.ROLE, "--backend", "native", "--no-load-balancer", "--state-dir", str(shop.state_dir)]
    code, out, err = run_cli("cutover", shop.source_dsn, shop.target_dsn, "--dry-run", *args)
    assert code == 0 and "gate ok   post-data done" in out and "nothing changed" in out, err
    code, out, _ = run_cli("--output", "json", "cutover", shop.source_dsn, shop.target_dsn, *args)
    report = json.loads(out)
    assert code == 0 and report["status"] == DONE and report["steps"]["verify"]["result"]["equal"] is True
    code, out, _ = run_cli("rollback", shop.source_dsn, shop.target_dsn, *args)
    assert code == 0 and "rollback done" in out


def test_cli_reports_failed_gates_with_exit_1(shop: Shop) -> None:
    (shop.state_dir / "verify-last.json").unlink()
    args = ["--app-roles", wl.ROLE, "--backend", "native", "--no-load-balancer", "--state-dir", str(shop.state_dir)]
    code, out, _ = run_cli("cutover", shop.source_dsn, shop.target_dsn, *args)
    assert code == 1 and "NOT STARTED, gate(s) failed: recent clean verify. Nothing changed." in out


def test_cli_needs_the_load_balancer_and_the_task(tmp_path: Path) -> None:
    code, _out, err = run_cli("cutover", "host=x", "host=y", "--app-roles", "app", "--backend", "native")
    assert code == 2 and "the load balancer is not known" in err
    code, _out, err = run_cli("--region", "us-east-1", "cutover", "host=x", "host=y", "--app-roles", "app", "--no-load-balancer")
    assert code == 2 and "--backend dms needs the forward task" in err
    bad = tmp_path / "outputs.json"
    bad.write_text("[1]")
    code, _out, err = run_cli("rollback", "--app-roles", "app", "--stack-outputs", str(bad))
    assert code == 2 and "expected a JSON object" in err


def test_stack_outputs_in_both_shapes(tmp_path: Path) -> None:
    from inventory_migration.migrationctl.context import read_stack_outputs as load_stack_outputs

    terraform = tmp_path / "tf.json"
    terraform.write_text(json.dumps({"https_listener_arn": {"value": "arn:l", "type": "string", "sensitive": False}}))
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"https_listener_arn": "arn:l"}))
    assert load_stack_outputs(terraform) == load_stack_outputs(flat) == {"https_listener_arn": "arn:l"}
    with pytest.raises(Exception, match="cannot read --stack-outputs"):
        load_stack_outputs(tmp_path / "missing.json")


def test_exit_codes_of_cutover(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory_migration.migrationctl.errors import ExitCode

    args = ["--app-roles", wl.ROLE, "--backend", "native", "--no-load-balancer", "--state-dir", str(shop.state_dir)]

    def no_snapshots(_s: Any, _held: Any) -> bool:
        return False

    monkeypatch.setattr(sides, "snapshots_alive", no_snapshots)  # the holders died: the switch-point verify cannot run
    code, out, _err = run_cli("cutover", shop.source_dsn, shop.target_dsn, *args)
    assert code == ExitCode.SWITCHED_WITH_DIFFERENCES == 4, out
    assert "switch-point snapshots are gone" in out
