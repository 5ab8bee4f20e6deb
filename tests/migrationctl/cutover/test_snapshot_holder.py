"""Armed snapshot holders (migrationctl/cutover/snapshot_holder.py): started and connected before the window, set off
at the switch point in milliseconds, ended with the run when never set off."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg

from inventory_migration.migrationctl.cutover import snapshot_holder
from inventory_migration.migrationctl.records import process_alive, read_json


def _holders(pg_server: Any) -> list[tuple[int, str | None]]:
    """The holders' backends: (pid, their transaction's xmin) — an idle armed one pins nothing."""
    with psycopg.connect(pg_server.dsn("postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, backend_xmin::text FROM pg_stat_activity WHERE application_name LIKE 'migrationctl%' "
            "AND pid <> pg_backend_pid() AND state IS NOT NULL"
        ).fetchall()
    return [(int(pid), xmin) for pid, xmin in rows]


def test_an_armed_holder_exports_its_snapshot_when_set_off(pg_server: Any, tmp_path: Path) -> None:
    dsns = {"source": pg_server.dsn("postgres")}
    snapshot_holder.arm(dsns, tmp_path)
    armed = read_json(tmp_path / "snapshot-source.armed")["pid"]
    try:
        started = time.monotonic()
        snapshots = snapshot_holder.start(dsns, tmp_path)
        took = time.monotonic() - started
        assert snapshot_holder.alive(snapshots["source"], tmp_path, "source")
        assert read_json(tmp_path / "snapshot-source.json")["pid"] == armed, "the armed process took it, not a new one"
        assert took < 0.5, f"setting off an armed holder took {took:.2f} s"
    finally:
        snapshot_holder.release(tmp_path, "source")


def test_disarm_ends_a_holder_never_set_off_and_leaves_a_holding_one(pg_server: Any, tmp_path: Path) -> None:
    dsns = {"source": pg_server.dsn("postgres"), "target": pg_server.dsn("postgres")}
    snapshot_holder.arm(dsns, tmp_path)
    armed = read_json(tmp_path / "snapshot-target.armed")["pid"]
    held = snapshot_holder.start({"source": dsns["source"]}, tmp_path)
    try:
        for side in dsns:
            snapshot_holder.disarm(tmp_path, side)
        assert not process_alive(armed)
        assert snapshot_holder.alive(held["source"], tmp_path, "source"), "disarm ended a holder that holds a snapshot"
    finally:
        snapshot_holder.release(tmp_path, "source")


def test_without_an_armed_holder_start_launches_one(pg_server: Any, tmp_path: Path) -> None:
    snapshots = snapshot_holder.start({"source": pg_server.dsn("postgres")}, tmp_path)
    try:
        assert snapshot_holder.alive(snapshots["source"], tmp_path, "source")
    finally:
        snapshot_holder.release(tmp_path, "source")


def test_arming_again_replaces_the_earlier_armed_holder(pg_server: Any, tmp_path: Path) -> None:
    dsns = {"source": pg_server.dsn("postgres")}
    snapshot_holder.arm(dsns, tmp_path)
    first = read_json(tmp_path / "snapshot-source.armed")["pid"]
    snapshot_holder.arm(dsns, tmp_path)
    try:
        assert not process_alive(first)
        assert read_json(tmp_path / "snapshot-source.armed")["pid"] != first
    finally:
        snapshot_holder.disarm(tmp_path, "source")
