"""``schema post-data --jobs N``: the secondary indexes and constraints, built in parallel, one object per transaction.

Run while the DMS task is stopped after its full load (``StopTaskCachedChangesNotApplied``: AWS's pattern for adding
secondary indexes before cached changes are applied), so no lock waits on DMS and DMS never waits on a lock:

1. **build** (``--jobs`` sessions, largest table first): ``CREATE INDEX`` and the unique / exclusion constraints;
2. **attach** (in archive order): partition indexes attached to their parents;
3. **foreign keys**: added ``NOT VALID`` (no scan, a moment's lock) ...
4. **validate** (``--jobs`` sessions): ... then ``VALIDATE CONSTRAINT`` (a scan under a lock that lets writes through);
   foreign keys of partitioned tables, which PostgreSQL cannot add ``NOT VALID``, are added here whole;
5. **the rest** (in archive order): triggers, rules, comments.

Each object commits on its own: a failure costs that object only (the others go on; the command exits 1 naming it)
and a re-run resumes: an object already there with the source's definition is skipped, a half-built (invalid)
index is dropped and built again, a foreign key added but not validated is only validated. Progress is weighted by
the size of each object's table, the thing an index build or a validation reads.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from enum import Enum
from pathlib import Path

import psycopg

from inventory_migration.migrationctl import pgtools
from inventory_migration.migrationctl.database.schema import SchemaPlan, TocEntry
from inventory_migration.migrationctl.db import connect
from inventory_migration.migrationctl.output import clock, human

DEFAULT_JOBS = 2
"""Sessions building at once. Aurora builds one index per vCPU well: raise it with the writer's size."""


class Stage(Enum):
    """The order objects are built in (see the module docstring)."""

    BUILD = "build"
    ATTACH = "attach"
    FOREIGN_KEY = "foreign key"
    VALIDATE = "validate"
    REST = "rest"


class Action(Enum):
    """What one object needs on the target."""

    CREATE = "create"
    REBUILD = "rebuild"
    """An invalid index (a build that did not finish): dropped, then created."""
    VALIDATE = "validate"
    """A foreign key added ``NOT VALID``: only the validation is left."""
    SKIP = "skip"
    """Already there with the source's definition."""
    CONFLICT = "conflict"
    """There under the same name with another definition: never dropped for the operator."""


_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z0-9_$]+)'
_TABLE = re.compile(rf"(?:\bON|\bALTER TABLE)\s+(?:ONLY\s+)?({_NAME}\.{_NAME})", re.IGNORECASE)
_SESSION_LINE = re.compile(r"^(SET |SELECT pg_catalog\.set_config|\\)")
"""pg_restore's session settings, and its psql meta-commands (``\\restrict KEY`` ... ``\\unrestrict KEY`` since the
August 2025 minor releases): psql's business, not the server's."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PostDataObject:
    """One archive entry of the post-data section, with its SQL and the table it is built on."""

    entry: TocEntry
    sql: str
    """The statement(s) without pg_restore's session settings."""
    table: str
    """The qualified table the object is on (``""`` when the SQL names none)."""
    table_bytes: int
    """The table's size on the target (all partitions of a partitioned table): the object's progress weight."""
    partitioned: bool
    action: Action
    stage: Stage

    @property
    def label(self) -> str:
        return f"{self.entry.kind.lower()} {self.entry.schema}.{self.entry.name}"

    @property
    def weight(self) -> int:
        return max(self.table_bytes, 1) if self.stage in (Stage.BUILD, Stage.VALIDATE) else 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """What happened to one object."""

    label: str
    action: Action
    seconds: float
    error: str = ""


_HEADER = re.compile(r"^-- Name: (.*); Type: (.*); Schema: (.*); Owner: .*$")
"""The comment pg_restore writes before each entry's SQL."""


