"""``verify``: schema parity and data parity of the two databases as one verdict, its rendering, and the record the
cutover's gate reads (a full verify of these two databases, clean, recent).

The comparisons themselves are :mod:`.schema_parity` and :mod:`.data_parity`; this module puts them together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from inventory_migration.migrationctl.database import roles
from inventory_migration.migrationctl.db import connection, database_identity
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.output import table
from inventory_migration.migrationctl.pg import chunks, data_parity, schema_parity, sequences
from inventory_migration.migrationctl.pg.objects import user_schemas
from inventory_migration.migrationctl.records import write_json


@dataclasses.dataclass
class VerifyReport:
    schema: list[schema_parity.SchemaDifference]
    tables: list[data_parity.TableResult]
    bytes_compared: int = 0
    rows_compared: int = 0
    seconds: float = 0.0
    started_at: float = dataclasses.field(default_factory=time.time)
    """When this run began (epoch seconds)."""

    @property
    def as_of(self) -> float:
        """When the oldest comparison in the verdict was made: a resumed run's checkpointed segments are as old as the
        run that compared them, and the verdict is no younger than they are."""
        reused = [t.reused_from for t in self.tables if t.reused_from is not None]
        return min([self.started_at, *reused])

    held_back: int = 0
    """The application's table write grants the target does not have yet: held back until the cutover opens it (``roles
    copy``); counted, not a difference."""
    sequences_behind: list[str] = dataclasses.field(default_factory=list)
    """Target sequences behind the source's: expected while DMS copies rows (it does not move sequences) and set by
    the cutover's sequences step; named, not a difference."""
    schemas: list[str] = dataclasses.field(default_factory=list)
    """The schemas compared."""
    data_checked: bool = True
    """Whether rows were compared (not ``--schema-only``)."""

    @property
    def nothing_compared(self) -> bool:
        """Rows were to be compared and no table was: "equal" over nothing is no verdict."""
        return self.data_checked and not self.tables

    @property
    def equal(self) -> bool:
        return not self.schema and not self.nothing_compared and all(t.equal for t in self.tables)

    @property
    def in_flight(self) -> int:
        return sum(t.in_flight for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "equal": self.equal,
            "schemas": self.schemas,
            "nothing_compared": self.nothing_compared,
            "schema_differences": [dataclasses.asdict(d) for d in self.schema],
            "tables": [dataclasses.asdict(t) | {"equal": t.equal} for t in self.tables],
            "bytes_compared": self.bytes_compared,
            "rows_compared": self.rows_compared,
            "in_flight": self.in_flight,
            "sequences_behind": self.sequences_behind,
            "privileges_held_back": self.held_back,
            "seconds": round(self.seconds, 3),
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerifyRequest:
    """What to compare, and how."""

    source_dsn: str
    target_dsn: str
    schemas: Sequence[str] = ()
    """Schemas to compare. Default: every user schema of the source."""
    tables: Sequence[str] = ()
    """Only these tables (``schema.table``, or a bare name when unambiguous). Default: every table."""
    schema_only: bool = False
    """Compare the schema only. Default: false."""
    data_only: bool = False
    """Compare the data only. Default: false."""
    chunk_rows: int = chunks.DEFAULT_CHUNK_ROWS
    """Rows per hashed chunk. Default: 10,000."""
    jobs: int = 1
    """Segments compared at once. Default: 1."""
    settle: Callable[[], None] | None = None
    """Live databases under replication: returns once the target has applied what the source had committed
    (``--live``: a fence row); rows that differ are looked at again after it. Default: none (one look)."""
    rounds: int = 3
    """Re-checks with ``settle``. Default: 3."""
    app_roles: Sequence[str] = ()
    """The application's roles: their table writes are held back on the target until the cutover opens it (``roles
    copy --app-roles``), so missing there is not a difference. Default: none."""

    @property
    def full(self) -> bool:
        """Every table, schema and data: the verify whose verdict the cutover's gate reads."""
        return not (self.tables or self.schema_only or self.data_only)


def run(
    request: VerifyRequest,
    *,
    checkpoint_for: Callable[[list[chunks.Table]], Path] | None = None,
    progress: Callable[[int], None] = lambda _n: None,
    on_planned: Callable[[int], None] = lambda _n: None,
) -> VerifyReport:
    """Compare; the data comparison checkpoints to ``checkpoint_for(the source's tables)`` (default: no checkpoint)."""
    r = request
    started, started_at = time.perf_counter(), time.time()
    with (
        connection(r.source_dsn, "source", read_only=True) as source,
        connection(r.target_dsn, "target", read_only=True) as target,
    ):
        present = user_schemas(source)
        unknown = [name for name in r.schemas if name not in present]
        if unknown:
            raise UsageError(
                f"--schemas: no user schema {', '.join(unknown)} on the source; its user schemas: {', '.join(present) or 'none'}"
            )
        schemas = list(r.schemas) or present
        schema_diffs: list[schema_parity.SchemaDifference] = []
        held_back = 0
        if not r.data_only:
            schema_diffs = schema_parity.diff_schema(
                schema_parity.schema_snapshot(source, schemas), schema_parity.schema_snapshot(target, schemas)
            )
            privileges = _within(
                roles.plan(roles.read(source), roles.read(target), roles.read_objects(target), app_roles=r.app_roles),
                schemas,
            )
            schema_diffs += [
                schema_parity.SchemaDifference(kind, what, "missing on target") for kind, what in roles.differences(privileges)
            ]
            held_back = len(privileges.held_back)
        source_tables = chunks.select_tables(chunks.list_tables(source, schemas), r.tables)
        target_tables = chunks.list_tables(target, schemas)
        behind = (
            [b for b in sequences_behind(source, target) if b.split(".", 1)[0].strip('"') in schemas] if not r.schema_only else []
        )
    if r.tables:
        wanted = {t.qualified for t in source_tables}
        schema_diffs = [d for d in schema_diffs if any(d.name == w or d.name.startswith(w + ".") for w in wanted)]
    results: list[data_parity.TableResult] = []
    checkpoint = None
    if not r.schema_only:
        if checkpoint_for is not None:
            checkpoint = checkpoint_for(source_tables)
        options = data_parity.DataParityOptions(
            chunk_rows=r.chunk_rows, jobs=r.jobs, state_file=checkpoint, settle=r.settle, rounds=r.rounds
        )
        results = data_parity.data_parity(
            r.source_dsn, r.target_dsn, source_tables, target_tables, options, progress=progress, on_planned=on_planned
        )
    on_target = {t.qualified: t for t in target_tables}
    report = VerifyReport(
        schema_diffs,
        results,
        bytes_compared=sum(
            t.heap_bytes + (on_target[t.qualified].heap_bytes if t.qualified in on_target else 0) for t in source_tables
        ),
        rows_compared=sum(x.source_rows + x.target_rows for x in results),
        seconds=time.perf_counter() - started,
        started_at=started_at,
        sequences_behind=behind,
        held_back=held_back,
        schemas=schemas,
        data_checked=not r.schema_only,
    )
    if report.equal and checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return report


def _schema_of(grant: roles.Grant) -> str:
    """The schema a grant's object lives in (a schema grant: the schema itself), unquoted."""
    name = grant.name if grant.kind == "SCHEMA" else grant.name.split(".", 1)[0]
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _within(plan: roles.Plan, schemas: Sequence[str]) -> roles.Plan:
    """``plan`` limited to the compared schemas: grants and default privileges on objects elsewhere are not this
    verify's (roles and memberships belong to no schema and stay)."""
    wanted = set(schemas)
    return dataclasses.replace(
        plan,
        grants=tuple(g for g in plan.grants if _schema_of(g) in wanted),
        held_back=tuple(g for g in plan.held_back if _schema_of(g) in wanted),
        defaults=tuple(d for d in plan.defaults if not d.schema or d.schema in wanted),
    )


def sequences_behind(source: psycopg.Connection, target: psycopg.Connection) -> list[str]:
    """``schema.sequence: target N, source M`` for every sequence the target has behind the source's position."""
    s_pos, t_pos = sequences.positions(source), sequences.positions(target)
    out = []
    for name, (value, increment) in sorted(s_pos.items()):
        other = t_pos.get(name)
        if value is None or other is None:
            continue
        if other[0] is None or (other[0] < value if increment > 0 else other[0] > value):
            out.append(f"{name}: target {other[0]}, source {value}")
    return out


def checkpoint_name(source_dsn: str, target_dsn: str, tables: list[chunks.Table]) -> str:
    """The default checkpoint file's name: one per pair of databases and set of tables."""
    key = data_parity.fingerprint(
        database_identity(source_dsn), database_identity(target_dsn), sorted(t.qualified for t in tables)
    )
    return f"verify-{key}.json"


def write_record(path: Path, report: VerifyReport, source_dsn: str, target_dsn: str) -> None:
    """Record a full verify's verdict, the databases it compared and when."""
    write_json(
        path,
        {
            "at": dt.datetime.fromtimestamp(report.as_of, dt.UTC).isoformat(timespec="seconds"),
            "equal": report.equal,
            "source": database_identity(source_dsn),
            "target": database_identity(target_dsn),
            "schemas": report.schemas,
            "tables": len(report.tables),
            "rows_compared": report.rows_compared,
        },
    )


def render(report: VerifyReport, *, schema_checked: bool, data_checked: bool) -> str:
    lines = []
    if schema_checked:
        lines.append(f"schema: {len(report.schema)} difference(s)")
        for d in report.schema:
            lines.append(f"  {d.kind:<11} {d.name}: {d.problem}")
            if d.problem == "differs":
                lines.append(f"      source: {d.source[:200]}")
                lines.append(f"      target: {d.target[:200]}")
    if data_checked:
        rows = [
            {
                "table": r.table,
                "source_rows": r.source_rows,
                "target_rows": r.target_rows,
                "missing": r.missing_on_target,
                "extra": r.extra_on_target,
                "changed": r.changed,
                "status": "equal" if r.equal else "DIFFERENT",
            }
            for r in report.tables
        ]
        lines.append("")
        lines.append(table(rows, ["table", "source_rows", "target_rows", "missing", "extra", "changed", "status"]))
        for r in report.tables:
            if r.note:
                lines.append(f"  {r.table}: {r.note}")
            if r.differing_ranges:
                lines.append(f"  {r.table}: differing key ranges: {'; '.join(r.differing_ranges[:20])}")
        if report.seconds > 0:
            mb = report.bytes_compared / 1024**2
            lines.append(
                f"\nthroughput: {mb / report.seconds:.1f} MB/s, {report.rows_compared / report.seconds:,.0f} rows/s "
                f"({mb:.0f} MB, {report.rows_compared:,} rows in {report.seconds:.1f} s)"
            )
    if report.in_flight:
        lines.append(f"in flight: {report.in_flight} row(s) differed at first look and matched once replication caught up")
    if report.held_back:
        lines.append(
            f"privileges held back until the cutover opens the target (the application's table writes): {report.held_back}"
        )
    if report.sequences_behind:
        lines.append(
            f"sequences behind on the target: {len(report.sequences_behind)} (DMS does not move them; the cutover's "
            "sequences step sets them): " + "; ".join(report.sequences_behind[:10])
        )
    if report.nothing_compared:
        lines.append(f"no table compared in {', '.join(report.schemas) or 'no schema'}: nothing to call equal")
    lines.append("RESULT: target equals source" if report.equal else "RESULT: DIFFERENCES FOUND")
    return "\n".join(lines)
