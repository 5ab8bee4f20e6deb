"""Helpers the tests of this directory share (from test_migrationctl_db.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import psycopg

from inventory_migration.migrationctl.cli import main
from inventory_migration.migrationctl.pg.chunks import list_tables


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


def update_product(dsn: str, assignment: str, product_id: int) -> None:
    """Change one ``catalog.product`` row as replication would (triggers and foreign keys off)."""
    execute(dsn, f"SET session_replication_role = replica; UPDATE catalog.product SET {assignment} WHERE id = {product_id}")


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


def copy_data(source: str, target: str) -> None:
    from tests.conftest import copy_data as copy

    copy(source, target)


def _product(source_db: str, target_copy: str) -> tuple[list[Any], list[Any]]:
    with psycopg.connect(source_db) as s_conn, psycopg.connect(target_copy) as t_conn:
        return (
            [t for t in list_tables(s_conn, ["catalog"]) if t.name == "product"],
            list_tables(t_conn, ["catalog"]),
        )