def entries_sql(archive: Path, entries: Sequence[TocEntry]) -> dict[int, str]:
    """The SQL pg_restore would run for each entry (by dump id), without its session settings (set once per session
    instead): one pg_restore for them all, split at the comment it writes before each entry."""
    if not entries:
        return {}
    with tempfile.TemporaryDirectory(prefix="migrationctl-") as tmp:
        listfile = Path(tmp) / "post-data.list"
        listfile.write_text("".join(e.line + "\n" for e in entries), encoding="utf-8")
        text = pgtools.run(
            "pg_restore", ["--no-owner", "--no-privileges", f"--use-list={listfile}", "--file=-", str(archive)], "", "archive"
        )
    waiting: dict[tuple[str, str, str], list[int]] = {}
    for e in sorted(entries, key=lambda e: e.dump_id):
        waiting.setdefault((e.kind, "-" if e.schema == "-" else e.schema, e.name), []).append(e.dump_id)
    sections: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            name, kind, schema = header.groups()
            queue = waiting.get((kind, schema, name))
            current = sections.setdefault(queue.pop(0), []) if queue else None
        elif current is not None and not line.startswith("--") and not _SESSION_LINE.match(line):
            current.append(line)
    missing = [e.line for e in entries if e.dump_id not in sections]
    if missing:
        raise RuntimeError(f"pg_restore wrote no SQL for {len(missing)} archive entr(ies), e.g. {missing[0]!r}")
    return {dump_id: "\n".join(lines).strip() for dump_id, lines in sections.items()}


def table_of(sql: str) -> str:
    match = _TABLE.search(sql)
    return match.group(1) if match else ""


SESSION_SQL = "SELECT pg_catalog.set_config('search_path', '', true)"
"""pg_dump qualifies every name: its SQL runs with an empty search path, as pg_restore runs it (for the transaction:
the connections are the command's)."""

_TABLE_SQL = """
SELECT c.relkind = 'p',
       CASE WHEN c.relkind = 'p'
            THEN (SELECT coalesce(sum(pg_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t)
            ELSE pg_relation_size(c.oid) END
FROM pg_class c WHERE c.oid = to_regclass(%s)
"""
_INDEX_SQL = """
SELECT i.indisvalid, c.relkind::text, pg_get_indexdef(c.oid)
FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.oid = to_regclass(%s)
"""
_CONSTRAINT_SQL = """
SELECT k.convalidated, pg_get_constraintdef(k.oid) FROM pg_constraint k
WHERE k.conrelid = to_regclass(%s) AND k.conname = %s
"""


def _qualified(schema: str, name: str) -> str:
    return f'"{schema.replace(chr(34), chr(34) * 2)}"."{name.replace(chr(34), chr(34) * 2)}"'


def _one(conn: psycopg.Connection, sql: str, params: Sequence[object]) -> tuple[object, ...] | None:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def action_for(entry: TocEntry, table: str, source: psycopg.Connection, target: psycopg.Connection) -> Action:
    """What the object needs: compared with what the target has under its name (and the source's definition)."""
    if entry.kind == "INDEX":
        name = _qualified(entry.schema, entry.name)
        there = _one(target, _INDEX_SQL, [name])
        if there is None:
            return Action.CREATE
        valid, relkind, definition = there
        if not valid and relkind == "i":
            return Action.REBUILD
        wanted = _one(source, _INDEX_SQL, [name])
        return Action.SKIP if wanted is None or wanted[2] == definition else Action.CONFLICT
    if entry.kind in ("CONSTRAINT", "FK CONSTRAINT") and table:
        _table, constraint = entry.table_and_name
        there = _one(target, _CONSTRAINT_SQL, [table, constraint])
        if there is None:
            return Action.CREATE
        wanted = _one(source, _CONSTRAINT_SQL, [table, constraint])
        if wanted is not None and wanted[1] != str(there[1]).removesuffix(" NOT VALID"):
            return Action.CONFLICT
        return Action.VALIDATE if not there[0] else Action.SKIP
    return Action.CREATE


def stage_of(entry: TocEntry, partitioned: bool) -> Stage:
    if entry.kind in ("INDEX", "CONSTRAINT"):
        return Stage.BUILD
    if entry.kind == "INDEX ATTACH":
        return Stage.ATTACH
    if entry.kind == "FK CONSTRAINT":
        return Stage.VALIDATE if partitioned else Stage.FOREIGN_KEY
    return Stage.REST


