"""The freeze against generated privilege graphs, on real PostgreSQL 13 and 16 (their own servers: the graphs' roles
are cluster-wide, and ``pg_write_all_data`` would make them writers in every other test's database).

For each graph (:mod:`harness.privilege_graphs`, reproducible from its seed):

* the analysis never misses a writer: every login role the oracle finds able to write is one
  :func:`freeze.writers` names;
* when the freeze's gates pass, the freeze is done and the oracle finds **no** login role but the exempt ones (and the
  migration user) able to write, by any path; the gates' own postcondition agrees;
* the give-back restores exactly the ACLs that were there (compared as data) and the roles' LOGIN;
* when a gate refuses, it names a path or an error — and nothing changed.

The everyday tier runs :data:`EVERYDAY_GRAPHS` per server; ``make check`` (the ``wide`` marker) runs
:data:`CHECK_GRAPHS`. ``PRIVILEGE_GRAPH_SEED=<n>`` replays a run; a failure prints its graph's seed and SQL.
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness import privilege_graphs as pg_graphs
from inventory_migration.migrationctl.cutover import freeze
from inventory_migration.migrationctl.cutover.gates import freeze_gates
from inventory_migration.migrationctl.cutover.replication import NativeReplication
from inventory_migration.migrationctl.cutover.settings import Settings
from inventory_migration.migrationctl.pg.grants import acl_snapshot

EVERYDAY_GRAPHS = 20
CHECK_GRAPHS = 200
SEED_ENV = "PRIVILEGE_GRAPH_SEED"


@pytest.fixture(scope="module", params=[13, 16])
def graph_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    from harness.postgres import bindir_for, running_server

    bindir = bindir_for(request.param)
    if bindir is None:
        pytest.skip(f"PostgreSQL {request.param} not installed (npm ci)")
    with running_server(bindir) as server:
        server.execute("postgres", "CREATE DATABASE graphs")
        yield server


def _settings(graph: pg_graphs.Graph, frozen: list[str]) -> Settings:
    return Settings(
        source_dsn="",
        target_dsn="",
        app_roles=tuple(frozen),
        exempt_roles=tuple(graph.exempt),
        backend=NativeReplication(source_dsn="", target_dsn=""),
        state_dir=Path("/nonexistent"),
    )


def _logins(conn: psycopg.Connection, graph: pg_graphs.Graph) -> list[str]:
    rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname = ANY(%s)", (graph.logins,)).fetchall()
    return [str(r[0]) for r in rows]


def _statements(found: list[str]) -> set[str]:
    return {w.split(": ", 1)[1].split(" (")[0] for w in found if "after GRANT" not in w}


def check_graph(conn: psycopg.Connection, graph: pg_graphs.Graph, tally: collections.Counter[str]) -> None:
    admin = freeze.me(conn)
    before = {role: pg_graphs.writes_possible(conn, graph, role) for role in graph.logins}
    tally["write attempts"] += len(graph.logins) * len(pg_graphs._writes(graph))
    named = freeze.writers(conn)
    missed = {role: found for role, found in before.items() if found and role not in named}
    assert not missed, f"the analysis missed a writer: {missed}\n{graph.describe()}"
    frozen = [r for r in named if r not in graph.exempt and r != admin]
    tally["paths found"] += sum(1 for found in before.values() for _ in found)
    gates = {g.name: g for g in freeze_gates(_settings(graph, frozen), conn, side="source")}
    refused = [g for g in gates.values() if not g.ok]
    acl_before = acl_snapshot(conn)
    if refused:
        tally["refused by a gate"] += 1
        for g in refused:
            assert g.detail, f"a gate refused without saying why\n{graph.describe()}"
            tally[f"refused: {g.name.split(' on the')[0]}"] += 1
        assert acl_snapshot(conn) == acl_before, f"the gates changed an ACL\n{graph.describe()}"
        return
    tally["frozen"] += 1
    record = freeze.plan(conn, frozen, exempt=graph.exempt)
    freeze.revoke(conn, record)
    try:
        kept = set(freeze.kept(conn, graph.exempt))
        after = {role: pg_graphs.writes_possible(conn, graph, role) for role in _logins(conn, graph) if role not in kept}
        still = {role: found for role, found in after.items() if found}
        assert not still, f"after the freeze these can still write: {still}\n{graph.describe()}"
        assert not freeze.residual(conn, graph.exempt), f"the postcondition disagrees with the oracle\n{graph.describe()}"
        for role in graph.exempt:  # every write it could make, it still can (as itself or a role it can become)
            lost = _statements(before[role]) - _statements(pg_graphs.writes_possible(conn, graph, role))
            assert not lost, f"the freeze took {lost} from exempt {role}\n{graph.describe()}"
    finally:
        freeze.restore(conn, record)
    assert acl_snapshot(conn) == acl_before, f"the give-back did not restore the ACLs exactly\n{graph.describe()}"
    assert set(_logins(conn, graph)) == set(graph.logins), f"a role was left NOLOGIN\n{graph.describe()}"


def run_graphs(server: Any, count: int) -> collections.Counter[str]:
    base = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(1_000_000))
    print(f"\nprivilege graphs: {SEED_ENV}={base}, {count} graphs on PostgreSQL {server.major}")
    tally: collections.Counter[str] = collections.Counter()
    with psycopg.connect(server.dsn("graphs"), autocommit=True) as conn:
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
        for i in range(count):
            graph = pg_graphs.generate(base + i, prefix=f"x{i}_", admin=freeze.me(conn), version=version)
            pg_graphs.build(conn, graph)
            try:
                check_graph(conn, graph, tally)
            finally:
                with contextlib.suppress(psycopg.Error):
                    pg_graphs.teardown(conn, graph)
            tally["graphs"] += 1
    print("privilege graphs: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    return tally


def test_no_generated_graph_leaves_a_writer_after_the_freeze(graph_server: Any) -> None:
    tally = run_graphs(graph_server, EVERYDAY_GRAPHS)
    assert tally["graphs"] == EVERYDAY_GRAPHS and tally["frozen"] >= 1


@pytest.mark.wide
def test_two_hundred_generated_graphs_leave_no_writer_after_the_freeze(graph_server: Any) -> None:
    tally = run_graphs(graph_server, CHECK_GRAPHS)
    assert tally["graphs"] == CHECK_GRAPHS and tally["frozen"] >= CHECK_GRAPHS // 4
