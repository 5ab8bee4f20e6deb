"""Fixtures of this directory's tests (from test_cutover.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl import records
from inventory_migration.migrationctl.cutover import snapshot_holder, switch
from tests.migrationctl.cutover.support import (
    Shop,
)


@pytest.fixture()
def shop(pg_pair: Any, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(records, "STATE_DIR", tmp_path / ".migrationctl")
    name = "co" + "".join(ch for ch in request.node.name.lower() if ch.isalnum())[:30]
    s = Shop(pg_pair, name, tmp_path / ".migrationctl")
    try:
        yield s.setup()
    finally:
        snapshot_holder.release(s.state_dir / "journal", "source")
        snapshot_holder.release(s.state_dir / "journal", "target")
        for server, db in ((pg_pair.target, f"{name}_tgt"), (pg_pair.source, f"{name}_src")):
            with psycopg.connect(server.dsn(db), autocommit=True) as conn:
                for sub in conn.execute(
                    "SELECT subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ):
                    conn.execute(f"ALTER SUBSCRIPTION {sub[0]} DISABLE")
                    conn.execute(f"ALTER SUBSCRIPTION {sub[0]} SET (slot_name = NONE)")
                    conn.execute(f"DROP SUBSCRIPTION {sub[0]}")
        for server, db in ((pg_pair.source, f"{name}_src"), (pg_pair.target, f"{name}_tgt")):
            with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
                for slot in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s", (db,)).fetchall():
                    conn.execute("SELECT pg_drop_replication_slot(%s)", (slot[0],))
            server.psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


@pytest.fixture()
def lb(moto_endpoint: str) -> tuple[Any, switch.Listener, dict[StackOutput, str]]:
    from harness.aws.clients import client
    from harness.night.load_balancer import create_load_balancer

    outputs = create_load_balancer(moto_endpoint, suffix=uuid.uuid4().hex[:6])  # one emulator for the module
    listener = switch.Listener(
        listener_arn=outputs[StackOutput.HTTPS_LISTENER_ARN],
        blue_target_group_arn=outputs[StackOutput.BLUE_TARGET_GROUP_ARN],
        green_target_group_arn=outputs[StackOutput.GREEN_TARGET_GROUP_ARN],
    )
    return client(moto_endpoint, "elbv2"), listener, outputs