def objects(plan: SchemaPlan, archive: Path, source: psycopg.Connection, target: psycopg.Connection) -> list[PostDataObject]:
    """Every post-data object of the archive with what it needs; objects :func:`schema.plan` found present are
    looked at again (an invalid index or an unvalidated key is present but not done)."""
    out = []
    with source.transaction(), target.transaction():
        for conn in (source, target):
            conn.execute(SESSION_SQL)
        entries = sorted((*plan.restore, *plan.already_present), key=lambda e: e.dump_id)
        sql_of = entries_sql(archive, entries)
        for entry in entries:
            sql = sql_of[entry.dump_id]
            table = table_of(sql)
            row = _one(target, _TABLE_SQL, [table]) if table else None
            partitioned, size = (bool(row[0]), int(row[1])) if row else (False, 0)  # type: ignore[call-overload]
            present = entry in plan.already_present
            if entry.kind in ("INDEX", "CONSTRAINT", "FK CONSTRAINT"):
                action = action_for(entry, table, source, target) if present or entry.kind == "INDEX" else Action.CREATE
            else:
                action = Action.SKIP if present else Action.CREATE
            out.append(
                PostDataObject(
                    entry=entry,
                    sql=sql,
                    table=table,
                    table_bytes=size,
                    partitioned=partitioned,
                    action=action,
                    stage=stage_of(entry, partitioned),
                )
            )
    return out


def statements(obj: PostDataObject, stage: Stage) -> list[str]:
    """What one object runs in ``stage``."""
    if obj.action is Action.REBUILD:
        return [f"DROP INDEX IF EXISTS {_qualified(obj.entry.schema, obj.entry.name)}", obj.sql]
    if obj.entry.kind == "FK CONSTRAINT" and not obj.partitioned:
        constraint = obj.entry.table_and_name[1]
        validate = f'ALTER TABLE {obj.table} VALIDATE CONSTRAINT "{constraint.replace(chr(34), chr(34) * 2)}"'
        if stage is Stage.FOREIGN_KEY:
            return [] if obj.action is Action.VALIDATE else [obj.sql.rstrip().rstrip(";") + " NOT VALID"]
        return [validate]
    return [obj.sql]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Progress:
    """Where the run is, for the progress line: objects and table bytes done, the objects being built."""

    done: int
    total: int
    bytes_done: int
    bytes_total: int
    current: tuple[str, ...]
    elapsed: float

    def line(self) -> str:
        share = self.bytes_done / self.bytes_total if self.bytes_total else 1.0
        text = (
            f"post-data: {self.done}/{self.total} objects, {human(self.bytes_done)} of {human(self.bytes_total)} "
            f"of tables ({100 * share:.0f} %), {clock(self.elapsed)}"
        )
        if 0 < share < 1:
            text += f", about {clock(self.elapsed * (1 - share) / share)} left"
        if self.current:
            text += f"; building {', '.join(self.current)}"
        return text


