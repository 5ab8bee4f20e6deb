"""migrationctl against a real PostgreSQL: two databases play source and target."""

from __future__ import annotations

import io
import json
import time
import tomllib
from pathlib import Path
from typing import Any

import psycopg
import pytest

from inventory_migration.config import config_from_mapping
from inventory_migration.migrationctl.cli import main
from inventory_migration.migrationctl.database import verify as verify_mod
from inventory_migration.migrationctl.pg.chunks import list_tables
from inventory_migration.migrationctl.pg.data_parity import DataParityOptions, data_parity


@pytest.fixture(autouse=True)
def _checkpoints_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify's default checkpoints go under the working directory; keep them out of the repository."""
    from inventory_migration.migrationctl import records

    monkeypatch.setattr(records, "STATE_DIR", tmp_path / ".migrationctl")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--no-progress", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> tuple[int, Any]:
    code, out, err = run("--output", "json", *argv)
    assert not err, err
    return code, json.loads(out)


def execute(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


# ----------------------------------------------------------------------------- schema + verify


def test_exact_copy_verifies_equal(source_db: str, target_copy: str) -> None:
    code, report = run_json("verify", source_db, target_copy)
    assert code == 0, report
    assert report["equal"] and report["schema_differences"] == []
    tables = {t["table"]: t for t in report["tables"]}
    assert tables["catalog.product"]["source_rows"] == tables["catalog.product"]["target_rows"] == 3000
    assert tables["inventory.stock"]["source_rows"] == 4501  # composite key table
    assert "no primary key" in tables["audit.stock_event"]["note"]


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


PARTITIONED = """
CREATE SCHEMA sales;
CREATE TABLE sales.measurement (
    id bigint NOT NULL, at date NOT NULL, reading numeric(10, 2), note text, PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE sales.measurement_2020 PARTITION OF sales.measurement FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE sales.measurement_2021 (id bigint NOT NULL, at date NOT NULL, reading numeric(10, 2), note text);
ALTER TABLE sales.measurement ATTACH PARTITION sales.measurement_2021 FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
CREATE INDEX measurement_reading ON sales.measurement (reading);
CREATE TABLE sales.region_split (id int NOT NULL, region text NOT NULL, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE sales.region_split_eu PARTITION OF sales.region_split FOR VALUES IN ('eu');
CREATE TABLE sales.region_split_us PARTITION OF sales.region_split FOR VALUES IN ('us') PARTITION BY HASH (id);
CREATE TABLE sales.region_split_us_0 PARTITION OF sales.region_split_us FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE sales.region_split_us_1 PARTITION OF sales.region_split_us FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE INDEX region_split_by_id ON sales.region_split (id);
INSERT INTO sales.measurement SELECT g, date '2020-01-01' + (g % 700), g / 7.0, 'n' || g FROM generate_series(1, 3000) g;
INSERT INTO sales.region_split SELECT g, (ARRAY['eu', 'us'])[1 + g % 2] FROM generate_series(1, 1000) g;
"""
ATTACHED_SQL = """
SELECT c.relkind::text, c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'sales' ORDER BY 1, 2
"""


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


def copy_data(source: str, target: str) -> None:
    from tests.conftest import copy_data as copy

    copy(source, target)


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (
            "UPDATE catalog.product SET price = price + 1 WHERE id = 1234",
            {"table": "catalog.product", "changed": 1, "range": "changed: 1234"},
        ),
        (
            "DELETE FROM catalog.product WHERE id BETWEEN 2001 AND 2010",
            {"table": "catalog.product", "missing": 10, "range": "missing: 2001 .. 2010"},
        ),
        (
            "INSERT INTO inventory.warehouse VALUES ('LON1', 'London', 'eu')",
            {"table": "inventory.warehouse", "extra": 1, "range": "extra: LON1"},
        ),
        (
            "UPDATE inventory.stock SET quantity = quantity + 1 WHERE warehouse_code = 'NYC1' AND product_id = 10",
            {"table": "inventory.stock", "changed": 1, "range": "changed: (NYC1, 10)"},
        ),
        (
            "DELETE FROM audit.stock_event WHERE ctid IN (SELECT ctid FROM audit.stock_event LIMIT 3)",
            {"table": "audit.stock_event", "missing": 3},
        ),
        (
            "UPDATE catalog.product SET thumbnail = '\\x00'::bytea WHERE id = 7",
            {"table": "catalog.product", "changed": 1, "range": "changed: 7"},
        ),
        (
            "UPDATE catalog.product SET attributes = attributes || '{\"x\": 1}' WHERE id = 2999",
            {"table": "catalog.product", "changed": 1},
        ),
    ],
)
def test_verify_finds_data_differences(source_db: str, target_copy: str, change: str, expect: dict[str, Any]) -> None:
    execute(target_copy, "SET session_replication_role = replica; " + change)
    code, report = run_json("verify", "--data-only", source_db, target_copy)
    assert code == 1
    result = next(t for t in report["tables"] if t["table"] == expect["table"])
    assert not result["equal"]
    for key in ("changed", "missing", "extra"):
        if key in expect:
            assert result[{"missing": "missing_on_target", "extra": "extra_on_target", "changed": "changed"}[key]] == expect[key]
    if "range" in expect:
        assert expect["range"] in result["differing_ranges"], result["differing_ranges"]
    others = [t for t in report["tables"] if t["table"] != expect["table"]]
    assert all(t["equal"] for t in others)


