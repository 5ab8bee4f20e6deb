"""Data parity: the same rows on both sides, proven by server-side hashes (schema parity is :mod:`.schema_parity`).

Data parity hashes every row on the server and sums the hashes per primary-key segment — and, only for a segment
that differs, per chunk; both sides run in parallel and only the aggregates cross the network. A row's hash chains its
NOT NULL columns (each column's 64-bit hash seeded with the previous one's) and XORs in its other columns' hashes,
each seeded with the column's position: built-in types use their *extended hash function* (``hashint8extended``, ``hashtextextended``,
``hash_numeric_extended``, ``jsonb_hash_extended``, ...: the functions behind hash partitioning, present since
PostgreSQL 11 and stable across majors because hash partitions survive ``pg_upgrade``), which is about three times
cheaper than formatting the row as text; types whose hash is not value-based or not callable from SQL (enums hash
their OID, arrays, composites, bytea, domains) hash their text instead. A chunk whose count or hash sum differs is fetched as (key, row hash) pairs from
both sides and diffed, which names the exact keys that are missing, extra or changed and the PK ranges they
form. Session settings (time zone, date style, float digits, bytea output) are pinned so the same row has the
same text on both sides.

Tables with a single integer primary key take a fast path: one sequential scan per segment groups rows into
chunks by key arithmetic. Other keys are chunked by ranges of the key computed from the source. Every plan covers
the whole key space, below the source's smallest key and above its largest too (rows only the target has). Progress
is checkpointed per segment to a state file, keyed by the segment's exact range and its table's definition, so an
interrupted run resumes where it stopped and never takes a checkpoint for other rows. Both sides are only
read (``default_transaction_read_only``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from inventory_migration.migrationctl.db import connect, database_identity, query
from inventory_migration.migrationctl.pg.chunks import (
    DEFAULT_CHUNK_ROWS,
    DEFAULT_KEYED_SEGMENT_ROWS,
    DEFAULT_SEGMENT_ROWS,
    INTEGER_TYPES,
    MAX_REPORTED_KEYS,
    Segment,
    Table,
    _key_expr,
    _key_literal,
    chunk_bounds,
    plan_segments,
    range_predicate,
    row_hash,
    segment_hash_query,
    segment_sum_query,
)
from inventory_migration.migrationctl.records import read_json, write_json

# --------------------------------------------------------------------------------------------- results


@dataclasses.dataclass
class TableResult:
    table: str
    source_rows: int = 0
    target_rows: int = 0
    missing_on_target: int = 0
    extra_on_target: int = 0
    changed: int = 0
    differing_ranges: list[str] = dataclasses.field(default_factory=list)
    example_keys: list[str] = dataclasses.field(default_factory=list)
    note: str = ""
    in_flight: int = 0
    """Rows that differed at first look and matched once replication had caught up (``settle``): changes in flight,
    not differences."""
    reused_from: float | None = None
    """When the oldest segment taken from a checkpoint was compared (epoch seconds); ``None``: all compared now."""

    @property
    def equal(self) -> bool:
        return not (self.missing_on_target or self.extra_on_target or self.changed or self.note.startswith("missing"))


# --------------------------------------------------------------------------------------------- state


class VerifyState:
    """Which segments already matched, and when; written atomically after each one, so a run can resume.

    A segment is found again only by its table's definition (columns, key, types) and its exact key range: a re-run
    that plans other segments (the table grew, ``--chunk-rows`` changed) compares them anew instead of taking a
    checkpoint made for other rows."""

    def __init__(self, path: Path | None, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.done: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        if path and path.is_file():
            data = read_json(path)
            if data.get("fingerprint") == fingerprint and data.get("version") == STATE_VERSION:
                self.done = data.get("segments", {})

    @staticmethod
    def key(table: Table, segment: Segment) -> str:
        return fingerprint(table.qualified, table.columns, table.pk_columns, table.pk_types, segment.lower, segment.upper)

    def matched(self, table: Table, segment: Segment) -> dict[str, Any] | None:
        return self.done.get(self.key(table, segment))

    def record(self, table: Table, segment: Segment, rows: int, at: float) -> None:
        with self._lock:
            self.done[self.key(table, segment)] = {"table": table.qualified, "rows": rows, "at": at}
            if self.path:
                write_json(self.path, {"version": STATE_VERSION, "fingerprint": self.fingerprint, "segments": self.done})

    def clear(self) -> None:
        if self.path:
            self.path.unlink(missing_ok=True)


STATE_VERSION = 2
"""Checkpoints of another version (keyed by segment index) are not read."""


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------- engine


class ConnectionPool:
    """A fixed set of read-only connections to one side; with ``snapshot`` every connection reads that exported
    snapshot (one REPEATABLE READ transaction per connection, held for the pool's life)."""

    def __init__(self, dsn: str, role: str, size: int, snapshot: str | None = None) -> None:
        self._free: queue.Queue[psycopg.Connection] = queue.Queue()
        self._all = [connect(dsn, role, read_only=True) for _ in range(size)]
        for conn in self._all:
            if snapshot:
                query(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                query(conn, sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            # The planner cannot estimate how few chunks there are: keep it from sorting the table to disk, and from
            # JIT-compiling every segment query (its fixed cost dwarfs a 100,000-row segment).
            query(conn, "SELECT set_config('enable_sort', 'off', false), set_config('jit', 'off', false)")
            self._free.put(conn)

    @contextlib.contextmanager
    def get(self) -> Iterator[psycopg.Connection]:
        conn = self._free.get()
        try:
            yield conn
        finally:
            self._free.put(conn)

    def close(self) -> None:
        for conn in self._all:
            conn.close()


T = TypeVar("T")


def on_both(src: ConnectionPool, tgt: ConnectionPool, fn: Callable[..., T], *args: Any) -> tuple[T, T]:
    """Run ``fn(pool, *args)`` on the source and the target at the same time."""
    with concurrent.futures.ThreadPoolExecutor(2) as both:
        source, target = both.submit(fn, src, *args), both.submit(fn, tgt, *args)
        return source.result(), target.result()


def _hashes(pool: ConnectionPool, statement: sql.Composed, range_scan: bool) -> dict[int, tuple[int, str]]:
    with pool.get() as conn:
        # A table split into segments is read by key range through its primary key, not scanned whole per segment.
        query(conn, "SELECT set_config('enable_seqscan', %s, false)", ("off" if range_scan else "on",))
        return {int(r[0]): (int(r[1]), str(r[2])) for r in query(conn, statement)}


NULL_ROW_HASH = 0
"""A row whose hash is NULL: a NULL in a column the source declares NOT NULL (the chain of :func:`.chunks.row_hash`
is NULL): it compares unequal to the source's row."""


def _hash_of(value: Any) -> int:
    return NULL_ROW_HASH if value is None else int(value)


def _row_hashes(
    pool: ConnectionPool, table: Table, lower: tuple[str, ...] | None, upper: tuple[str, ...] | None
) -> dict[tuple[str, ...], int]:
    keys = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in table.pk_columns)
    statement = sql.SQL("SELECT {keys}, {hash} FROM ONLY {table} AS t WHERE {where}").format(
        keys=keys, hash=row_hash(table.columns, table.not_null), table=table.ident, where=range_predicate(table, lower, upper)
    )
    with pool.get() as conn:
        return {tuple(r[:-1]): _hash_of(r[-1]) for r in query(conn, statement)}


def _multiset(pool: ConnectionPool, table: Table) -> dict[int, int]:
    statement = sql.SQL("SELECT {}, count(*) FROM ONLY {} AS t GROUP BY 1").format(
        row_hash(table.columns, table.not_null), table.ident
    )
    with pool.get() as conn:
        return {_hash_of(r[0]): int(r[1]) for r in query(conn, statement)}


def _sort_key(table: Table, key: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(int(v) if t in INTEGER_TYPES else v for v, t in zip(key, table.pk_types, strict=True))


def _ranges(table: Table, differing: list[tuple[str, ...]], all_keys: list[tuple[str, ...]]) -> list[str]:
    """Collapse differing keys into runs that are contiguous in key order."""
    position = {k: i for i, k in enumerate(all_keys)}
    runs: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    last = -2
    for key in sorted(differing, key=lambda k: position[k]):
        pos = position[key]
        if runs and pos == last + 1:
            runs[-1] = (runs[-1][0], key)
        else:
            runs.append((key, key))
        last = pos

    def show(k: tuple[str, ...]) -> str:
        return k[0] if len(k) == 1 else "(" + ", ".join(k) + ")"

    return [f"{show(a)}" if a == b else f"{show(a)} .. {show(b)}" for a, b in runs]


def compare_rows(
    table: Table, source: dict[tuple[str, ...], int], target: dict[tuple[str, ...], int], result: TableResult
) -> None:
    missing = [k for k in source if k not in target]
    extra = [k for k in target if k not in source]
    changed = [k for k in source if k in target and source[k] != target[k]]
    result.missing_on_target += len(missing)
    result.extra_on_target += len(extra)
    result.changed += len(changed)
    all_keys = sorted(source.keys() | target.keys(), key=lambda k: _sort_key(table, k))
    for label, keys in (("missing", missing), ("extra", extra), ("changed", changed)):
        for rng in _ranges(table, keys, all_keys):
            result.differing_ranges.append(f"{label}: {rng}")
        room = MAX_REPORTED_KEYS - len(result.example_keys)
        result.example_keys += [
            f"{label} {', '.join(k)}" for k in sorted(keys, key=lambda k: _sort_key(table, k))[: max(room, 0)]
        ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataParityOptions:
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    """Rows per hashed chunk (the unit a difference is localized to). Default: 10,000."""
    segment_rows: int = DEFAULT_SEGMENT_ROWS
    """Rows per checkpointed segment, tables with one integer key (one scan each). Default: 10,000,000."""
    keyed_segment_rows: int = DEFAULT_KEYED_SEGMENT_ROWS
    """Rows per segment for other keys (a differing segment is fetched whole to find the keys). Default: 100,000."""
    jobs: int = max(1, (os.cpu_count() or 2) // 2)
    """Segments compared at once (each runs one query per side). Default: half the CPUs."""
    state_file: Path | None = None
    """Where progress is checkpointed. Default: no checkpoint."""
    source_snapshot: str | None = None
    """An exported snapshot (``pg_export_snapshot()``) every source connection reads. Default: the live source."""
    target_snapshot: str | None = None
    """The same for the target. With both, parity as of one moment while both sides go on changing (the switch point
    of ``migrationctl cutover``). Default: the live target."""
    settle: Callable[[], None] | None = None
    """Live databases under replication: called before each re-check of the rows that differed; returns once the
    target has applied what the source had committed when it was called (``verify --live``: a fence row). Rows that
    then match were in flight; rows that still differ after :attr:`rounds` re-checks are differences. Default: none
    (one look: what differs is a difference)."""
    rounds: int = 3
    """Re-checks with ``settle``. Default: 3."""


def data_parity(
    source_dsn: str,
    target_dsn: str,
    source_tables: list[Table],
    target_tables: list[Table],
    options: DataParityOptions,
    progress: Callable[[int], None] = lambda _n: None,
    on_planned: Callable[[int], None] = lambda _n: None,
) -> list[TableResult]:
    """Compare the data of ``source_tables`` with the target, in parallel, resumably."""
    on_target = {t.qualified: t for t in target_tables}
    results = {t.qualified: TableResult(t.qualified) for t in source_tables}
    state = VerifyState(
        options.state_file,
        fingerprint(database_identity(source_dsn), database_identity(target_dsn), options.chunk_rows, options.segment_rows),
    )
    src = ConnectionPool(source_dsn, "source", options.jobs, snapshot=options.source_snapshot)
    tgt = ConnectionPool(target_dsn, "target", options.jobs, snapshot=options.target_snapshot)
    lock = threading.Lock()
    started = time.time()
    suspects: dict[str, tuple[Table, set[tuple[str, ...]]]] = {}
    try:
        work: list[tuple[Table, Segment]] = []
        planned: dict[str, list[Segment]] = {}

        def segments_of(table: Table) -> list[Segment]:
            if table.qualified not in planned:
                with src.get() as conn:
                    size = options.segment_rows if table.integer_key else options.keyed_segment_rows
                    planned[table.qualified] = plan_segments(conn, table, size)
            return planned[table.qualified]

        for table in source_tables:
            if table.qualified not in on_target:
                results[table.qualified].note = "missing on target"
                continue
            if on_target[table.qualified].columns != table.columns:
                results[
                    table.qualified
                ].note = "missing columns or other types on target (see the schema differences): data not compared"
                continue
            if table.pk_columns and table.estimated_rows <= options.segment_rows and table.heap_bytes <= WHOLE_TABLE_BYTES:
                # A table of at most one segment's rows is summed whole in one sequential scan first; it is planned
                # into segments and chunks only if it differs.
                work.append((table, WHOLE_TABLE))
                continue
            work += [(table, segment) for segment in segments_of(table)]

        on_planned(len(work))

        def reused(table: Table, segment: Segment) -> bool:
            done = state.matched(table, segment)
            if done is None:
                return False
            result = results[table.qualified]
            with lock:
                result.source_rows += done["rows"]
                result.target_rows += done["rows"]
                at = float(done["at"])
                result.reused_from = at if result.reused_from is None else min(result.reused_from, at)
            return True

        def summed_equal(table: Table, segment: Segment, range_scan: bool) -> bool:
            """The segment's (or the whole table's) count and hash sum, without grouping; recorded when equal."""
            s_whole, t_whole = on_both(src, tgt, _hashes, segment_sum_query(table, segment), range_scan)
            if s_whole != t_whole:
                return False
            rows = sum(c[0] for c in s_whole.values())
            result = results[table.qualified]
            with lock:
                result.source_rows += rows
                result.target_rows += rows
            state.record(table, segment, rows, started)
            return True

        def run(table: Table, segment: Segment) -> None:
            try:
                if reused(table, segment):
                    return
                if not table.pk_columns:
                    _compare_without_key(table, src, tgt, results[table.qualified], lock)
                elif segment is WHOLE_TABLE:
                    if not summed_equal(table, segment, range_scan=False):
                        segments = segments_of(table)
                        # One segment holding the table: its sum is the whole table's, known to differ.
                        sum_first = _big_segments(table, segments) > 1
                        for part in segments:
                            if not reused(table, part):
                                compare_segment(table, part, _range_scan(table, part, segments), sum_first=sum_first)
                else:
                    segments = segments_of(table)
                    compare_segment(table, segment, _range_scan(table, segment, segments))
            finally:
                progress(1)

        def compare_segment(table: Table, segment: Segment, range_scan: bool, *, sum_first: bool = True) -> None:
            result = results[table.qualified]
            # The whole segment first, without grouping (most segments are equal); per chunk only if it differs.
            if sum_first and table.integer_key and segment.lower is not None and summed_equal(table, segment, range_scan):
                return
            statement = segment_hash_query(table, segment, options.chunk_rows)
            s_chunks, t_chunks = on_both(src, tgt, _hashes, statement, range_scan)
            s_rows, t_rows = sum(c[0] for c in s_chunks.values()), sum(c[0] for c in t_chunks.values())
            bad = sorted(c for c in s_chunks.keys() | t_chunks.keys() if s_chunks.get(c) != t_chunks.get(c))
            with lock:
                result.source_rows += s_rows
                result.target_rows += t_rows
            for chunk in bad:
                lower, upper = chunk_bounds(table, segment, chunk, options.chunk_rows)
                s_rows_map, t_rows_map = on_both(src, tgt, _row_hashes, table, lower, upper)
                with lock:
                    if options.settle is None:
                        compare_rows(table, s_rows_map, t_rows_map, result)
                    else:  # looked at again once replication has caught up
                        suspects.setdefault(table.qualified, (table, set()))[1].update(differing_keys(s_rows_map, t_rows_map))
            if not bad:
                state.record(table, segment, s_rows, started)

        pool = concurrent.futures.ThreadPoolExecutor(options.jobs)
        try:
            futures = [pool.submit(run, table, segment) for table, segment in work]
            for future in concurrent.futures.as_completed(futures):
                future.result()
        except BaseException:
            # Interrupted (Ctrl-C) or failed: stop queued segments; finished ones are checkpointed.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        if suspects:
            _recheck(suspects, results, src, tgt, options)
    finally:
        src.close()
        tgt.close()
    return list(results.values())


WHOLE_TABLE = Segment(-1, None, None)
"""The work item of a table summed whole before it is planned into segments."""
WHOLE_TABLE_BYTES = 8 << 30
"""Largest heap summed whole (with at most one segment's rows by its statistics): above, an interruption would lose
too much work, so the table goes segment by segment, each checkpointed."""


def _range_scan(table: Table, segment: Segment, segments: list[Segment]) -> bool:
    """Read ``segment`` by key range through the primary key (not a sequential scan of the table): the segment below an
    integer key's minimum (a few rows at most), or any segment of a table cut into more than one."""
    if table.integer_key and segment.lower is None and segment.upper is not None:
        return True
    return _big_segments(table, segments) > 1


def _big_segments(table: Table, segments: list[Segment]) -> int:
    """How many of ``segments`` hold more than a few rows: all but an integer key's segment below its minimum."""
    return sum(1 for s in segments if not (table.integer_key and s.lower is None))


def differing_keys(source: dict[tuple[str, ...], int], target: dict[tuple[str, ...], int]) -> set[tuple[str, ...]]:
    """Keys missing, extra or changed between two (key -> row hash) maps."""
    return {k for k in source.keys() | target.keys() if source.get(k) != target.get(k)}


def _rows_by_key(pool: ConnectionPool, table: Table, keys: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """(key -> row hash) of the rows with these keys (1,000 keys a query)."""
    columns = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in table.pk_columns)
    out: dict[tuple[str, ...], int] = {}
    for i in range(0, len(keys), 1000):
        wanted = sql.SQL(", ").join(_key_literal(table, k) for k in keys[i : i + 1000])
        statement = sql.SQL("SELECT {cols}, {hash} FROM ONLY {table} AS t WHERE {key} IN ({wanted})").format(
            cols=columns, hash=row_hash(table.columns, table.not_null), table=table.ident, key=_key_expr(table), wanted=wanted
        )
        with pool.get() as conn:
            out |= {tuple(r[:-1]): _hash_of(r[-1]) for r in query(conn, statement)}
    return out


def _recheck(
    suspects: dict[str, tuple[Table, set[tuple[str, ...]]]],
    results: dict[str, TableResult],
    src: ConnectionPool,
    tgt: ConnectionPool,
    options: DataParityOptions,
) -> None:
    """Live databases: the rows that differed are looked at again around each ``settle`` (once it returns, the target
    has applied what the source had committed before it began): the source's rows read before it, the target's after
    it, the source's again. A row the target holds as the source held it before or after was in flight; the rest are
    differences. (Reading the source only after ``settle`` would call a row that changes faster than the replication
    applies — a hot row under a DMS task's apply latency — different every round.)"""
    assert options.settle is not None
    pending = {name: sorted(keys) for name, (_table, keys) in suspects.items()}
    for _round in range(options.rounds):
        if not any(pending.values()):
            break
        before = {name: _rows_by_key(src, suspects[name][0], keys) for name, keys in pending.items() if keys}
        options.settle()
        for name, keys in pending.items():
            if not keys:
                continue
            table = suspects[name][0]
            after, t_map = on_both(src, tgt, _rows_by_key, table, keys)
            still = sorted(differing_keys(before[name], t_map) & differing_keys(after, t_map) & set(keys))
            results[name].in_flight += len(keys) - len(still)
            pending[name] = still
    for name, keys in pending.items():
        if keys:
            table = suspects[name][0]
            s_map, t_map = on_both(src, tgt, _rows_by_key, table, keys)
            compare_rows(table, s_map, t_map, results[name])


def _compare_without_key(
    table: Table, src: ConnectionPool, tgt: ConnectionPool, result: TableResult, lock: threading.Lock
) -> None:
    s, t = on_both(src, tgt, _multiset, table)
    with lock:
        result.source_rows += sum(s.values())
        result.target_rows += sum(t.values())
        result.missing_on_target += sum(max(0, n - t.get(h, 0)) for h, n in s.items())
        result.extra_on_target += sum(max(0, n - s.get(h, 0)) for h, n in t.items())
        result.note = "no primary key: compared as a multiset of rows (no key ranges)"
