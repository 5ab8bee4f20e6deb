"""What the product ships for the rehearsals: rehearsal mode's guard (loopback only, every endpoint local) and the
plan-change checker. The rehearsal itself is tested in ``tests/harness/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.contracts.phases import MigrationPhase
from inventory_migration.devtools.change_sets import Action, plan_changes, violations
from inventory_migration.stacks.rehearsal_mode import ENDPOINT_ENV, STATE_ENV, RehearsalMode, RehearsalModeError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("endpoint", "fragment"),
    [
        ("http://10.0.0.1:4566", "not a loopback address"),
        ("http://192.168.1.20:4566", "not a loopback address"),
        ("http://localhost:4566", "loopback IP literal"),
        ("http://dms.us-east-1.amazonaws.com:443", "loopback IP literal"),
        ("https://127.0.0.1:4566", "only http://"),
        ("http://127.0.0.1", "needs a port"),
        ("http://127.0.0.1:4566/proxy", "scheme, host and port only"),
        ("http://user@127.0.0.1:4566", "scheme, host and port only"),
    ],
)
def test_rehearsal_mode_refuses_anything_but_a_local_emulator(endpoint: str, fragment: str) -> None:
    with pytest.raises(RehearsalModeError, match=fragment):
        RehearsalMode(endpoint=endpoint, state_path="/tmp/state")


def test_rehearsal_mode_accepts_loopback_and_needs_an_absolute_state(tmp_path: Path) -> None:
    assert RehearsalMode(endpoint="http://127.0.0.1:4566", state_path=str(tmp_path / "s")).endpoint == "http://127.0.0.1:4566"
    assert RehearsalMode(endpoint="http://[::1]:4566", state_path=str(tmp_path / "s"))
    with pytest.raises(RehearsalModeError, match="must be absolute"):
        RehearsalMode(endpoint="http://127.0.0.1:4566", state_path="relative.tfstate")
    assert RehearsalMode.from_environ({}) is None
    mode = RehearsalMode.from_environ({ENDPOINT_ENV: "http://127.0.0.1:1/", STATE_ENV: str(tmp_path / "x")})
    assert mode is not None and mode.endpoint == "http://127.0.0.1:1"
    assert mode.environ() == {ENDPOINT_ENV: "http://127.0.0.1:1", STATE_ENV: str(tmp_path / "x")}


def test_a_non_loopback_endpoint_stops_the_synth(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import main as entry

    monkeypatch.setenv(ENDPOINT_ENV, "http://203.0.113.5:4566")
    assert entry.main() == 2
    assert "not a loopback address" in capsys.readouterr().err


def test_rehearsal_mode_points_every_endpoint_at_the_emulator(tmp_path: Path) -> None:
    from inventory_migration.stacks.provider_endpoints import ENDPOINT_NAMES

    settings = RehearsalMode(endpoint="http://127.0.0.1:4566", state_path=str(tmp_path / "s")).provider_settings()
    assert settings["access_key"] == settings["secret_key"] == "rehearsal-not-a-real-key"
    assert settings["skip_credentials_validation"] is True and settings["skip_metadata_api_check"] is True
    (endpoints,) = settings["endpoints"]
    assert set(endpoints) == set(ENDPOINT_NAMES) and set(endpoints.values()) == {"http://127.0.0.1:4566"}


@pytest.mark.wide
def test_endpoint_names_are_the_providers(offline_terraform: Any, tmp_path: Path) -> None:
    """Every overridable endpoint of hashicorp/aws 5.100.0 is either sent to the emulator or an alias of one that is."""
    from inventory_migration.stacks.provider_endpoints import ALIASES, ENDPOINT_NAMES

    (tmp_path / "main.tf.json").write_text(
        json.dumps({"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}}})
    )
    assert offline_terraform.run("init", "-backend=false", "-input=false", cwd=tmp_path).ok
    schema = json.loads(offline_terraform.run("providers", "schema", "-json", cwd=tmp_path).output)
    provider = schema["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["provider"]["block"]
    assert set(provider["block_types"]["endpoints"]["block"]["attributes"]) == set(ENDPOINT_NAMES) | set(ALIASES)
    assert not set(ENDPOINT_NAMES) & set(ALIASES)


def test_the_stack_in_rehearsal_mode(tmp_path: Path) -> None:
    from inventory_migration.app import build_app
    from inventory_migration.synth.cdk import Testing

    environ = {ENDPOINT_ENV: "http://127.0.0.1:4566", STATE_ENV: str(tmp_path / "r.tfstate")}
    warnings: list[str] = []
    _app, stack, _config = build_app(environment="prod", environ=environ, warn=warnings.append)
    assert len(warnings) == 1  # prod's placeholders: refused for real, only reported against a loopback emulator
    synth = json.loads(Testing.synth(stack))
    assert synth["terraform"]["backend"] == {"local": {"path": str(tmp_path / "r.tfstate")}}  # never prod's S3 state
    provider = synth["provider"]["aws"][0]
    assert provider["access_key"] == "rehearsal-not-a-real-key" and provider["endpoints"][0]["sts"] == "http://127.0.0.1:4566"


# ----------------------------------------------------------------------------- the plan checker


def plan_of(*changes: tuple[str, str, list[str], dict[str, Any] | None, dict[str, Any] | None]) -> dict[str, Any]:
    return {
        "resource_changes": [
            {
                "address": f"{t}.{name}",
                "mode": "managed",
                "type": t,
                "name": name,
                "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
            }
            for t, name, actions, before, after in changes
        ]
    }


def test_plan_changes_reads_terraform_show_json() -> None:
    plan = plan_of(
        (
            "aws_vpc",
            "network_vpc_4E8F0223",
            ["update"],
            {"tags_all": {"MigrationPhase": "cdc"}},
            {"tags_all": {"MigrationPhase": "cutover"}},
        ),
        (
            "aws_dms_replication_task",
            "dms_task_3CCA84E2",
            ["update"],
            {"start_replication_task": True},
            {"start_replication_task": False},
        ),
        ("aws_dms_endpoint", "dms_reverse-source_4F60AE04", ["create"], None, {}),
        ("aws_rds_cluster", "aurora_cluster_059EF40F", ["delete", "create"], {}, {}),
        ("aws_s3_bucket", "storage_images_527525C8", ["no-op"], {}, {}),
    )
    changes = {c.address: (c.path, c.action) for c in plan_changes(plan)}
    assert changes == {
        "aws_vpc.network_vpc_4E8F0223": ("network/vpc", Action.RETAG),
        "aws_dms_replication_task.dms_task_3CCA84E2": ("dms/task", Action.UPDATE),
        "aws_dms_endpoint.dms_reverse-source_4F60AE04": ("dms/reverse-source", Action.CREATE),
        "aws_rds_cluster.aurora_cluster_059EF40F": ("aurora/cluster", Action.REPLACE),
    }


def test_the_plan_checker_catches_an_unintended_replacement() -> None:
    plan = plan_of(
        (
            "aws_dms_replication_task",
            "dms_task_3CCA84E2",
            ["update"],
            {"start_replication_task": False},
            {"start_replication_task": True},
        ),
        ("aws_rds_cluster", "aurora_cluster_059EF40F", ["delete", "create"], {}, {}),
        ("aws_security_group", "security-groups_app_9A0655E7", ["create", "delete"], {}, {}),
    )
    problems = violations(plan_changes(plan), MigrationPhase.FOUNDATION, MigrationPhase.FULL_LOAD)
    assert problems == [
        "aws_rds_cluster.aurora_cluster_059EF40F: protected resource would be replaced",
        "aws_security_group.security-groups_app_9A0655E7: would be replaced",
    ]
