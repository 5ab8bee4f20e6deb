"""The cutover's gates (migrationctl/cutover/gates.py) that need no database: the lag gate and the recorded verdicts."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.migrationctl.cutover import replication
from inventory_migration.migrationctl.cutover.gates import lag_gate, record_gate
from inventory_migration.migrationctl.cutover.replication import DmsReplication, Lag, NativeReplication
from inventory_migration.migrationctl.cutover.settings import Settings
from inventory_migration.migrationctl.pg import lag as lag_mod


@dataclasses.dataclass
class FakeBackend:
    lag: Lag
    lag_measures: tuple[str, ...] = ("bytes", "seconds")
    running: bool = True
    name: str = "fake"

    def forward_running(self) -> bool:
        return self.running

    def forward_lag(self, _source: Any) -> Lag:
        return self.lag


def settings(backend: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "source_dsn": "",
        "target_dsn": "",
        "app_roles": ("app",),
        "backend": backend,
        "state_dir": Path("/nonexistent"),
    }
    return Settings(**(values | overrides))


def test_the_lag_gate_passes_when_every_measure_is_known_and_small() -> None:
    gate = lag_gate(settings(FakeBackend(Lag(bytes=10, seconds=1.0))), None)
    assert gate.ok, gate.detail


def test_a_lag_cloudwatch_has_no_data_points_for_fails_the_gate() -> None:
    gate = lag_gate(settings(FakeBackend(Lag(bytes=10, seconds=None, why_unknown="no data points"))), None)
    assert not gate.ok and "lag in seconds unknown (no data points)" in gate.detail


def test_the_byte_threshold_applies_to_dms_too() -> None:
    gate = lag_gate(settings(FakeBackend(Lag(bytes=10_000, seconds=1.0)), max_lag_bytes=1_000), None)
    assert not gate.ok and "lag 10000 B over 1000 B" in gate.detail


def test_running_alone_is_not_enough() -> None:
    gate = lag_gate(settings(FakeBackend(Lag(), lag_measures=("bytes",))), None)
    assert not gate.ok and "lag in bytes unknown" in gate.detail


def test_a_stopped_replication_fails_the_gate_whatever_its_lag() -> None:
    assert not lag_gate(settings(FakeBackend(Lag(bytes=0, seconds=0.0), running=False)), None).ok


def test_dms_measures_bytes_on_its_slot_and_seconds_in_cloudwatch(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = DmsReplication(
        dms=None, cloudwatch=None, forward_task_arn="arn:aws:dms:us-east-1:1:task:X", forward_slot="dms_slot"
    )
    monkeypatch.setattr(lag_mod, "dms_lag", lambda *_a: lag_mod.DmsLag("arn", "X", "i", 2.0, 3.0, None))
    monkeypatch.setattr(replication, "slot_lag", lambda _conn, slot: 4096 if slot == "dms_slot" else None)
    assert backend.forward_lag(None) == Lag(bytes=4096, seconds=5.0)
    assert backend.lag_measures == ("bytes", "seconds") and NativeReplication.lag_measures == ("bytes",)


def _record(tmp_path: Path, **fields: Any) -> Path:
    path = tmp_path / "verify-last.json"
    base = {"at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "equal": True, "schemas": ["shop"], "tables": 3}
    path.write_text(json.dumps(base | fields))
    return path


def test_a_clean_recent_record_over_every_schema_passes(tmp_path: Path) -> None:
    gate = record_gate(_record(tmp_path), "recent clean verify", 24, time.time, schemas=["shop"])
    assert gate.ok, gate.detail


def test_equal_over_no_table_is_no_verdict(tmp_path: Path) -> None:
    gate = record_gate(_record(tmp_path, tables=0), "recent clean verify", 24, time.time, schemas=["shop"])
    assert not gate.ok and "no table compared" in gate.detail


def test_a_record_of_other_schemas_does_not_cover_the_source(tmp_path: Path) -> None:
    gate = record_gate(_record(tmp_path, schemas=["nosuch"]), "recent clean verify", 24, time.time, schemas=["shop"])
    assert not gate.ok and "schema(s) shop not compared" in gate.detail


def test_a_record_that_does_not_say_what_it_compared_is_refused(tmp_path: Path) -> None:
    path = _record(tmp_path)
    record = json.loads(path.read_text())
    del record["schemas"]
    path.write_text(json.dumps(record))
    gate = record_gate(path, "recent clean verify", 24, time.time, schemas=["shop"])
    assert not gate.ok and "run verify again" in gate.detail


def test_a_record_older_than_the_limit_is_refused(tmp_path: Path) -> None:
    gate = record_gate(_record(tmp_path), "recent clean verify", 24, lambda: time.time() + 25 * 3600, schemas=["shop"])
    assert not gate.ok and "25.0 h ago" in gate.detail