@pytest.mark.parametrize(
    ("change", "kind", "name", "problem"),
    [
        ("DROP INDEX catalog.product_active_by_category", "indexes", "catalog.product_active_by_category", "missing on target"),
        (
            "CREATE OR REPLACE FUNCTION inventory.available(p_product bigint) RETURNS bigint LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN 0; END $$",
            "functions",
            "inventory.available(bigint)",
            "differs",
        ),
        ("DROP TRIGGER stock_audit ON inventory.stock", "triggers", "inventory.stock.stock_audit", "missing on target"),
        (
            "CREATE OR REPLACE VIEW inventory.stock_summary AS SELECT p.id, p.sku, sum(s.quantity) + 0 AS total FROM catalog.product p "
            "JOIN inventory.stock s ON s.product_id = p.id GROUP BY p.id, p.sku",
            "views",
            "inventory.stock_summary",
            "differs",
        ),
        ("ALTER SEQUENCE inventory.order_number_seq INCREMENT BY 2", "sequences", "inventory.order_number_seq", "differs"),
        (
            "ALTER TABLE catalog.product DROP CONSTRAINT product_price_check",
            "constraints",
            "catalog.product.product_price_check",
            "missing on target",
        ),
        ("ALTER TABLE catalog.product ADD COLUMN colour text", "columns", "catalog.product.colour", "extra on target"),
        ("ALTER TYPE inventory.stock_status ADD VALUE 'recalled'", "types", "inventory.stock_status", "differs"),
        ("DROP PROCEDURE inventory.restock", "functions", "inventory.restock(character, bigint, integer)", "missing on target"),
    ],
)
def test_verify_finds_schema_differences(
    source_db: str, target_copy: str, change: str, kind: str, name: str, problem: str
) -> None:
    execute(target_copy, change)
    code, report = run_json("verify", "--schema-only", source_db, target_copy)
    assert code == 1
    found = {(d["kind"], d["name"], d["problem"]) for d in report["schema_differences"]}
    assert (kind, name, problem) in found, found


def test_verify_table_filter_and_text_output(source_db: str, target_copy: str) -> None:
    execute(target_copy, "SET session_replication_role = replica; DELETE FROM catalog.category WHERE id = 25")
    code, out, _ = run("verify", "--tables", "catalog.product,warehouse", source_db, target_copy)
    assert code == 0, out
    assert "catalog.product" in out and "inventory.warehouse" in out and "catalog.category" not in out
    assert "RESULT: target equals source" in out and "throughput:" in out
    code, out, _ = run("verify", "--data-only", "--tables", "catalog.category", source_db, target_copy)
    assert code == 1 and "missing: 25" in out and "RESULT: DIFFERENCES FOUND" in out


