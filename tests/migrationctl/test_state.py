"""``--state s3://...``: the journals and records in S3, conditional writes as lock and compare-and-swap (moto)."""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from inventory_migration.migrationctl import records
from inventory_migration.migrationctl.cli import main
from inventory_migration.migrationctl.cutover.journal import Journal
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.state import (
    LOCK_KEY,
    LockHeld,
    RemoteState,
    StateConflict,
    StateLocation,
    mirrored,
    parse_state,
)


@pytest.fixture()
def s3(moto_endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture()
def location(s3: Any, tmp_path: Path) -> StateLocation:
    bucket = f"state-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    return parse_state(f"s3://{bucket}/dev", cache=tmp_path / "one")


def another_machine(location: StateLocation, tmp_path: Path) -> StateLocation:
    return parse_state(str(location), cache=tmp_path / "two")


def read(s3: Any, location: StateLocation, relative: str) -> Any:
    return json.loads(s3.get_object(Bucket=location.bucket, Key=location.key(relative))["Body"].read())


# ----------------------------------------------------------------------------------------------- parsing


def test_a_directory_is_local_state() -> None:
    assert not parse_state("/var/lib/migration").remote


def test_an_s3_url_names_bucket_prefix_and_working_copy(tmp_path: Path) -> None:
    location = parse_state("s3://state-dev-t1/cutover/", cache=tmp_path)
    assert (location.bucket, location.prefix, location.key("journal/cutover.json")) == (
        "state-dev-t1",
        "cutover",
        "cutover/journal/cutover.json",
    )
    assert location.local == tmp_path / "s3" / "state-dev-t1" / "cutover"


@pytest.mark.parametrize("bad", ["s3://", "s3:///prefix", "s3://bucket/../x", "s3://bu_cket/x"])
def test_a_malformed_s3_url_is_refused(bad: str) -> None:
    with pytest.raises(UsageError, match="expected s3://bucket/prefix"):
        parse_state(bad)


# ----------------------------------------------------------------------------------------------- mirror


def test_every_journal_write_reaches_s3_before_the_run_goes_on(s3: Any, location: StateLocation) -> None:
    with mirrored(location, lambda: s3, lock_for="cutover", say=lambda _l: None):
        journal = Journal(location.local / "journal" / "cutover.json", "cutover", ("gates", "freeze"))
        with journal.step("gates"):
            assert read(s3, location, "journal/cutover.json")["steps"]["gates"]["status"] == "running"
        assert read(s3, location, "journal/cutover.json")["steps"]["gates"]["status"] == "done"


def test_another_machine_resumes_the_journal_from_s3(s3: Any, location: StateLocation, tmp_path: Path) -> None:
    with mirrored(location, lambda: s3, lock_for="cutover", say=lambda _l: None):
        journal = Journal(location.local / "journal" / "cutover.json", "cutover", ("gates", "freeze"))
        with journal.step("gates"):
            pass
    elsewhere = another_machine(location, tmp_path)
    with mirrored(elsewhere, lambda: s3, lock_for="cutover", say=lambda _l: None):
        resumed = Journal(elsewhere.local / "journal" / "cutover.json", "cutover", ("gates", "freeze"))
        assert resumed.done("gates") and not resumed.done("freeze")


def test_a_stale_local_journal_is_not_taken_for_the_state(s3: Any, location: StateLocation) -> None:
    stale = location.local / "journal" / "cutover.json"
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"operation": "cutover", "status": "running", "steps": {}, "facts": {}}))
    with mirrored(location, lambda: s3, say=lambda _l: None):
        assert not stale.exists()


def test_the_snapshot_holders_files_stay_on_this_machine(s3: Any, location: StateLocation) -> None:
    """The holders write ``snapshot-<side>.json`` beside the journals; a pull must not take it for a stale journal."""
    held = location.local / "journal" / "snapshot-source.json"
    held.parent.mkdir(parents=True)
    held.write_text('{"snapshot": "00000003-0000001B-1", "pid": 1}')
    with mirrored(location, lambda: s3, lock_for="cutover", say=lambda _l: None):
        records.write_json(held, {"snapshot": "00000003-0000001B-1", "pid": 1})
    assert held.exists() and "Contents" not in s3.list_objects_v2(Bucket=location.bucket)


def test_a_write_over_someone_elses_is_refused(s3: Any, location: StateLocation) -> None:
    """Compare-and-swap: this run's push names the version it read; another writer in between makes it fail."""
    records.write_json(location.local / records.VERIFY_RECORD, {"equal": True})
    remote = RemoteState(s3, location, say=lambda _l: None)
    remote.push(location.local / records.VERIFY_RECORD)
    s3.put_object(Bucket=location.bucket, Key=location.key(records.VERIFY_RECORD), Body=b'{"equal": false}')
    with pytest.raises(StateConflict, match="changed by another run"):
        remote.push(location.local / records.VERIFY_RECORD)


def test_a_new_object_is_not_written_over_one_that_appeared(s3: Any, location: StateLocation) -> None:
    s3.put_object(Bucket=location.bucket, Key=location.key(records.VERIFY_RECORD), Body=b"{}")
    records.write_json(location.local / records.VERIFY_RECORD, {"equal": True})
    with pytest.raises(StateConflict):
        RemoteState(s3, location, say=lambda _l: None).push(location.local / records.VERIFY_RECORD)


