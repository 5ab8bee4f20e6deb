"""``python -m inventory_migration.reachability check FILE`` (inventory_migration/reachability/__main__.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from inventory_migration.contracts.phases import MigrationPhase
from inventory_migration.reachability.__main__ import main


def _write(tmp_path: Path, synth: dict[str, Any]) -> Path:
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(synth))
    return path


def test_a_synthesized_stack_is_checked_in_its_own_environment_and_phase(phase_synth: Any, tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["check", str(_write(tmp_path, phase_synth("prod", MigrationPhase.CDC)))], out) == 0
    text = out.getvalue()
    assert text.startswith("flow matrix of prod in phase cdc (synthesized") and text.rstrip().endswith(
        "every flow as the matrix says"
    )


def test_a_flow_not_as_the_matrix_says_exits_1_naming_its_hop(phase_synth: Any, tmp_path: Path) -> None:
    synth = json.loads(json.dumps(phase_synth("dev", MigrationPhase.CDC)))
    synth["resource"]["aws_default_network_acl"] = {"edited": {"default_network_acl_id": "acl-0"}}
    out = io.StringIO()
    assert main(["check", str(_write(tmp_path, synth))], out) == 1
    assert "BLOCKED" in out.getvalue() and "network ACL" in out.getvalue() and "NOT AS THE MATRIX SAYS" in out.getvalue()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    err = io.StringIO()
    assert main(["check", str(tmp_path / "missing.json")], io.StringIO(), err) == 2
    assert err.getvalue().startswith("error: ") and err.getvalue().count("\n") == 1
    (tmp_path / "x.json").write_text("{}")
    err = io.StringIO()
    assert main(["check", str(tmp_path / "x.json")], io.StringIO(), err) == 2 and "pass --env" in err.getvalue()
    err = io.StringIO()
    assert main(["check", str(tmp_path / "x.json"), "--env", "dev", "--phase", "cdc"], io.StringIO(), err) == 2
    assert "no resources" in err.getvalue()
