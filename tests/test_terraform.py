"""The real Terraform CLI and hashicorp/aws provider judge the synthesized JSON, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inventory_migration.devtools.terraform_cli import (
    CLI_CONFIG_TEMPLATE,
    MIRROR_ENV,
    OfflineTerraform,
    find_provider_mirror,
    write_cli_config,
)
from tests.conftest import DEV_EVERYDAY


@pytest.mark.parametrize("environment", DEV_EVERYDAY)
def test_terraform_validate(offline_terraform: OfflineTerraform, synthesized: Any, environment: str, tmp_path: Path) -> None:
    result = offline_terraform.validate(synthesized(environment), tmp_path / environment)
    assert result.ok, result.output
    assert "The configuration is valid" in result.output


def test_task_resource_id_expression_evaluates_to_the_arn_tail(offline_terraform: OfflineTerraform, tmp_path: Path) -> None:
    from inventory_migration.constructs.monitoring import task_resource_id_expression
    from inventory_migration.synth.cdk import App, TerraformOutput, TerraformStack, Testing

    app = App(outdir=str(tmp_path / "out"))
    stack = TerraformStack(app, "expr")
    arn = "arn:aws:dms:us-east-1:123456789012:task:ABCDEFGHIJKLMNOPQRSTUV1234"
    TerraformOutput(stack, "id", value=task_resource_id_expression(arn))
    directory = tmp_path / "expr"
    directory.mkdir()
    (directory / "main.tf.json").write_text(Testing.synth(stack), encoding="utf-8")
    assert offline_terraform.run("init", "-backend=false", "-input=false", cwd=directory).ok
    applied = offline_terraform.run("apply", "-auto-approve", "-input=false", "-no-color", cwd=directory)
    assert applied.ok, applied.output
    out = offline_terraform.run("output", "-raw", "id", cwd=directory)
    assert out.output.strip() == "ABCDEFGHIJKLMNOPQRSTUV1234"


def test_mirror_is_found_from_the_environment(tmp_path: Path) -> None:
    binary = tmp_path / "registry.terraform.io/hashicorp/aws/5.1.0/linux_amd64/terraform-provider-aws_v5.1.0_x5"
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    assert find_provider_mirror(environ={MIRROR_ENV: str(tmp_path)}) == tmp_path
    assert find_provider_mirror(environ={MIRROR_ENV: str(tmp_path / "nowhere")}) is None


def test_the_project_mirror_is_found_before_the_machine_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5"
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    monkeypatch.setattr("inventory_migration.devtools.terraform_cli.PROJECT_MIRROR", tmp_path)
    assert find_provider_mirror(environ={}) == tmp_path


def test_no_mirror_is_none_and_nothing_scans_the_file_system(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_subprocess(*_a: object, **_k: object) -> None:
        raise AssertionError("the file system must not be scanned")

    monkeypatch.setattr("inventory_migration.devtools.terraform_cli.SEARCH_ROOTS", ("/nonexistent",))
    monkeypatch.setattr("inventory_migration.devtools.terraform_cli.PROJECT_MIRROR", tmp_path / "none")
    monkeypatch.setattr("inventory_migration.devtools.terraform_cli.subprocess.run", no_subprocess)
    assert find_provider_mirror("99.", environ={}) is None


def test_cli_config_uses_the_mirror_only(tmp_path: Path) -> None:
    path = write_cli_config(Path("/m"), tmp_path / "x.tfrc")
    text = path.read_text()
    assert text == CLI_CONFIG_TEMPLATE.format(mirror="/m")
    assert 'path    = "/m"' in text and "direct" in text


def test_discover_returns_none_without_terraform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("inventory_migration.devtools.terraform_cli.shutil.which", lambda _name: None)
    assert OfflineTerraform.discover(tmp_path) is None


def test_validate_reports_init_failure(tmp_path: Path) -> None:
    tf = OfflineTerraform(binary="false", cli_config=tmp_path / "none.tfrc")
    result = tf.validate({"resource": {}}, tmp_path / "d")
    assert not result.ok


@pytest.mark.wide  # validate stays in the everyday tier; plan against moto is breadth
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_terraform_plan_against_a_local_aws(
    offline_terraform: OfflineTerraform, moto_endpoint: str, synthesized: Any, environment: str, tmp_path: Path
) -> None:
    """The real provider plans every resource against moto: data sources resolve, every value is accepted."""
    from inventory_migration.devtools.terraform_cli import with_local_endpoints
    from inventory_migration.rules import resources

    synth = synthesized(environment)
    result = offline_terraform.plan(with_local_endpoints(synth, moto_endpoint), tmp_path / environment)
    assert result.ok, result.output[-3000:]
    count = sum(1 for _ in resources(synth))
    assert f"Plan: {count} to add, 0 to change, 0 to destroy." in result.output


def test_local_endpoints_keep_the_stack_and_drop_the_backend(synthesized: Any) -> None:
    from inventory_migration.devtools.terraform_cli import LOCAL_ENDPOINT_SERVICES, with_local_endpoints

    synth = synthesized("prod")
    local = with_local_endpoints(synth, "http://127.0.0.1:1")
    assert "backend" not in local["terraform"] and "backend" in synth["terraform"]
    assert set(local["provider"]["aws"][0]["endpoints"][0]) == set(LOCAL_ENDPOINT_SERVICES)
    assert local["resource"] == synth["resource"]


def test_make_mirror_links_the_machines_mirror_into_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory_migration.devtools.terraform_cli import mirror

    machine = tmp_path / "machine"
    binary = machine / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5"
    binary.parent.mkdir(parents=True)
    binary.write_text("provider")
    monkeypatch.setenv(MIRROR_ENV, str(machine))
    assert mirror(tmp_path / "cdk.tf.json", tmp_path / "project") == 0
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "project"))
    assert find_provider_mirror() == tmp_path / "project"
