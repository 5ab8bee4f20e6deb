"""migrationctl sequences sync against a real PostgreSQL (database/commands/sequences_sync.py, pg/sequences.py)."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.migrationctl.database.support import execute, run, run_json


def test_sequences_sync(source_db: str, target_copy: str) -> None:
    execute(target_copy, "SELECT setval('inventory.order_number_seq', 100000)")
    code, report = run_json("sequences", "sync", "--dry-run", source_db, target_copy)
    assert code == 0
    plan = {s["sequence"]: s for s in report["sequences"]}
    assert plan["inventory.order_number_seq"] == {
        "sequence": "inventory.order_number_seq",
        "source": 123457,
        "target": 100000,
        "new": 124457,
        "action": "set",
    }
    code, _out, _ = run("sequences", "sync", "--gap", "1000", source_db, target_copy)
    assert code == 0
    with psycopg.connect(target_copy) as conn:
        assert conn.execute("SELECT nextval('inventory.order_number_seq')").fetchone()[0] == 124458
        assert conn.execute("SELECT last_value FROM catalog.product_id_seq").fetchone()[0] == 3000 + 1000
    code, report = run_json("sequences", "sync", source_db, target_copy)
    assert {s["action"] for s in report["sequences"]} == {"unchanged"}
    execute(target_copy, "DROP SEQUENCE inventory.order_number_seq")
    code, out, _ = run("sequences", "sync", source_db, target_copy)
    assert code == 1 and "missing on target" in out


def test_a_sequence_the_user_cannot_read_is_an_error_not_unused(pg_server: Any, source_db: str, target_copy: str) -> None:
    pg_server.psql(
        "postgres", "DO $$ BEGIN CREATE ROLE seq_reader LOGIN PASSWORD 'pw'; EXCEPTION WHEN duplicate_object THEN END $$"
    )
    execute(
        source_db,
        "GRANT USAGE ON SCHEMA inventory, catalog, audit TO seq_reader; GRANT SELECT ON ALL SEQUENCES IN SCHEMA catalog TO seq_reader",
    )
    limited = pg_server.dsn("inv_source", user="seq_reader", password="pw")
    try:
        code, _out, err = run("sequences", "sync", "--dry-run", limited, target_copy)
    finally:  # the source is the session's: a grant left here would be a difference for every later verify
        execute(
            source_db,
            "REVOKE USAGE ON SCHEMA inventory, catalog, audit FROM seq_reader; "
            "REVOKE SELECT ON ALL SEQUENCES IN SCHEMA catalog FROM seq_reader",
        )
    assert code == 2 and "cannot read" in err and "inventory.order_number_seq" in err
