"""The deploy rehearsal's harness (its TOML writer, its legs) — and the rehearsal itself, every phase of dev applied to
the local emulator, re-planned empty, destroyed to nothing."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_toml_writer_round_trips_the_shipped_configs() -> None:
    from harness.deploy import tomlfile

    for env in ("dev", "prod"):
        data = tomllib.loads((ROOT / "config" / f"{env}.toml").read_text(encoding="utf-8"))
        assert tomllib.loads(tomlfile.dumps(data)) == data
    assert tomlfile.dumps({"a": {"rds.force_ssl": "1"}}) == '[a]\n"rds.force_ssl" = "1"\n'
    with pytest.raises(TypeError):
        tomlfile.dumps({"x": object()})


# ----------------------------------------------------------------------------- the rehearsal


def test_the_legs_cover_every_transition_of_the_walk() -> None:
    from harness.deploy.walk import LEGS, WALK

    def transitions(phases: tuple[Any, ...]) -> set[tuple[Any, Any]]:
        return set(itertools.pairwise(phases))

    assert transitions(WALK) == set().union(*(transitions(leg) for leg in LEGS))
    assert LEGS[0][0].value == "foundation" and LEGS[-1][-1].value == "decommission"


def _flaky_rehearsal(tmp_path: Path, message: str) -> Any:
    from harness.deploy.walk import Rehearsal, RehearsalMode

    rehearsal = Rehearsal("dev", tmp_path)
    rehearsal.mode = RehearsalMode(endpoint="http://127.0.0.1:1", state_path=str(tmp_path / "state"))
    rehearsal.cli_config = tmp_path / "terraform.tfrc"
    (rehearsal.stack_dir / ".terraform" / "providers").mkdir(parents=True)
    marker = tmp_path / "ran-once"
    script = f"if [ -e {marker} ]; then exit 0; fi; touch {marker}; echo '{message}' >&2; exit 1"
    return rehearsal, ("sh", "-c", script)


def test_a_command_meeting_terraforms_install_flake_is_run_again_once(tmp_path: Path) -> None:
    rehearsal, command = _flaky_rehearsal(
        tmp_path, "after installing registry.terraform.io/hashicorp/aws it is still not detected in .terraform/providers"
    )
    assert rehearsal.run(*command).returncode == 0
    assert rehearsal.report.retried == [" ".join(command[:4])]
    assert not (rehearsal.stack_dir / ".terraform" / "providers").exists()


def test_any_other_failure_is_not_run_again(tmp_path: Path) -> None:
    from harness.deploy.walk import RehearsalFailed

    rehearsal, command = _flaky_rehearsal(tmp_path, "Error: creating DMS Replication Subnet Group")
    with pytest.raises(RehearsalFailed, match="creating DMS"):
        rehearsal.run(*command)
    assert rehearsal.report.retried == []


def test_a_hung_command_fails_the_rehearsal_naming_what_was_in_flight_and_the_emulators_last_lines(tmp_path: Path) -> None:
    from harness.deploy.walk import RehearsalFailed

    rehearsal, _ = _flaky_rehearsal(tmp_path, "")
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "logs" / "emulator.log").write_text("emulator: AmazonDMSv20160101.DescribeReplicationTasks 200\n")
    hang = "echo 'aws_dms_replication_task.forward: Creating...'; sleep 30"
    with pytest.raises(RehearsalFailed, match=r"(?s)within 1 s.*forward \(Creating\).*DescribeReplicationTasks 200"):
        rehearsal.run("sh", "-c", hang, timeout=1)


@pytest.mark.rehearsal
@pytest.mark.xdist_group("rehearsal")
def test_rehearse_dev_every_phase_and_destroy(tmp_path: Path, offline_terraform: Any) -> None:
    """The scenario of ``make rehearse``, its legs side by side: any apply or destroy error, non-empty re-plan,
    unintended change or leftover raises RehearsalFailed."""
    from harness.deploy.commands import COMMAND_TIMEOUT
    from harness.deploy.walk import LEGS, NOT_REHEARSED, RehearsalFailed, rehearse_legs

    lines: list[str] = []
    try:
        reports = rehearse_legs("dev", tmp_path, progress=lines.append)
    except RehearsalFailed as failed:  # .ci/run prints it whole: CI's summary of a failed test cuts the middle out
        (ROOT / "build").mkdir(exist_ok=True)
        (ROOT / "build" / "deploy-rehearsal-failure.log").write_text(str(failed), encoding="utf-8")
        raise
    steps = sorted(((step.seconds, n, step) for n, r in enumerate(reports, 1) for step in r.steps), key=lambda x: -x[0])
    slowest = [f"  {s:7.1f} s  leg {n}: {step.name} {step.phase}" for s, n, step in steps[:5]]
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "deploy-rehearsal.log").write_text(
        "\n".join([f"slowest steps (each command is stopped after {COMMAND_TIMEOUT} s):", *slowest, ""])
        + "\n\n".join(r.render() for r in reports),
        encoding="utf-8",
    )
    for leg, report in zip(LEGS, reports, strict=True):
        print(report.render())
        assert set(report.resources_per_phase) == {p.value for p in leg}
        assert all(n > 150 for phase, n in report.resources_per_phase.items() if phase != "decommission")
        assert len(report.transitions) == len(leg) - 1
        assert report.destroyed > 100 and not any(report.left_after_destroy.values())
        assert len(report.checks) >= 9
    last = reports[-1].resources_per_phase
    assert last["decommission"] < last["rollback-window"] - 40  # DMS, VPN, DataSync and the blue path go
    assert NOT_REHEARSED == {}
    for n in range(1, len(LEGS) + 1):
        assert any(line.startswith(f"[leg {n}] cdktf deploy") for line in lines)
        assert any(line.startswith(f"[leg {n}] cdktf destroy") for line in lines)
