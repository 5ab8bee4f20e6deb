"""The small entry points: the synth summary and the offline terraform validate command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.devtools import summary, terraform_cli


def test_summary_of_the_dev_stack(synthesized: Any, tmp_path: Path) -> None:
    text = summary.summarize(synthesized("dev"), tmp_path / "cdk.tf.json")
    lines = text.splitlines()
    assert lines[1].startswith("environment: dev   phase: foundation   region: us-east-1   backend: local")
    assert lines[2].startswith("resources:   ") and " in " in lines[2]
    assert "aws_rds_cluster_instance" in text and "aws_dms_replication_task" in text
    assert text.endswith(f"written to:  {tmp_path / 'cdk.tf.json'}")
    assert len(lines) < 40  # one screen


def test_summary_main(
    synthesized: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert summary.main(["prod"]) == 2
    assert "run `make synth` first" in capsys.readouterr().err
    stack = tmp_path / "cdktf.out" / "stacks" / "inventory-migration-prod"
    stack.mkdir(parents=True)
    (stack / "cdk.tf.json").write_text(json.dumps(synthesized("prod")))
    assert summary.main(["prod"]) == 0
    assert "backend: s3" in capsys.readouterr().out


@pytest.mark.wide  # two more real `terraform validate` runs of what test_terraform_validate checks every day
def test_terraform_cli_main(synthesized: Any, offline_terraform: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert terraform_cli.main([]) == 2
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(synthesized("dev")))
    assert terraform_cli.main([str(path)]) == 0
    assert "The configuration is valid" in capsys.readouterr().out
    broken = tmp_path / "broken.tf.json"
    broken.write_text(json.dumps({"resource": {"aws_vpc": {"x": {"no_such_argument": 1}}}}))
    assert terraform_cli.main([str(broken)]) == 1


def test_terraform_cli_main_without_terraform(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cdk.tf.json"
    path.write_text("{}")
    monkeypatch.setattr(terraform_cli.OfflineTerraform, "discover", classmethod(lambda cls, workdir: None))
    assert terraform_cli.main([str(path)]) == 2
    assert "no hashicorp/aws 5.x filesystem mirror" in capsys.readouterr().err