def test_verify_resumes_after_interruption(source_db: str, target_copy: str, tmp_path: Path) -> None:
    with psycopg.connect(source_db) as conn:
        tables = [t for t in list_tables(conn, ["catalog"]) if t.name == "product"]
    with psycopg.connect(target_copy) as conn:
        target_tables = list_tables(conn, ["catalog"])
    state = tmp_path / "state.json"
    options = DataParityOptions(chunk_rows=100, segment_rows=500, jobs=1, state_file=state)
    seen = []

    def interrupt_after_three(n: int) -> None:
        seen.append(n)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        data_parity(source_db, target_copy, tables, target_tables, options, progress=interrupt_after_three)
    done = json.loads(state.read_text())["segments"]
    assert len(done) >= 3  # the segment in flight when interrupted may finish too
    from inventory_migration.migrationctl.pg import data_parity as verify

    hashed: list[object] = []
    real_hashes = verify._hashes
    planned: list[int] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verify, "_hashes", lambda *args: hashed.append(args) or real_hashes(*args))
        results = data_parity(source_db, target_copy, tables, target_tables, options, on_planned=planned.append)
    assert planned[0] > len(done) and results[0].equal and results[0].source_rows == 3000
    # Checkpointed segments are not read again: one hash query per side for each remaining segment only.
    assert len(hashed) == 2 * (planned[0] - len(done))
    assert len(json.loads(state.read_text())["segments"]) == planned[0]


def test_a_checkpoint_is_not_reused_for_a_segment_planned_differently(pg_pair: Any, tmp_path: Path) -> None:
    """The table changed between two runs so that the plan's segments moved: the second run compares its segments
    anew (a checkpoint is found by the segment's exact range, never by its position in the plan)."""
    dbs = {"source": (pg_pair.source, "plan_src"), "target": (pg_pair.target, "plan_tgt")}
    for server, db in dbs.values():
        server.psql("postgres", f"CREATE DATABASE {db}")
        server.psql(
            db, "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 3000) g; ANALYZE t"
        )
    src, tgt = (server.dsn(db) for server, db in dbs.values())
    try:
        state = tmp_path / "state.json"
        options = DataParityOptions(chunk_rows=100, segment_rows=500, jobs=1, state_file=state)

        def compare() -> list[Any]:
            with psycopg.connect(src) as s_conn, psycopg.connect(tgt) as t_conn:
                return data_parity(src, tgt, list_tables(s_conn, ["public"]), list_tables(t_conn, ["public"]), options)

        assert compare()[0].equal and state.exists()
        for dsn in (src, tgt):
            execute(dsn, "DELETE FROM t WHERE id <= 1234; ANALYZE t")
        execute(tgt, "UPDATE t SET v = -1 WHERE id = 1700")
        again = compare()[0]
        assert not again.equal and again.changed == 1
    finally:
        for server, db in dbs.values():
            server.psql("postgres", f"DROP DATABASE {db} WITH (FORCE)")


def test_rows_below_the_source_keys_are_compared(source_db: str, target_copy: str) -> None:
    """A single-integer key below the source's smallest one exists on the target only: extra, not unseen."""
    execute(
        target_copy,
        "SET session_replication_role = replica; "
        "INSERT INTO catalog.product (id, sku, name, price, category_id) "
        "SELECT -5, 'NEG-5', name, price, category_id FROM catalog.product WHERE id = 1",
    )
    code, report = run_json("verify", "--data-only", "--tables", "catalog.product", source_db, target_copy)
    result = report["tables"][0]
    assert code == 1 and result["extra_on_target"] == 1 and "extra: -5" in result["differing_ranges"]