def test_files_that_stay_local_are_not_pushed(s3: Any, location: StateLocation) -> None:
    with mirrored(location, lambda: s3, say=lambda _l: None):
        records.write_json(location.local / "verify-0123456789abcdef.json", {"segments": {}})
    assert "Contents" not in s3.list_objects_v2(Bucket=location.bucket)


def test_an_archived_journal_moves_in_s3_too(s3: Any, location: StateLocation) -> None:
    with mirrored(location, lambda: s3, lock_for="cutover", say=lambda _l: None):
        journal = Journal(location.local / "journal" / "cutover.json", "cutover", ("gates",))
        journal.finish("aborted")
        archived = journal.archive()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=location.bucket)["Contents"]}
    assert location.key(f"journal/{archived.name}") in keys and location.key("journal/cutover.json") not in keys


# ----------------------------------------------------------------------------------------------- the lock


def test_a_second_operator_is_refused_while_a_run_holds_the_lock(s3: Any, location: StateLocation, tmp_path: Path) -> None:
    with (
        mirrored(location, lambda: s3, lock_for="cutover", say=lambda _l: None),
        pytest.raises(LockHeld, match="runs `migrationctl cutover` on this state"),
    ):
        RemoteState(s3, another_machine(location, tmp_path), say=lambda _l: None).acquire("rollback")


def test_the_lock_is_released_when_the_run_ends(s3: Any, location: StateLocation) -> None:
    with mirrored(location, lambda: s3, lock_for="cutover", say=lambda _l: None):
        pass
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=location.bucket).get("Contents", [])}
    assert location.key(LOCK_KEY) not in keys


def test_a_lock_its_run_stopped_renewing_is_taken_over(s3: Any, location: StateLocation, tmp_path: Path) -> None:
    """The first machine died (its lock is never released): after the lease, on S3's clock, another one takes over."""
    dead = RemoteState(s3, location, lease_seconds=2, say=lambda _l: None)
    dead.acquire("cutover")
    dead._stop.set()  # the machine is gone: no more renewals, no release
    told: list[str] = []
    early = RemoteState(s3, another_machine(location, tmp_path), say=told.append)
    with pytest.raises(LockHeld, match="when its lease has run out"):
        early.acquire("cutover")
    time.sleep(3.5)  # Last-Modified and Date have whole seconds
    late = RemoteState(s3, another_machine(location, tmp_path), say=told.append)
    late.acquire("cutover")
    assert read(s3, location, LOCK_KEY)["owner"] == late.owner and "taken over" in told[0]
    late.release()


def test_a_holder_whose_clock_runs_an_hour_behind_keeps_its_lock(s3: Any, location: StateLocation, tmp_path: Path) -> None:
    """The lease is measured on S3's clock: a holder's skewed clock (or a taker's) takes no live lock away."""
    skewed = RemoteState(s3, location, lease_seconds=60, clock=lambda: time.time() - 3600, say=lambda _l: None)
    skewed.acquire("cutover")
    try:
        ahead = RemoteState(s3, another_machine(location, tmp_path), clock=lambda: time.time() + 3600, say=lambda _l: None)
        with pytest.raises(LockHeld, match="runs `migrationctl cutover`"):
            ahead.acquire("rollback")
    finally:
        skewed.release()


def test_a_lock_whose_process_died_on_this_machine_is_taken_over_at_once(s3: Any, location: StateLocation) -> None:
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    dead = RemoteState(s3, location, say=lambda _l: None)
    dead.owner = f"{dead.owner.split(':')[0]}:{gone.strip()}:deadbeef"
    dead.acquire("cutover")
    dead._stop.set()
    told: list[str] = []
    RemoteState(s3, location, say=told.append).acquire("cutover")
    assert "taken over" in told[0]


def test_a_run_that_lost_its_lock_writes_nothing_more(s3: Any, location: StateLocation) -> None:
    remote = RemoteState(s3, location, say=lambda _l: None)
    remote.lost = "renewing it failed"
    records.write_json(location.local / records.VERIFY_RECORD, {"equal": True})
    with pytest.raises(StateConflict, match="lost the lock"):
        remote.push(location.local / records.VERIFY_RECORD)


def test_cutover_refused_by_the_lock_exits_1_and_changes_nothing(
    s3: Any, location: StateLocation, tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    holder = RemoteState(s3, another_machine(location, tmp_path), say=lambda _l: None)
    holder.acquire("cutover")
    out, err = io.StringIO(), io.StringIO()
    argv = ["--no-progress", "cutover", "--app-roles", "app", "--backend", "native", "--no-load-balancer"]
    code = main([*argv, "--state", str(location), "host=127.0.0.1 port=1 dbname=x", "host=127.0.0.1 port=1 dbname=y"], out, err)
    holder.release()
    assert code == 1 and "another run holds the state" in out.getvalue() and "Nothing changed" in out.getvalue()


def test_a_child_that_exited_unreaped_is_not_alive() -> None:
    """A holder this process started and that ended stays a zombie until reaped: not a holder still holding."""
    import subprocess
    import time

    from inventory_migration.migrationctl.records import process_alive

    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 5
    while process_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not process_alive(child.pid)
    child.wait()
