"""migrationctl schema pre-data|post-data against a real PostgreSQL (database/commands/schema.py, database/schema.py)."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.migrationctl.database.support import ATTACHED_SQL, PARTITIONED, copy_data, execute, run, run_json


def test_pre_and_post_data_phases(source_db: str, empty_db: str) -> None:
    code, out, _ = run("schema", "pre-data", source_db, empty_db)
    assert code == 0 and "pre-data: restored" in out
    with psycopg.connect(empty_db) as conn:
        indexes = {
            r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname IN ('catalog','inventory','audit')")
        }
        triggers = conn.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal").fetchone()[0]
        fks = conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()[0]
        functions = {
            r[0]
            for r in conn.execute("SELECT proname FROM pg_proc WHERE pronamespace::regnamespace::text IN ('inventory','audit')")
        }
    # Primary keys come before the load (DMS applies CDC by key); secondary indexes, FKs and triggers after.
    assert {"product_pkey", "stock_pkey", "category_pkey", "warehouse_pkey"} <= indexes
    assert not indexes & {
        "product_sku_lower_key",
        "product_active_by_category",
        "product_attributes_gin",
        "stock_low",
        "category_name_key",
    }
    assert triggers == 0 and fks == 0
    assert {"available", "restock", "log_stock_change"} <= functions
    # Idempotent: a second run restores nothing.
    code, out, _ = run("schema", "pre-data", source_db, empty_db)
    assert code == 0 and out.startswith("pre-data: restored 0 object(s)")
    code, report = run_json("verify", "--schema-only", source_db, empty_db)
    assert code == 1
    missing = {(d["kind"], d["name"]) for d in report["schema_differences"]}
    assert ("triggers", "inventory.stock.stock_audit") in missing and ("indexes", "catalog.product_attributes_gin") in missing

    copy_data(source_db, empty_db)
    code, out, _ = run("schema", "post-data", source_db, empty_db)
    assert code == 0 and "post-data: restored" in out, out
    code, out, _ = run("schema", "post-data", "--dry-run", source_db, empty_db)
    assert code == 0 and out.startswith("post-data: would restore 0 object(s)")
    code, report = run_json("verify", source_db, empty_db)
    assert code == 0 and report["equal"], report


def test_schema_phases_rerun_on_partitioned_tables(pg_pair: Any, empty_db: str) -> None:
    """Partitions and partition indexes are attached once: a re-run of either phase restores nothing."""
    pg_pair.source.psql("postgres", "CREATE DATABASE inv_partitioned")
    source = pg_pair.source.dsn("inv_partitioned")
    try:
        pg_pair.source.psql("inv_partitioned", PARTITIONED)
        for _ in range(2):
            code, out, err = run("schema", "pre-data", source, empty_db)
            assert code == 0, err
        assert out.startswith("pre-data: restored 0 object(s)"), out
        with psycopg.connect(empty_db) as conn:
            tables = {(r[1], r[2]) for r in conn.execute(ATTACHED_SQL) if r[0] in ("r", "p")}
        assert tables == {
            ("measurement_2020", "measurement"),
            ("measurement_2021", "measurement"),
            ("region_split_eu", "region_split"),
            ("region_split_us", "region_split"),
            ("region_split_us_0", "region_split_us"),
            ("region_split_us_1", "region_split_us"),
        }
        copy_data(source, empty_db)
        for _ in range(2):
            code, out, err = run("schema", "post-data", source, empty_db)
            assert code == 0, err
        assert out.startswith("post-data: restored 0 object(s)"), out
        with psycopg.connect(empty_db) as conn:
            indexes = {(r[1], r[2]) for r in conn.execute(ATTACHED_SQL) if r[0] in ("i", "I")}
            invalid = conn.execute(
                "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relnamespace = 'sales'::regnamespace AND NOT i.indisvalid"
            ).fetchone()[0]
        assert ("measurement_2020_pkey", "measurement_pkey") in indexes
        assert ("measurement_2021_reading_idx", "measurement_reading") in indexes
        assert ("region_split_us_0_id_idx", "region_split_us_id_idx") in indexes
        assert invalid == 0
        code, report = run_json("verify", source, empty_db)
        assert code == 0 and report["equal"], report
        assert {t["table"] for t in report["tables"]} >= {"sales.measurement_2020", "sales.region_split_us_1"}
    finally:
        pg_pair.source.psql("postgres", "DROP DATABASE inv_partitioned WITH (FORCE)")


def test_schema_restore_failure_is_one_line(source_db: str, pg_pair: Any, empty_db: str) -> None:
    execute(
        empty_db,
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'weak') THEN "
        "CREATE ROLE weak LOGIN PASSWORD 'weak-pw'; END IF; END $$; REVOKE CREATE ON DATABASE "
        + empty_db.split("dbname=")[1].split()[0]
        + " FROM PUBLIC",
    )
    target = pg_pair.target.dsn(pg_pair.database(empty_db), user="weak", password="weak-pw")
    code, _out, err = run("schema", "pre-data", source_db, target)
    assert code == 2 and err.startswith("migrationctl: error: pg_restore failed on the target") and err.count("\n") == 1
