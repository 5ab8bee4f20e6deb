"""migrationctl params export against a real PostgreSQL (database/commands/params_export.py, database/params.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from inventory_migration.config import config_from_mapping
from tests.migrationctl.database.support import execute, run, run_json


def test_params_export(source_db: str, tmp_path: Path) -> None:
    execute(source_db, "ALTER DATABASE inv_source SET work_mem = '32MB'")
    execute(source_db, "ALTER DATABASE inv_source SET enable_seqscan = off")
    execute(source_db, "ALTER DATABASE inv_source SET random_page_cost = 1.1")
    try:
        code, report = run_json("params", "export", "--target-major", "16", source_db)
        fragment = tmp_path / "params.toml"
        code2, out, _ = run("params", "export", "--write", str(fragment), source_db)
    finally:
        execute(source_db, "ALTER DATABASE inv_source RESET ALL")
    assert code == 0 and code2 == 0 and "wrote" in out
    params = report["parameters"]
    assert params["work_mem"] == "32768" and params["enable_seqscan"] == "0" and params["random_page_cost"] == "1.1"
    assert params["max_connections"] == "100"
    skipped = {s["name"]: s["reason"] for s in report["skipped"]}
    assert "rds.logical_replication" in skipped["wal_level"] and "storage" in skipped["fsync"]
    assert "listen_addresses" in skipped and "shared_buffers" in skipped
    data = tomllib.loads(fragment.read_text())
    config = config_from_mapping({"aurora": data["aurora"]})
    assert config.aurora.source_parameters["work_mem"] == "32768"
