"""Benchmark (not a test): ``schema post-data`` serial vs. ``--jobs N`` vs. pgcopydb's index step, same run, same data.

Loads a generated inventory (>= 5 GB of tables by default) into a throwaway local PostgreSQL (Debian's 15: pgcopydb
0.10 supports up to 15) with the seed's index kinds: primary keys, btree on one and several columns, partial,
expression, unique expression, a unique constraint, GIN on jsonb, and foreign keys. A template database holds what
DMS leaves after its full load (``schema pre-data`` and the rows); each contender gets a fresh copy of it and builds
the post-data section:

* **serial**: the former ``schema post-data``: ``pg_restore --single-transaction --exit-on-error`` of the section;
* **migrationctl --jobs N**: one object per transaction, indexes in parallel, keys ``NOT VALID`` then validated;
* **pgcopydb**: ``pgcopydb copy indexes --index-jobs N``, ``copy constraints``, then its ``restore post-data`` (the
  foreign keys and the rest), the steps ``pgcopydb clone`` runs after its data copy.

Each result is checked with ``migrationctl verify --schema-only`` against the source. Targets: ``--jobs 2`` >= 1.6x
the serial restore and at least pgcopydb's speed.

    make bench-post-data    # or: pipenv run python scripts/benchmark_post_data.py [--gb 5] [--jobs 2]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.postgres import PASSWORD, SUPERUSER, running_server  # noqa: E402
from inventory_migration.migrationctl import pgtools  # noqa: E402
from inventory_migration.migrationctl.cli import main as migrationctl  # noqa: E402
from inventory_migration.migrationctl.database import schema as schema_mod  # noqa: E402

SCHEMA = "shop"
TABLES = f"""
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.customer (id bigint NOT NULL, email text NOT NULL, name text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE {SCHEMA}.product (
    id bigint NOT NULL, sku text NOT NULL, category_id integer NOT NULL, discontinued boolean NOT NULL,
    attributes jsonb NOT NULL
);
CREATE TABLE {SCHEMA}.orders (
    id bigint NOT NULL, customer_id bigint NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL
);
CREATE TABLE {SCHEMA}.order_line (
    id bigint NOT NULL, order_id bigint NOT NULL, product_id bigint NOT NULL, quantity integer NOT NULL,
    unit_price numeric(12, 2) NOT NULL, note text
);
"""
POST_DATA = f"""
ALTER TABLE {SCHEMA}.customer ADD CONSTRAINT customer_id_key UNIQUE (id);
ALTER TABLE {SCHEMA}.product ADD CONSTRAINT product_id_key UNIQUE (id);
ALTER TABLE {SCHEMA}.orders ADD CONSTRAINT orders_id_key UNIQUE (id);
ALTER TABLE {SCHEMA}.order_line ADD CONSTRAINT order_line_id_key UNIQUE (id);
ALTER TABLE {SCHEMA}.customer ADD CONSTRAINT customer_email_key UNIQUE (email);
CREATE UNIQUE INDEX product_sku_lower_key ON {SCHEMA}.product (lower(sku));
CREATE INDEX product_active_by_category ON {SCHEMA}.product (category_id) WHERE NOT discontinued;
CREATE INDEX product_attributes_gin ON {SCHEMA}.product USING gin (attributes);
CREATE INDEX customer_email_lower ON {SCHEMA}.customer (lower(email));
CREATE INDEX orders_by_customer ON {SCHEMA}.orders (customer_id, created_at);
CREATE INDEX orders_open ON {SCHEMA}.orders (created_at) WHERE status = 'open';
CREATE INDEX order_line_by_order ON {SCHEMA}.order_line (order_id);
CREATE INDEX order_line_by_product ON {SCHEMA}.order_line (product_id);
CREATE INDEX order_line_bulk ON {SCHEMA}.order_line (product_id, quantity) WHERE quantity > 5;
ALTER TABLE {SCHEMA}.orders ADD CONSTRAINT orders_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES {SCHEMA}.customer (id);
ALTER TABLE {SCHEMA}.order_line ADD CONSTRAINT order_line_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES {SCHEMA}.orders (id);
ALTER TABLE {SCHEMA}.order_line ADD CONSTRAINT order_line_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES {SCHEMA}.product (id);
"""
"""The source's post-data section, created after its rows (as a restore would). The keys are unique constraints,
not primary keys: schema pre-data creates primary keys before the load (DMS applies changes by key), and pgcopydb
0.10 cannot be told to skip them (its ``[exclude-index]`` filter query fails), so with primary keys the contenders
would not build the same objects. This way all three build the same 17."""
LOADS = {
    "customer": f"""INSERT INTO {SCHEMA}.customer SELECT g, 'user' || g || '@example.com', 'Customer ' || md5(g::text),
        timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g""",
    "product": f"""INSERT INTO {SCHEMA}.product SELECT g, 'SKU-' || lpad(g::text, 8, '0'), g %% 500, g %% 9 = 0,
        jsonb_build_object('color', (ARRAY['red', 'blue', 'green'])[g %% 3 + 1], 'size', g %% 40, 'tags',
        jsonb_build_array('t' || g %% 17, 't' || g %% 23)) FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g""",
    "orders": f"""INSERT INTO {SCHEMA}.orders SELECT g, 1 + g %% %(customers)s,
        (ARRAY['open', 'paid', 'shipped', 'closed', 'closed', 'closed'])[g %% 6 + 1],
        timestamptz '2023-01-01 00:00:00+00' + g * interval '7 seconds' FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g""",
    "order_line": f"""INSERT INTO {SCHEMA}.order_line SELECT g, 1 + g / 4, 1 + (g * 7919) %% %(products)s, 1 + g %% 12,
        (g %% 10000) / 100.0, CASE WHEN g %% 3 = 0 THEN repeat(md5(g::text), 2) END
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g""",
}
BYTES_PER_LINE = 110
"""Heap bytes per order_line row with its share of orders, customers and products (measured on PostgreSQL 15)."""


def load(dsn: str, gb: float) -> None:
    lines = int(gb * 1024**3 / BYTES_PER_LINE)
    counts = {"order_line": lines, "orders": lines // 4 + 1, "customer": max(lines // 40, 1000), "product": 200_000}
    params = {"customers": counts["customer"], "products": counts["product"]}
    chunks = [(t, lo, min(lo + 1_000_000 - 1, n)) for t, n in counts.items() for lo in range(1, n + 1, 1_000_000)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(TABLES)

    def part(chunk: tuple[str, int, int]) -> None:
        table, lo, hi = chunk
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(LOADS[table], {"lo": lo, "hi": hi, **params})

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(part, chunks))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(POST_DATA)
        conn.execute("VACUUM ANALYZE")


def clone(server: object, template: str, name: str) -> str:
    server.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[attr-defined]
    server.psql("postgres", f"CREATE DATABASE {name} TEMPLATE {template}")  # type: ignore[attr-defined]
    return str(server.dsn(name))  # type: ignore[attr-defined]


def run_serial(source: str, target: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(source) as s, psycopg.connect(target) as t:
        archive = Path(tmp) / "schema.dump"
        schema_mod.dump(source, archive, (SCHEMA,))
        plan = schema_mod.plan(schema_mod.Phase.POST_DATA, archive, s, t)
        schema_mod.apply(plan, archive, target)


def run_migrationctl(source: str, target: str, jobs: int) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = migrationctl(["--no-progress", "schema", "post-data", "--jobs", str(jobs), source, target], out, err)
    if code != 0:
        raise SystemExit(f"migrationctl schema post-data failed ({code}): {out.getvalue()[-2000:]}{err.getvalue()[-500:]}")
    slowest = sorted(out.getvalue().splitlines()[1:], key=lambda line: -float(line.rsplit(None, 2)[-2]))[:6]
    print("    slowest objects (stages overlap):\n" + "\n".join(f"    {line.strip()}" for line in slowest), flush=True)


def pg_url(port: int, db: str) -> str:
    return f"postgresql://{SUPERUSER}:{PASSWORD}@127.0.0.1:{port}/{db}"


def run_pgcopydb(port: int, source_db: str, target_db: str, jobs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="pgcopydb-"))
    common = ["--source", pg_url(port, source_db), "--target", pg_url(port, target_db), "--dir", str(work)]
    try:
        for step in (
            ["dump", "schema", "--source", pg_url(port, source_db), "--dir", str(work)],
            ["copy", "indexes", *common, "--index-jobs", str(jobs), "--resume", "--not-consistent"],
            ["copy", "constraints", *common, "--resume", "--not-consistent"],
            ["restore", "post-data", *common[2:], "--resume", "--not-consistent"],
        ):
            proc = subprocess.run(["pgcopydb", *step], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"pgcopydb {' '.join(step[:2])} failed: {proc.stderr.strip()[-1500:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def schema_equal(source: str, target: str) -> bool:
    out, err = io.StringIO(), io.StringIO()
    return migrationctl(["--no-progress", "verify", "--schema-only", source, target], out, err) == 0


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=5.0, help="heap of the generated tables, GiB (default: 5)")
    parser.add_argument("--jobs", type=int, default=2, help="migrationctl --jobs and pgcopydb --index-jobs (default: 2)")
    parser.add_argument(
        "--parallel-maintenance-workers",
        default="2,0",
        help="values of max_parallel_maintenance_workers (workers one CREATE INDEX may use) to run every contender "
        "under, comma-separated (default: 2,0: PostgreSQL's and Aurora's default, then one core per build, as on a "
        "writer with more vCPUs than one build takes)",
    )
    args = parser.parse_args()
    have_pgcopydb = shutil.which("pgcopydb") is not None
    settings = {
        "shared_buffers": "1GB",
        "maintenance_work_mem": "256MB",
        "max_wal_size": "8GB",
        "checkpoint_timeout": "30min",
    }
    with running_server(settings=settings) as server:
        server.psql("postgres", "CREATE DATABASE bench_source")
        source = str(server.dsn("bench_source"))
        started = time.perf_counter()
        load(source, args.gb)
        server.psql("postgres", "CREATE DATABASE bench_loaded")
        loaded = str(server.dsn("bench_loaded"))
        code = migrationctl(["--no-progress", "schema", "pre-data", source, loaded], io.StringIO(), io.StringIO())
        assert code == 0, "pre-data failed"
        for db in ("bench_source", "bench_loaded"):  # the cutover's fence: not what this measures
            server.psql(db, "DROP SCHEMA IF EXISTS migration_control CASCADE")
        dump = subprocess.run(
            [pgtools.find_program("pg_dump"), "--data-only", "--format=custom", "--dbname", pg_url(server.port, "bench_source")],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(
            [pgtools.find_program("pg_restore"), "--data-only", "--dbname", pg_url(server.port, "bench_loaded")],
            input=dump,
            capture_output=True,
            check=True,
        )
        with psycopg.connect(loaded, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            heap: Any = conn.execute(
                "SELECT sum(pg_relation_size(c.oid)), sum(c.reltuples)::bigint FROM pg_class c "
                "WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r'",
                (SCHEMA,),
            ).fetchone()
        print(
            f"dataset: 4 tables, {heap[1]:,} rows, {heap[0] / 1024**3:.2f} GiB of heap; 14 indexes and "
            f"unique constraints, 3 foreign keys; loaded in {time.perf_counter() - started:.0f} s; {os.cpu_count()} CPUs",
            flush=True,
        )
        contenders: dict[str, Callable[[str, str], None]] = {
            "serial restore (--single-transaction)": run_serial,
            f"migrationctl --jobs {args.jobs}": lambda s, t: run_migrationctl(s, t, args.jobs),
        }
        if have_pgcopydb:
            contenders[f"pgcopydb (--index-jobs {args.jobs})"] = lambda _s, _t: run_pgcopydb(
                server.port, "bench_source", "bench_target", args.jobs
            )
        tables: dict[str, dict[str, tuple[float, bool]]] = {}
        for workers in (int(w) for w in args.parallel_maintenance_workers.split(",")):
            server.psql("postgres", f"ALTER SYSTEM SET max_parallel_maintenance_workers = {workers}")
            server.psql("postgres", "SELECT pg_reload_conf()")
            print(f"max_parallel_maintenance_workers = {workers}:", flush=True)
            results = tables.setdefault(f"max_parallel_maintenance_workers = {workers}", {})
            for name, run in contenders.items():
                target = clone(server, "bench_loaded", "bench_target")
                server.psql("postgres", "CHECKPOINT")
                seconds = timed(functools.partial(run, source, target))
                results[name] = (seconds, schema_equal(source, target))
                print(f"  {name}: {seconds:.1f} s", flush=True)
                server.psql("postgres", "DROP DATABASE bench_target WITH (FORCE)")
    for title, results in tables.items():
        print(f"\n{title}\n{'contender':<40} {'seconds':>8} {'vs serial':>10} {'schema equal':>13}")
        serial = results["serial restore (--single-transaction)"][0]
        for name, (seconds, equal) in results.items():
            print(f"{name:<40} {seconds:>8.1f} {serial / seconds:>9.2f}x {'yes' if equal else 'NO':>13}")
        ours = results[f"migrationctl --jobs {args.jobs}"][0]
        print(f"migrationctl --jobs {args.jobs} vs serial: {serial / ours:.2f}x (target >= 1.6x)")
        if have_pgcopydb:
            theirs = results[f"pgcopydb (--index-jobs {args.jobs})"][0]
            print(f"migrationctl --jobs {args.jobs} vs pgcopydb: {theirs / ours:.2f}x (target >= 1.0x)")
    if not have_pgcopydb:
        print("pgcopydb: not installed (apt-get install pgcopydb): not compared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