class Runner:
    """Runs the stages; reports progress through ``report`` (a line whenever an object starts or ends, and at most
    every ``every`` seconds in between)."""

    def __init__(self, target_dsn: str, jobs: int, report: Callable[[Progress], None], every: float = 30.0) -> None:
        self.target_dsn, self.jobs, self.report, self.every = target_dsn, max(jobs, 1), report, every
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.current: dict[int, str] = {}
        self.done = self.bytes_done = self.total = self.bytes_total = 0
        self.outcomes: list[Outcome] = []
        self.failed_tables: set[tuple[str, str]] = set()

    def run(self, work: Sequence[PostDataObject]) -> list[Outcome]:
        todo = [o for o in work if o.action in (Action.CREATE, Action.REBUILD, Action.VALIDATE)]
        for obj in work:
            if obj.action in (Action.SKIP, Action.CONFLICT):
                error = "" if obj.action is Action.SKIP else "on the target under this name with another definition"
                self.outcomes.append(Outcome(label=obj.label, action=obj.action, seconds=0.0, error=error))
        passes = [(obj, stage) for obj in todo for stage in self._stages(obj)]
        self.total, self.bytes_total = len(passes), sum(o.weight for o, _ in passes)
        for stage in Stage:
            batch = [(o, s) for o, s in passes if s is stage]
            parallel = stage in (Stage.BUILD, Stage.VALIDATE) and self.jobs > 1
            batch.sort(key=(lambda p: -p[0].weight) if parallel else (lambda p: p[0].entry.dump_id))
            self._run_batch(batch, self.jobs if parallel else 1)
        self.report(self._progress())
        return self.outcomes

    @staticmethod
    def _stages(obj: PostDataObject) -> list[Stage]:
        if obj.entry.kind == "FK CONSTRAINT" and not obj.partitioned:
            return [Stage.FOREIGN_KEY, Stage.VALIDATE] if obj.action is not Action.VALIDATE else [Stage.VALIDATE]
        return [obj.stage]

    def _run_batch(self, batch: Iterable[tuple[PostDataObject, Stage]], jobs: int) -> None:
        items = list(batch)
        if not items:
            return
        ticker = threading.Event()
        thread = threading.Thread(target=self._tick, args=(ticker,), daemon=True)
        thread.start()
        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for future in as_completed([pool.submit(self._one, obj, stage) for obj, stage in items]):
                    future.result()
        finally:
            ticker.set()
            thread.join()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(self.every):
            self.report(self._progress())

    def _progress(self) -> Progress:
        with self.lock:
            return Progress(
                done=self.done,
                total=self.total,
                bytes_done=self.bytes_done,
                bytes_total=self.bytes_total,
                current=tuple(self.current.values()),
                elapsed=time.monotonic() - self.started,
            )

    def _one(self, obj: PostDataObject, stage: Stage) -> None:
        key = threading.get_ident()
        depends_failed = (
            obj.entry.kind == "FK CONSTRAINT"
            and stage is Stage.VALIDATE
            and ((obj.entry.schema, obj.entry.name) in self.failed_tables)
        )
        with self.lock:
            self.current[key] = obj.label
        self.report(self._progress())
        started = time.monotonic()
        error = ""
        if not depends_failed:
            try:
                with connect(self.target_dsn, "target") as conn, conn.transaction():
                    conn.execute(SESSION_SQL)
                    for sql in statements(obj, stage):
                        conn.execute(sql.encode())  # pg_dump's text, run as it is (no parameters)
            except psycopg.Error as exc:
                error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        with self.lock:
            self.current.pop(key, None)
            self.done += 1
            self.bytes_done += obj.weight
            if error and stage is Stage.FOREIGN_KEY:
                self.failed_tables.add((obj.entry.schema, obj.entry.name))
            # One outcome per object: a foreign key's is its validation's, or its NOT VALID step's failure.
            if (stage is not Stage.FOREIGN_KEY or error) and not depends_failed:
                self.outcomes.append(Outcome(label=obj.label, action=obj.action, seconds=time.monotonic() - started, error=error))
        self.report(self._progress())


VERB = {Action.CREATE: "built", Action.REBUILD: "rebuilt", Action.VALIDATE: "validated"}
"""What the text output says of an object by its action."""


def summary(outcomes: Sequence[Outcome], *, jobs: int, dry_run: bool) -> tuple[dict[str, object], str]:
    """The JSON payload and the text of a run (or of the plan, ``dry_run``)."""
    work = [o for o in outcomes if o.action not in (Action.SKIP, Action.CONFLICT)]
    failed = [o for o in outcomes if o.error]
    present = sum(1 for o in outcomes if o.action is Action.SKIP)
    payload: dict[str, object] = {
        "phase": "post-data",
        "dry_run": dry_run,
        "jobs": jobs,
        "restored": [o.label for o in work if not o.error],
        "already_present": present,
        "objects": [dataclasses.asdict(o) | {"action": o.action.value} for o in outcomes],
        "failed": [{"object": o.label, "error": o.error} for o in failed],
    }
    verb = "would restore" if dry_run else "restored"
    done = len(work) - sum(1 for o in work if o.error)
    lines = [f"post-data: {verb} {done} object(s); {present} already on the target" + ("" if dry_run else f" ({jobs} jobs)")]
    for o in work:
        if o.error:
            continue
        lines.append(
            f"  {o.action.value if dry_run else VERB[o.action]:<9} {o.label}" + ("" if dry_run else f"  {o.seconds:.1f} s")
        )
    for o in failed:
        lines.append(f"  FAILED    {o.label}: {o.error}")
    if failed:
        lines.append(f"{len(failed)} object(s) not done: fix the cause and run the command again (it resumes)")
    return payload, "\n".join(lines)
