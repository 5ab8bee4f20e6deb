"""migrationctl preflight against a real PostgreSQL (database/commands/preflight.py, database/preflight.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.migrationctl.database.support import execute, run, run_json


def test_preflight_on_the_seeded_source(source_db: str) -> None:
    code, report = run_json("preflight", source_db)
    assert code == 0 and report["ready"]
    checks = {f["check"]: f for f in report["findings"]}
    assert checks["tables-without-primary-key"]["severity"] == "warning"
    assert checks["tables-without-primary-key"]["details"] == ["audit.stock_event"]
    assert "catalog.product.attributes (jsonb)" in checks["lob-columns"]["details"]
    assert "catalog.product.thumbnail (bytea)" in checks["lob-columns"]["details"]
    assert checks["server-version"]["severity"] == "info"
    assert any("inventory.stock.status" in d for d in checks["user-defined-types"]["details"])
    assert "plpgsql" in checks["extensions-in-use"]["details"]
    code, out, _ = run("preflight", "--fail-on", "warning", source_db)
    assert code == 1 and "READY with warnings" in out


def test_preflight_blockers(pg_server: Any, source_db: str, tmp_path: Path) -> None:
    execute(
        source_db,
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader') THEN "
        "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; END IF; END $$",
    )
    execute(source_db, "GRANT USAGE ON SCHEMA catalog TO reader; GRANT SELECT ON catalog.product TO reader")
    execute(source_db, "CREATE TABLE IF NOT EXISTS public.blobs (id int PRIMARY KEY, data oid)")
    extensions = tmp_path / "ext.txt"
    extensions.write_text("# nothing allowed\n")
    try:
        code, report = run_json(
            "preflight",
            "--supported-extensions",
            str(extensions),
            pg_server.dsn("inv_source", user="reader", password="reader-pw"),
        )
    finally:
        execute(source_db, "DROP TABLE public.blobs")
        # The source is the session's: a grant left here would be a difference for every later verify.
        execute(source_db, "REVOKE USAGE ON SCHEMA catalog FROM reader; REVOKE SELECT ON catalog.product FROM reader")
    assert code == 1 and not report["ready"]
    blockers = {f["check"] for f in report["findings"] if f["severity"] == "blocker"}
    assert {"replication-privilege", "select-privilege", "extensions", "column-types"} <= blockers


def test_preflight_blocks_a_source_without_logical_decoding() -> None:
    from harness.postgres import running_server

    settings = {"wal_level": "replica", "max_replication_slots": "0", "max_wal_senders": "0"}
    with running_server(settings=settings) as server:
        code, report = run_json("preflight", server.dsn("postgres"))
    assert code == 1 and not report["ready"]
    blockers = {f["check"]: f["message"] for f in report["findings"] if f["severity"] == "blocker"}
    assert "wal_level is replica" in blockers["wal-level"]
    assert {"replication-slots", "wal-senders"} <= set(blockers)
