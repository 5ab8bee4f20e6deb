"""migrationctl verify against a real PostgreSQL, exact, changed and live (database/commands/verify.py, database/verify.py, pg/data_parity.py, pg/schema_parity.py)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from inventory_migration.migrationctl.database import verify as verify_mod
from inventory_migration.migrationctl.pg.chunks import list_tables
from inventory_migration.migrationctl.pg.data_parity import DataParityOptions, data_parity
from tests.migrationctl.database.support import _product, execute, run, run_json, update_product


def test_exact_copy_verifies_equal(source_db: str, target_copy: str) -> None:
    code, report = run_json("verify", source_db, target_copy)
    assert code == 0, report
    assert report["equal"] and report["schema_differences"] == []
    tables = {t["table"]: t for t in report["tables"]}
    assert tables["catalog.product"]["source_rows"] == tables["catalog.product"]["target_rows"] == 3000
    assert tables["inventory.stock"]["source_rows"] == 4501  # composite key table
    assert "no primary key" in tables["audit.stock_event"]["note"]


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


@contextlib.contextmanager
def _databases(pg_pair: Any, name: str, setup: Callable[[str], str]) -> Iterator[tuple[str, str]]:
    """``<name>_src`` on the source server and ``<name>_tgt`` on the target, each given ``setup(database)``; their
    DSNs; dropped afterwards."""
    sides = ((pg_pair.source, f"{name}_src"), (pg_pair.target, f"{name}_tgt"))
    for server, db in sides:
        server.psql("postgres", f"CREATE DATABASE {db}")
    try:
        for server, db in sides:
            server.psql(db, setup(db))
        yield pg_pair.source.dsn(sides[0][1]), pg_pair.target.dsn(sides[1][1])
    finally:
        for server, db in sides:
            server.psql("postgres", f"DROP DATABASE {db} WITH (FORCE)")


def test_infinite_dates_and_timestamps_are_compared(pg_pair: Any) -> None:
    table = (
        "CREATE TABLE t (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz);"
        "INSERT INTO t VALUES (1, 'infinity', 'infinity', '-infinity'), (2, '-infinity', '-infinity', 'infinity'),"
        " (3, '2024-02-29', '2024-02-29 12:00', '2024-02-29 12:00+00');"
    )
    with _databases(pg_pair, "inf", lambda _db: table) as (src, tgt):
        assert run("verify", "--data-only", src, tgt)[0] == 0
        execute(tgt, "UPDATE t SET d = '-infinity' WHERE id = 1")
        code, report = run_json("verify", "--data-only", src, tgt)
        assert code == 1 and report["tables"][0]["changed"] == 1


def test_timestamps_with_time_zone_compare_as_instants_whatever_each_sides_time_zone(pg_pair: Any) -> None:
    def setup(db: str) -> str:
        zone = "UTC" if db.endswith("_src") else "Asia/Kolkata"
        return (
            f"ALTER DATABASE {db} SET timezone = '{zone}';"
            "CREATE TABLE t (id int PRIMARY KEY, tz timestamptz NOT NULL);"
            "INSERT INTO t VALUES (1, '2024-02-29 12:00:00.000001+00'), (2, 'infinity'), (3, '-infinity');"
        )

    with _databases(pg_pair, "tz", setup) as (src, tgt):
        assert run("verify", "--data-only", src, tgt)[0] == 0
        execute(tgt, "UPDATE t SET tz = tz + interval '1 microsecond' WHERE id = 1; UPDATE t SET tz = '-infinity' WHERE id = 2")
        code, report = run_json("verify", "--data-only", src, tgt)
        assert code == 1 and report["tables"][0]["changed"] == 2


def test_verify_reports_a_table_missing_on_target(source_db: str, target_copy: str) -> None:
    execute(target_copy, "DROP TABLE audit.stock_event")
    code, report = run_json("verify", "--data-only", source_db, target_copy)
    assert code == 1
    result = next(t for t in report["tables"] if t["table"] == "audit.stock_event")
    assert result["note"] == "missing on target" and not result["equal"]


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
        update_product(target_copy, assignment, row * 100)
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


def test_a_null_where_the_source_cannot_have_one_is_a_difference(source_db: str, target_copy: str) -> None:
    """The NOT NULL columns are hashed as a chain (the source's NOT NULL set, on both sides): a NULL on the target in
    such a column makes that row's hash NULL, and the chunk's count and sum still tell it apart."""
    execute(target_copy, "ALTER TABLE catalog.product ALTER COLUMN sku DROP NOT NULL")
    update_product(target_copy, "sku = NULL", 77)
    code, report = run_json("verify", "--data-only", "--tables", "catalog.product", source_db, target_copy)
    assert code == 1
    (product,) = report["tables"]
    assert product["changed"] == 1, product


def test_infinite_timestamps_are_compared_like_any_other(source_db: str, target_copy: str) -> None:
    import psycopg

    with psycopg.connect(source_db, autocommit=True) as conn:  # the session's source: put back afterwards
        original = conn.execute("SELECT created_at::text FROM catalog.product WHERE id = 5").fetchone()[0]  # type: ignore[index]
    try:
        for dsn in (source_db, target_copy):
            update_product(dsn, "created_at = 'infinity'", 5)
        assert run_json("verify", "--data-only", "--tables", "catalog.product", source_db, target_copy)[0] == 0
        update_product(target_copy, "created_at = '-infinity'", 5)
        code, report = run_json("verify", "--data-only", "--tables", "catalog.product", source_db, target_copy)
        assert code == 1 and report["tables"][0]["changed"] == 1
    finally:
        update_product(source_db, f"created_at = '{original}'", 5)


def test_a_differing_segment_is_never_checkpointed(source_db: str, target_copy: str, tmp_path: Path) -> None:
    update_product(target_copy, "price = price + 1", 42)
    state = tmp_path / "state.json"
    for _ in range(2):  # the second run resumes from the checkpoint and must still see the difference
        code, out, _ = run(
            "verify", "--data-only", "--tables", "catalog.product", "--state-file", str(state), source_db, target_copy
        )
        assert code == 1 and "changed: 42" in out


def test_a_row_in_flight_is_counted_apart_not_as_a_difference(source_db: str, target_copy: str) -> None:
    """The target lags: the row differs at first look and matches once replication has caught up."""
    update_product(target_copy, "price = price + 1", 77)
    caught_up: list[int] = []

    def settle() -> None:  # replication applies the change it was behind on
        update_product(target_copy, "price = price - 1", 77)
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
    update_product(target_copy, "price = price + 1", 79)
    code, _out, err = run("verify", "--data-only", "--live", "--settle-timeout", "1", source_db, target_copy)
    assert code == 2 and "did not apply a fence row within 1 s" in err


def test_a_sequence_behind_on_the_target_is_named_not_failed(source_db: str, target_copy: str) -> None:
    execute(target_copy, "SELECT setval('inventory.order_number_seq', 5)")
    code, report = run_json("verify", "--data-only", source_db, target_copy)
    assert code == 0 and any(s.startswith("inventory.order_number_seq: target 5") for s in report["sequences_behind"])


def test_a_schema_that_does_not_exist_is_a_usage_error(source_db: str, target_copy: str, tmp_path: Path) -> None:
    code, _out, err = run("verify", "--state", str(tmp_path), "--schemas", "nosuch", source_db, target_copy)
    assert code == 2 and err.count("\n") == 1, err
    assert "--schemas: no user schema nosuch on the source; its user schemas: audit, catalog" in err
    assert not (tmp_path / "verify-last.json").exists()


def test_equal_over_no_table_is_not_equal(source_db: str, target_copy: str, tmp_path: Path) -> None:
    execute(source_db, "CREATE SCHEMA IF NOT EXISTS empty_one")
    execute(target_copy, "CREATE SCHEMA IF NOT EXISTS empty_one")
    try:
        code, out, _err = run("verify", "--state", str(tmp_path), "--schemas", "empty_one", source_db, target_copy)
        assert code == 1 and "no table compared in empty_one: nothing to call equal" in out, out
        assert "schema: 0 difference(s)" in out and "sequences behind" not in out  # other schemas' are not this one's
        record = json.loads((tmp_path / "verify-last.json").read_text())
        assert record["equal"] is False and record["tables"] == 0 and record["schemas"] == ["empty_one"]
    finally:
        execute(source_db, "DROP SCHEMA IF EXISTS empty_one")


def test_a_verify_of_some_schemas_reports_no_grant_of_another(source_db: str, target_copy: str, tmp_path: Path) -> None:
    for dsn in (source_db, target_copy):
        execute(dsn, "DO $$ BEGIN CREATE ROLE verify_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    execute(source_db, "GRANT SELECT ON catalog.product TO verify_reader")  # on the source only: a difference in catalog
    try:
        _code, whole, _err = run("verify", "--state", str(tmp_path), "--schema-only", source_db, target_copy)
        assert "SELECT ON TABLE catalog.product TO verify_reader: missing on target" in whole
        _code, inventory, _err = run(
            "verify", "--state", str(tmp_path), "--schema-only", "--schemas", "inventory", source_db, target_copy
        )
        assert "schema: 0 difference(s)" in inventory, inventory
    finally:
        execute(source_db, "REVOKE SELECT ON catalog.product FROM verify_reader")


def test_a_row_that_changes_faster_than_replication_applies_is_in_flight(source_db: str, target_copy: str) -> None:
    """A hot row under a DMS task's apply latency: each settle brings the target to what the source held before it
    began, and the source has moved on by the time it returns. Compared with the source as read after the settle
    only, it differed every round (the DMS night's live verify named such a row "changed")."""

    def price(dsn: str) -> str:
        with psycopg.connect(dsn) as conn:
            return str(conn.execute("SELECT price::text FROM catalog.product WHERE id = 81").fetchone()[0])  # type: ignore[index]

    def settle() -> None:  # the target applies what the source had; the source changes the row again meanwhile
        update_product(target_copy, f"price = '{price(source_db)}'", 81)
        update_product(source_db, "price = price + 1", 81)

    update_product(source_db, "price = price + 1", 81)
    try:
        source, target = _product(source_db, target_copy)
        (result,) = data_parity(source_db, target_copy, source, target, DataParityOptions(jobs=1, settle=settle, rounds=3))
        assert result.equal and result.in_flight == 1
    finally:
        update_product(target_copy, f"price = '{price(source_db)}'", 81)
