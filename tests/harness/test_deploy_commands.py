"""Running a rehearsal command: streamed to its log, a failure's Terraform error shown, a hang interrupted and named."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.deploy import commands
from harness.deploy.commands import CommandTimedOut, failure_excerpt, run_logged, still_in_flight

TERRAFORM_OUTPUT = """\
aws_s3_bucket.images: Creating...
aws_dms_replication_task.forward: Creating...
aws_s3_bucket.images: Creation complete after 1s [id=s3-dev-images]
aws_lb.blue_green: Modifying... [id=arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1]
aws_dms_replication_task.forward: Still creating... [10s elapsed]
aws_vpc.main: Destroying... [id=vpc-1]
aws_vpc.main: Destruction complete after 2s
"""


def test_still_in_flight_names_what_started_and_did_not_finish_in_the_order_it_started() -> None:
    assert still_in_flight(TERRAFORM_OUTPUT) == ["aws_dms_replication_task.forward (Creating)", "aws_lb.blue_green (Modifying)"]


def test_still_in_flight_reads_cdktfs_prefixed_lines() -> None:
    output = "inventory-migration-dev  aws_ecs_service.green: Creating...\n"
    assert still_in_flight(output) == ["aws_ecs_service.green (Creating)"]


def test_nothing_is_in_flight_when_everything_finished() -> None:
    assert still_in_flight("aws_vpc.main: Creating...\naws_vpc.main: Creation complete after 1s\n") == []


def test_a_command_that_ends_is_logged_with_its_output(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "01-sh.log"
    proc = run_logged(["sh", "-c", "echo out; echo err >&2; exit 3"], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, log=log)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    assert log.read_text() == "$ sh -c echo out; echo err >&2; exit 3\nout\n\nerr\n"
    assert sorted(p.name for p in log.parent.iterdir()) == ["01-sh.log"]


def test_a_command_past_its_timeout_is_interrupted_and_names_what_terraform_was_still_creating(tmp_path: Path) -> None:
    script = "printf '%s' \"$OUT\"; sleep 30"
    log = tmp_path / "apply.log"
    started = time.monotonic()
    with pytest.raises(CommandTimedOut, match=r"within 1 s") as raised:
        run_logged(["sh", "-c", script], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "OUT": TERRAFORM_OUTPUT}, log=log, timeout=1)
    assert time.monotonic() - started < 10
    assert "still in flight: aws_dms_replication_task.forward (Creating), aws_lb.blue_green (Modifying)" in str(raised.value)
    assert "Still creating" in log.read_text()


def test_a_command_that_ignores_the_interrupt_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "INTERRUPT_GRACE", 1)
    script = "trap '' INT; echo 'waiting for nothing'; sleep 30"
    started = time.monotonic()
    with pytest.raises(CommandTimedOut, match=r"(?s)nothing in flight.*waiting for nothing"):
        run_logged(["sh", "-c", script], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, log=tmp_path / "x.log", timeout=1)
    assert time.monotonic() - started < 10


def test_a_failure_shows_terraforms_error_block_however_far_from_the_end() -> None:
    output = "x\n│ Error: deleting DMS Replication Task (t): InvalidResourceStateFault\n│ \n" + "noise\n" * 2000
    excerpt = failure_excerpt(output)
    assert "Error: deleting DMS Replication Task" in excerpt
    assert len(excerpt) <= 4100 and excerpt.endswith("noise\n")
