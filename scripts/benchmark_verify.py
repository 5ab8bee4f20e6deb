"""Benchmark (not a test): ``migrationctl verify`` data parity vs. the COPY floor and reladiff, same run, same tables.

Loads a generated dataset (>= 1 GB on the source by default) into a throwaway local PostgreSQL server (the test
fixture's), copies it to a second database, then measures on the same tables:

* the floor for reading the data: every table of both sides streamed out with ``COPY (SELECT * FROM t) TO STDOUT``,
  both sides in parallel;
* ``migrationctl verify`` data parity (server-side row hashes per key chunk, both sides in parallel);
* the same verify with the previous release's row hash (what this release changed, before/after in one run);
* the best peer, ``reladiff`` (hash-bisection diff across databases), every table, every column.

The floors and both verifies run in interleaved rounds (each once per round; medians, and the ratio per round).
Throughput counts the heap bytes and rows of both sides over wall time. Targets on 2 cores: verify >= 70 % of the
COPY floor and >= 2x reladiff.

    make bench-verify        # or: pipenv run python scripts/benchmark_verify.py [--rows 5500000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.postgres import PASSWORD, SUPERUSER, running_server  # noqa: E402
from inventory_migration.migrationctl.pg.chunks import Table, list_tables  # noqa: E402
from inventory_migration.migrationctl.pg.data_parity import DataParityOptions, data_parity  # noqa: E402

SCHEMA = "bench"
DDL = f"""
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.order_line (
    id bigint PRIMARY KEY, order_id bigint NOT NULL, sku text NOT NULL, quantity integer NOT NULL,
    unit_price numeric(12, 2) NOT NULL, status text NOT NULL, attributes jsonb, created_at timestamptz NOT NULL, note text
);
CREATE TABLE {SCHEMA}.stock_snapshot (
    warehouse text NOT NULL, product_id bigint NOT NULL, day date NOT NULL, quantity integer NOT NULL,
    PRIMARY KEY (warehouse, product_id, day)
);
"""
LOAD = f"""
INSERT INTO {SCHEMA}.order_line
SELECT g, g / 5, 'SKU-' || lpad((g %% 100000)::text, 6, '0'), g %% 10 + 1, (g %% 10000) / 100.0,
       (ARRAY['new', 'paid', 'shipped', 'returned'])[g %% 4 + 1],
       jsonb_build_object('gift', g %% 7 = 0, 'channel', g %% 3, 'tags', jsonb_build_array('a', g %% 11)),
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', repeat(md5(g::text), 1 + g %% 3)
FROM generate_series(%(lo)s, %(hi)s) g;
"""
LOAD_SNAPSHOT = f"""
INSERT INTO {SCHEMA}.stock_snapshot
SELECT w, p, date '2025-01-01' + d, (p * 7 + d) %% 100
FROM unnest(ARRAY['BER1', 'NYC1', 'SFO1', 'SIN1']) w, generate_series(1, %(products)s) p, generate_series(0, 29) d;
"""


def load(dsn: str, rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DDL)
        step = 500_000
        bounds = [(lo, min(lo + step - 1, rows)) for lo in range(1, rows + 1, step)]

        def part(b: tuple[int, int]) -> None:
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(LOAD, {"lo": b[0], "hi": b[1]})

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(part, bounds))
        conn.execute(LOAD_SNAPSHOT, {"products": max(1, rows // 200)})
        conn.execute("VACUUM ANALYZE")


def copy_out(dsn: str, table: Table) -> int:
    total = 0
    statement = f'COPY (SELECT * FROM "{table.schema}"."{table.name}") TO STDOUT'
    with psycopg.connect(dsn) as conn, conn.cursor() as cur, cur.copy(statement) as copy:
        for block in copy:
            total += len(block)
    return total


def copy_floor(source: str, target: str, tables: list[Table]) -> None:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for table in tables:
            list(pool.map(copy_out, (source, target), (table, table)))


def deform_out(dsn: str, table: Table) -> None:
    """Read and deform every column of every row once, nothing else: ``count`` of a row-valued ``IS NOT NULL`` test
    would stop at the first NULL, so each column is counted (``count(c)`` deforms up to ``c``; the last one all)."""
    columns = ", ".join(f'count("{name}")' for name, _t, _k in table.columns)
    with psycopg.connect(dsn) as conn:
        conn.execute("SET jit = off")
        conn.execute(f'SELECT {columns} FROM ONLY "{table.schema}"."{table.name}"').fetchall()


def deform_floor(source: str, target: str, tables: list[Table]) -> None:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for table in tables:
            list(pool.map(deform_out, (source, target), (table, table)))


def profile(dsn: str, table: Table) -> list[tuple[str, float]]:
    """Where a row hash's time goes on ``table``: each column's hash over the table against counting that column
    (the read and deform), and the whole row hash with its chunking against the deform floor."""
    from psycopg import sql

    from inventory_migration.migrationctl.pg.chunks import row_hash

    out = []
    with psycopg.connect(dsn) as conn:
        conn.execute("SET jit = off")
        ident = sql.Identifier(table.schema, table.name)

        def seconds(statement: sql.Composable) -> float:
            started = time.perf_counter()
            conn.execute(statement).fetchall()
            return time.perf_counter() - started

        floor = seconds(
            sql.SQL("SELECT {} FROM ONLY {}").format(
                sql.SQL(", ").join(sql.SQL("count({})").format(sql.Identifier(c)) for c, _t, _k in table.columns), ident
            )
        )
        out.append(("read + deform every column (floor)", floor))
        whole = seconds(
            sql.SQL("SELECT count(*), sum({}) FROM ONLY {} AS t").format(row_hash(table.columns, table.not_null), ident)
        )
        out.append(("row hash, summed (no chunks)", whole))
        for column in table.columns:
            counted = seconds(sql.SQL("SELECT count({}) FROM ONLY {}").format(sql.Identifier(column[0]), ident))
            hashed = seconds(sql.SQL("SELECT sum({}) FROM ONLY {} AS t").format(row_hash([column]), ident))
            out.append((f"  {column[0]} ({column[1]}): hash - count", hashed - counted))
    return out


DEFORM = "deform-scan floor (both sides)"
COPY = "COPY floor (both sides streamed)"
PREVIOUS = "verify, the previous release's row hash"
PREVIOUS_HASHES = {
    "timestamp with time zone": "interval_hash_extended(CASE WHEN isfinite({c}) THEN {c} - timestamptz 'epoch' "
    "WHEN {c} > timestamptz 'epoch' THEN interval '100000000 years' ELSE interval '-100000000 years' END, {s})",
}
"""What this release changed in the row hash, measured beside it in the same run (before/after)."""


def with_hashes(overrides: dict[str, str], fn: Callable[[], None]) -> None:
    from inventory_migration.migrationctl.pg import chunks

    saved = dict(chunks.VALUE_HASHES)
    chunks.VALUE_HASHES.update(overrides)
    try:
        fn()
    finally:
        chunks.VALUE_HASHES.clear()
        chunks.VALUE_HASHES.update(saved)


def run_verify(source: str, target: str, tables: list[Table], target_tables: list[Table], jobs: int) -> None:
    results = data_parity(source, target, tables, target_tables, DataParityOptions(jobs=jobs))
    assert all(r.equal for r in results), "benchmark copies must be equal"


def reladiff_url(port: int, db: str) -> str:
    return f"postgresql://{SUPERUSER}:{PASSWORD}@127.0.0.1:{port}/{db}"


def run_reladiff(port: int, tables: list[Table], threads: int) -> None:
    binary = Path(sys.executable).parent / "reladiff"
    for table in tables:
        keys = [arg for col in table.pk_columns for arg in ("-k", col)]
        cmd = [
            str(binary),
            reladiff_url(port, "bench_source"),
            f"{table.schema}.{table.name}",
            reladiff_url(port, "bench_target"),
            f"{table.schema}.{table.name}",
            *keys,
            "-c",
            "%",
            "-a",
            "hashdiff",
            "-j",
            str(threads),
            "--stats",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"reladiff failed on {table.qualified}: {proc.stderr.strip()[-500:]}")


def timed(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_500_000, help="rows of bench.order_line (default: 5.5 M, ~1 GB)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds, median reported (default: 5)")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2), help="verify --jobs")
    parser.add_argument("--no-reladiff", action="store_true", help="skip reladiff (quick runs)")
    args = parser.parse_args()
    with running_server(settings={"shared_buffers": "512MB", "max_parallel_workers_per_gather": "0"}) as server:
        server.psql("postgres", "CREATE DATABASE bench_source")
        source, target = server.dsn("bench_source"), server.dsn("bench_target")
        started = time.perf_counter()
        load(source, args.rows)
        server.psql("postgres", "CREATE DATABASE bench_target TEMPLATE bench_source")
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
        with psycopg.connect(source) as conn:
            tables = list_tables(conn, [SCHEMA])
            source_bytes = conn.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                (SCHEMA,),
            ).fetchone()[0]
            rows = sum(conn.execute(f'SELECT count(*) FROM "{t.schema}"."{t.name}"').fetchone()[0] for t in tables)
        with psycopg.connect(target) as conn:
            target_tables = list_tables(conn, [SCHEMA])
        heap = sum(t.heap_bytes for t in tables) * 2
        total_rows = rows * 2
        print(
            f"dataset: {len(tables)} tables, {rows:,} rows and {source_bytes / 1024**3:.2f} GiB (with indexes) per side; "
            f"heap compared {heap / 1024**2:.0f} MB over both sides; {os.cpu_count()} CPUs",
            flush=True,
        )
        for table in tables:
            print(f"\nprofile of {table.qualified} (one side, one backend):")
            for what, spent in profile(source, table):
                print(f"  {what:<58} {spent:7.2f} s")
        verify_name = f"migrationctl verify (--jobs {args.jobs})"
        tools: dict[str, Callable[[], None]] = {
            DEFORM: lambda: deform_floor(source, target, tables),
            COPY: lambda: copy_floor(source, target, tables),
            verify_name: lambda: run_verify(source, target, tables, target_tables, args.jobs),
            PREVIOUS: lambda: with_hashes(PREVIOUS_HASHES, lambda: run_verify(source, target, tables, target_tables, args.jobs)),
        }
        # Interleaved rounds (each tool once per round), so a machine that drifts slower or faster moves all of them.
        rounds: dict[str, list[float]] = {name: [] for name in tools}
        for _ in range(args.repeat):
            for name, fn in tools.items():
                rounds[name].append(timed(fn, 1))
        results = {name: statistics.median(times) for name, times in rounds.items()}
        for threads in () if args.no_reladiff else (1, 2):
            results[f"reladiff hashdiff (-j {threads})"] = timed(lambda t=threads: run_reladiff(server.port, tables, t), 1)
    print(f"\n{'tool':<40} {'seconds':>8} {'MB/s':>8} {'rows/s':>12}")
    for name, seconds in results.items():
        print(f"{name:<40} {seconds:>8.2f} {heap / 1024**2 / seconds:>8.1f} {total_rows / seconds:>12,.0f}")
    print()
    floor, deform, verify = results[COPY], results[DEFORM], results[verify_name]
    for label, name in (("verify", verify_name), ("the previous release's row hash", PREVIOUS)):
        per_round = ", ".join(f"{f / v:.0%}" for f, v in zip(rounds[DEFORM], rounds[name], strict=True))
        target = " (target >= 50%)" if name == verify_name else ""
        print(f"{label} / deform-scan floor throughput: {deform / results[name]:.0%}{target}; per round: {per_round}")
    print(f"verify / COPY floor throughput: {floor / verify:.0%}")
    reladiffs = [v for k, v in results.items() if k.startswith("reladiff")]
    if reladiffs:
        print(f"verify vs best reladiff: {min(reladiffs) / verify:.1f}x faster (target >= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