def test_a_resumed_verify_is_as_old_as_its_oldest_segment(source_db: str, target_copy: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = verify_mod.run(
        verify_mod.VerifyRequest(source_dsn=source_db, target_dsn=target_copy, tables=("catalog.product",)),
        checkpoint_for=lambda _tables: state,
    )
    assert first.equal and not state.exists()  # a clean run leaves no checkpoint
    with psycopg.connect(source_db) as conn:
        product = [t for t in list_tables(conn, ["catalog"]) if t.name == "product"]
    options = DataParityOptions(state_file=state, jobs=1)
    data_parity(source_db, target_copy, product, product, options)
    saved = json.loads(state.read_text())
    for entry in saved["segments"].values():
        entry["at"] -= 30 * 3600  # compared 30 hours ago
    state.write_text(json.dumps(saved))
    again = verify_mod.run(
        verify_mod.VerifyRequest(source_dsn=source_db, target_dsn=target_copy, tables=("catalog.product",)),
        checkpoint_for=lambda _tables: state,
    )
    assert again.equal and again.as_of <= time.time() - 30 * 3600 + 5


def test_infinite_dates_and_timestamps_are_compared(pg_pair: Any) -> None:
    pg_pair.source.psql("postgres", "CREATE DATABASE inf_src")
    pg_pair.target.psql("postgres", "CREATE DATABASE inf_tgt")
    try:
        for server, db in ((pg_pair.source, "inf_src"), (pg_pair.target, "inf_tgt")):
            server.psql(
                db,
                "CREATE TABLE t (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz);"
                "INSERT INTO t VALUES (1, 'infinity', 'infinity', '-infinity'), (2, '-infinity', '-infinity', 'infinity'),"
                " (3, '2024-02-29', '2024-02-29 12:00', '2024-02-29 12:00+00');",
            )
        src, tgt = pg_pair.source.dsn("inf_src"), pg_pair.target.dsn("inf_tgt")
        assert run("verify", "--data-only", src, tgt)[0] == 0
        execute(tgt, "UPDATE t SET d = '-infinity' WHERE id = 1")
        code, report = run_json("verify", "--data-only", src, tgt)
        assert code == 1 and report["tables"][0]["changed"] == 1
    finally:
        pg_pair.source.psql("postgres", "DROP DATABASE inf_src WITH (FORCE)")
        pg_pair.target.psql("postgres", "DROP DATABASE inf_tgt WITH (FORCE)")


def test_verify_reports_a_table_missing_on_target(source_db: str, target_copy: str) -> None:
    execute(target_copy, "DROP TABLE audit.stock_event")
    code, report = run_json("verify", "--data-only", source_db, target_copy)
    assert code == 1
    result = next(t for t in report["tables"] if t["table"] == "audit.stock_event")
    assert result["note"] == "missing on target" and not result["equal"]


# ----------------------------------------------------------------------------- sequences


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


# ----------------------------------------------------------------------------- preflight, params, lag


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


def test_lag_reads_the_slot(source_db: str) -> None:
    execute(source_db, "SELECT pg_create_logical_replication_slot('dms_lag_test', 'test_decoding')")
    try:
        execute(source_db, "CREATE TABLE public.lag_noise AS SELECT g FROM generate_series(1, 10000) g")
        code, report = run_json("lag", source_db)
        assert code == 0
        slot = next(s for s in report["slots"] if s["slot"] == "dms_lag_test")
        assert slot["plugin"] == "test_decoding" and slot["confirmed_lag_bytes"] > 100_000
        code, _out, _ = run("lag", "--max-bytes", "1000", source_db)
        assert code == 1
    finally:
        execute(source_db, "SELECT pg_drop_replication_slot('dms_lag_test'); DROP TABLE IF EXISTS public.lag_noise")


# ----------------------------------------------------------------------------- bad input


def test_unreachable_server() -> None:
    code, out, err = run("preflight", "host=127.0.0.1 port=1 dbname=x user=x password=secret-pw connect_timeout=2")
    assert code == 2 and out == ""
    assert err.startswith("migrationctl: error: cannot connect to the source (host 127.0.0.1 port 1 database x user x)")
    assert "secret-pw" not in err and "Traceback" not in err and err.count("\n") == 1


def test_wrong_password(pg_server: Any) -> None:
    code, _out, err = run("verify", pg_server.dsn("postgres", password="wrong"), pg_server.dsn("postgres"))
    assert code == 2 and "password authentication failed" in err and "wrong" not in err.replace("wrong password", "")
    assert err.count("\n") == 1


def test_missing_privileges(pg_server: Any, source_db: str, target_copy: str) -> None:
    execute(
        source_db,
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nobody') THEN "
        "CREATE ROLE nobody LOGIN PASSWORD 'nobody-pw'; END IF; END $$",
    )
    code, _out, err = run("verify", "--data-only", pg_server.dsn("inv_source", user="nobody", password="nobody-pw"), target_copy)
    assert code == 2 and err.startswith("migrationctl: error:") and "permission denied" in err and err.count("\n") == 1


def test_unknown_table(source_db: str, target_copy: str) -> None:
    code, _out, err = run("verify", "--tables", "catalog.nope", source_db, target_copy)
    assert code == 2 and "unknown table(s) in --tables: catalog.nope" in err and err.count("\n") == 1


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


def test_verify_does_not_compare_data_when_columns_differ(source_db: str, target_copy: str) -> None:
    execute(target_copy, "ALTER TABLE catalog.product ALTER COLUMN name TYPE varchar(200)")
    code, report = run_json("verify", source_db, target_copy)
    assert code == 1
    product = next(t for t in report["tables"] if t["table"] == "catalog.product")
    assert product["note"].startswith("missing columns or other types on target") and not product["equal"]
    assert ("columns", "catalog.product.name", "differs") in {
        (d["kind"], d["name"], d["problem"]) for d in report["schema_differences"]
    }


def test_every_column_type_of_the_seed_takes_part_in_the_row_hash(source_db: str, target_copy: str) -> None:
    # One change per column, each on its own row: every one must be found.
    changes = {
        1: "sku = sku || 'x'",
        2: "category_id = 3 - (category_id % 2)",
        3: "name = name || ' '",
        4: "description = NULL",
        5: "price = price + 0.01",
        6: "attributes = '{}'",
        7: "thumbnail = NULL",
        8: "image_path = '/x'",
        9: "created_at = created_at + interval '1 microsecond'",
        10: "discontinued = NOT discontinued",
    }
    for row, assignment in changes.items():
        execute(
            target_copy, f"SET session_replication_role = replica; UPDATE catalog.product SET {assignment} WHERE id = {row * 100}"
        )
    execute(
        target_copy,
        "SET session_replication_role = replica; UPDATE inventory.stock SET status = 'discontinued' "
        "WHERE status = 'in_stock' AND warehouse_code = 'SFO1' AND product_id = 6",
    )
    code, report = run_json("verify", "--data-only", "--tables", "catalog.product,inventory.stock", source_db, target_copy)
    assert code == 1
    tables = {t["table"]: t for t in report["tables"]}
    assert tables["catalog.product"]["changed"] == len(changes)
    assert tables["inventory.stock"]["changed"] == 1


def test_console_script_as_a_user_runs_it(source_db: str, target_copy: str, tmp_path: Path) -> None:
    """The installed `migrationctl` entry point, DSNs from the environment, exit codes as documented."""
    import os
    import shutil
    import subprocess
    import sys

    binary = shutil.which("migrationctl", path=str(Path(sys.executable).parent))
    assert binary, "the package is installed editable by pipenv: migrationctl is on the venv's PATH"
    env = {**os.environ, "MIGRATION_SOURCE_DSN": source_db, "MIGRATION_TARGET_DSN": target_copy}
    ok = subprocess.run(
        [binary, "verify", "--tables", "inventory.warehouse"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert ok.returncode == 0 and "RESULT: target equals source" in ok.stdout
    assert "password" not in ok.stdout + ok.stderr
    bad = subprocess.run(
        [binary, "verify", "--tables", "nope"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    usage = subprocess.run([binary, "--output", "yaml", "lag"], env=env, capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "invalid choice: 'yaml'" in usage.stderr


def test_a_differing_segment_is_never_checkpointed(source_db: str, target_copy: str, tmp_path: Path) -> None:
    execute(target_copy, "SET session_replication_role = replica; UPDATE catalog.product SET price = price + 1 WHERE id = 42")
    state = tmp_path / "state.json"
    for _ in range(2):  # the second run resumes from the checkpoint and must still see the difference
        code, out, _ = run(
            "verify", "--data-only", "--tables", "catalog.product", "--state-file", str(state), source_db, target_copy
        )
        assert code == 1 and "changed: 42" in out


def test_preflight_blocks_a_source_without_logical_decoding() -> None:
    from harness.postgres import running_server

    settings = {"wal_level": "replica", "max_replication_slots": "0", "max_wal_senders": "0"}
    with running_server(settings=settings) as server:
        code, report = run_json("preflight", server.dsn("postgres"))
    assert code == 1 and not report["ready"]
    blockers = {f["check"]: f["message"] for f in report["findings"] if f["severity"] == "blocker"}
    assert "wal_level is replica" in blockers["wal-level"]
    assert {"replication-slots", "wal-senders"} <= set(blockers)


# ----------------------------------------------------------------------------- verify on live databases


def _product(source_db: str, target_copy: str) -> tuple[list[Any], list[Any]]:
    with psycopg.connect(source_db) as s_conn, psycopg.connect(target_copy) as t_conn:
        return (
            [t for t in list_tables(s_conn, ["catalog"]) if t.name == "product"],
            list_tables(t_conn, ["catalog"]),
        )


def test_a_row_in_flight_is_counted_apart_not_as_a_difference(source_db: str, target_copy: str) -> None:
    """The target lags: the row differs at first look and matches once replication has caught up."""
    execute(target_copy, "SET session_replication_role = replica; UPDATE catalog.product SET price = price + 1 WHERE id = 77")
    caught_up: list[int] = []

    def settle() -> None:  # replication applies the change it was behind on
        execute(target_copy, "SET session_replication_role = replica; UPDATE catalog.product SET price = price - 1 WHERE id = 77")
        caught_up.append(1)

    source, target = _product(source_db, target_copy)
    (result,) = data_parity(source_db, target_copy, source, target, DataParityOptions(jobs=1, settle=settle))
    assert result.equal and result.in_flight == 1 and caught_up == [1]


def test_a_difference_that_outlasts_every_recheck_stands(source_db: str, target_copy: str) -> None:
    execute(target_copy, "SET session_replication_role = replica; DELETE FROM catalog.product WHERE id = 78")
    rounds: list[int] = []
    source, target = _product(source_db, target_copy)
    (result,) = data_parity(
        source_db, target_copy, source, target, DataParityOptions(jobs=1, settle=lambda: rounds.append(1), rounds=3)
    )
    assert not result.equal and result.missing_on_target == 1 and result.in_flight == 0 and len(rounds) == 3
    assert "missing: 78" in result.differing_ranges


def test_live_verify_without_replication_says_so(source_db: str, target_copy: str) -> None:
    execute(target_copy, "SET session_replication_role = replica; UPDATE catalog.product SET price = price + 1 WHERE id = 79")
    code, _out, err = run("verify", "--data-only", "--live", "--settle-timeout", "1", source_db, target_copy)
    assert code == 2 and "did not apply a fence row within 1 s" in err


def test_a_sequence_behind_on_the_target_is_named_not_failed(source_db: str, target_copy: str) -> None:
    execute(target_copy, "SELECT setval('inventory.order_number_seq', 5)")
    code, report = run_json("verify", "--data-only", source_db, target_copy)
    assert code == 0 and any(s.startswith("inventory.order_number_seq: target 5") for s in report["sequences_behind"])
