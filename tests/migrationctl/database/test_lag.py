"""migrationctl lag against a real PostgreSQL (database/commands/lag.py, pg/lag.py)."""

from __future__ import annotations

import time

from tests.migrationctl.database.support import execute, run, run_json


def test_lag_reads_the_slot(source_db: str) -> None:
    execute(source_db, "SELECT pg_create_logical_replication_slot('dms_lag_test', 'test_decoding')")
    try:
        execute(source_db, "CREATE TABLE public.lag_noise AS SELECT g FROM generate_series(1, 10000) g")
        deadline = time.monotonic() + 10  # the servers commit asynchronously: the WAL is written a moment later (CI)
        while True:
            code, report = run_json("lag", source_db)
            assert code == 0
            slot = next(s for s in report["slots"] if s["slot"] == "dms_lag_test")
            if slot["confirmed_lag_bytes"] > 100_000 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert slot["plugin"] == "test_decoding" and slot["confirmed_lag_bytes"] > 100_000
        code, _out, _ = run("lag", "--max-bytes", "1000", source_db)
        assert code == 1
    finally:
        execute(source_db, "SELECT pg_drop_replication_slot('dms_lag_test'); DROP TABLE IF EXISTS public.lag_noise")
