"""A stand-in for an AWS DMS PostgreSQL -> PostgreSQL CDC task, as the DMS user guide describes one:

* it reads a logical replication slot with ``test_decoding`` (``PluginName``), **confirming a batch of transactions
  before applying it** (``pg_logical_slot_get_changes`` consumes what it returns): what it holds in memory when it
  dies is lost to the slot;
* it applies **in commit order, source transactions whole** (``BatchApplyEnabled`` false: transactional apply),
  committing consecutive transactions it has read together on the target until a commit holds
  ``MinTransactionSize`` changes or ``CommitTimeout`` seconds passed since the first was read (the task settings'
  ``ChangeProcessingTuning``; DMS's defaults 1000 and 1 s); a group in which a change fails is applied again
  transaction by transaction;
* it **handles apply errors by the task's own ``ErrorBehavior``** (the JSON the stack deploys): ``SUSPEND_TABLE``
  puts the table in ``Table error`` and replicates the rest on, ``LOG_ERROR`` records and goes on, ``IGNORE_RECORD``
  drops the change, ``STOP_TASK`` fails the task; every error it records is a row of
  ``<ControlSchema>.awsdms_apply_exceptions`` on the target (``TASK_NAME``, ``TABLE_OWNER``, ``TABLE_NAME``,
  ``ERROR_TIME``, ``STATEMENT``, ``ERROR``), an UPDATE or DELETE that finds no row is an apply error;
* it keeps **table statistics** (inserts, updates, deletes, ``TableState``) for ``DescribeTableStatistics``;
* it writes its **heartbeat** on the source (``HeartbeatEnable``: ``awsdms_heartbeat`` in ``HeartbeatSchema``) so an
  idle source's slot moves on;
* it **takes its time to start and to stop** (``start_seconds``, ``stop_seconds``: 30 s by default, as stopping a real
  task takes tens of seconds) and, while stopping, goes on reading and applying (``apply_while_stopping``: the hostile
  case for a fence);
* a session ended or refused is **retried** (``reconnect_seconds``), as DMS retries a recoverable error: what it had
  read and not applied is lost to the slot;
* every transaction it applies is in :attr:`StandInTask.apply_log` (xid, commit LSN, when), to prove an order.

Left out (see docs/dms-standin.md): the full load, LOB modes, DDL capture, validation, batch apply, CloudWatch
metrics, recoverable-error retries, the replication instance's memory and swap.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import sql

from harness.dms.decoding import UNCHANGED, Change, Column, Kind, Transaction, transactions
from inventory_migration.migrationctl.pg.slots import lsn_value

APPLY_EXCEPTIONS = "awsdms_apply_exceptions"
HEARTBEAT = "awsdms_heartbeat"


class Status(StrEnum):
    """``ReplicationTask.Status`` values the stand-in goes through."""

    READY = "ready"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


TABLE_COMPLETED = "Table completed"
TABLE_ERROR = "Table error"


class Policy(StrEnum):
    """What ``ErrorBehavior`` says to do with a change that cannot be applied."""

    SUSPEND_TABLE = "SUSPEND_TABLE"
    LOG_ERROR = "LOG_ERROR"
    IGNORE_RECORD = "IGNORE_RECORD"
    STOP_TASK = "STOP_TASK"
    INSERT_RECORD = "INSERT_RECORD"
    """ApplyErrorUpdatePolicy: an UPDATE that finds no row inserts it."""
    UPDATE_RECORD = "UPDATE_RECORD"
    """ApplyErrorInsertPolicy: an INSERT that finds the row updates it."""


@dataclasses.dataclass
class TableStatistics:
    schema: str
    table: str
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    state: str = TABLE_COMPLETED

    def as_api(self) -> dict[str, Any]:
        """As ``DescribeTableStatistics`` answers."""
        return {
            "SchemaName": self.schema,
            "TableName": self.table,
            "Inserts": self.inserts,
            "Updates": self.updates,
            "Deletes": self.deletes,
            "TableState": self.state,
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class StandInSettings:
    """A task as the stand-in runs it."""

    task_name: str
    source_dsn: str
    """Where the slot is (the task's source endpoint)."""
    target_dsn: str
    """Where the changes are applied (the task's target endpoint)."""
    slot: str
    schemas: tuple[str, ...]
    """Schemas the table mappings include (``schema.%``)."""
    task_settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """The task's ``ReplicationTaskSettings`` (``ErrorBehavior``, ``ControlTablesSettings``)."""
    heartbeat_schema: str = ""
    """``HeartbeatSchema`` of the source endpoint; empty: no heartbeat."""
    heartbeat_seconds: float = 60.0
    start_seconds: float = 0.0
    stop_seconds: float = 30.0
    apply_while_stopping: bool = True
    after_connect_script: str = "SET session_replication_role = replica"
    """The target endpoint's ``afterConnectScript`` (the stack's: triggers and foreign keys off while applying), run on
    every session the task opens on the side it writes."""
    reconnect_seconds: float = 1.0
    """Wait before reconnecting after a session was ended or refused."""
    poll_seconds: float = 0.05
    batch_changes: int = 1000
    """``upto_nchanges`` of a read (whole transactions are returned, so a batch may hold more)."""
    start_position: str = ""
    """``CdcStartPosition``: transactions that committed before this LSN are read from the slot and not applied."""

    def policy(self, name: str, default: Policy = Policy.SUSPEND_TABLE) -> Policy:
        return Policy(str((self.task_settings.get("ErrorBehavior") or {}).get(name, default.value)))

    def _tuning(self, name: str, default: float) -> float:
        return float((self.task_settings.get("ChangeProcessingTuning") or {}).get(name, default))

    @property
    def min_transaction_size(self) -> int:
        """``ChangeProcessingTuning.MinTransactionSize`` (default 1000): transactional apply commits consecutive source
        transactions together on the target until a commit holds at least this many changes …"""
        return int(self._tuning("MinTransactionSize", 1000))

    @property
    def commit_timeout(self) -> float:
        """… or ``CommitTimeout`` seconds (default 1) have passed since the first of them was read."""
        return self._tuning("CommitTimeout", 1)

    @property
    def control_schema(self) -> str:
        return str((self.task_settings.get("ControlTablesSettings") or {}).get("ControlSchema") or "public")


def apply_exceptions_ddl(schema: str = "public") -> sql.Composed:
    """DMS's ``awsdms_apply_exceptions`` in ``schema`` (DMS user guide, "Control table task settings"): where a task
    records each change it could not apply."""
    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {}.{} (task_name varchar(128) NOT NULL, table_owner varchar(128) NOT NULL, "
        "table_name varchar(128) NOT NULL, error_time timestamp NOT NULL, statement text NOT NULL, error text NOT NULL)"
    ).format(sql.Identifier(schema), sql.Identifier(APPLY_EXCEPTIONS))


class ApplyError(Exception):
    """A change the target refused (or an UPDATE/DELETE that found no row)."""

    def __init__(self, statement: str, message: str) -> None:
        super().__init__(message)
        self.statement = statement


class StandInTask:
    """One task's engine: :meth:`start`, :meth:`stop`, :attr:`status`, :meth:`table_statistics`, :attr:`apply_log`."""

    def __init__(self, settings: StandInSettings) -> None:
        self.settings = settings
        self.status = Status.READY
        self.stop_reason = ""
        self.failure = ""
        self.tables: dict[tuple[str, str], TableStatistics] = {}
        self.apply_log: list[tuple[int, str, float]] = []
        self.started_at: float | None = None
        self._stop_requested: float | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._keys: dict[tuple[str, str], tuple[str, ...]] = {}
        self.reconnects = 0
        """Sessions lost or refused and retried (DMS retries a recoverable error)."""
        self._applying_since: float | None = None
        self._pending_since = 0.0
        self._composed: dict[tuple[Any, ...], bytes] = {}
        self._prepared: dict[bytes, str] = {}
        """Statements prepared on the current target session, by shape (a new session prepares them again)."""

    # ------------------------------------------------------------------------------------------- the API's verbs

    def start(self) -> None:
        if self.status in (Status.STARTING, Status.RUNNING, Status.STOPPING):
            raise RuntimeError(f"task {self.settings.task_name} is {self.status}")
        self.status, self._stop_requested, self.failure = Status.STARTING, None, ""
        self.started_at = time.time()
        self._thread = threading.Thread(target=self._run, name=f"dms-{self.settings.task_name}", daemon=True)
        self._thread.start()

    def stop(self, *, at_once: bool = False) -> None:
        """``StopReplicationTask``: the task goes ``stopping`` now and ``stopped`` ``stop_seconds`` later
        (``at_once``: the task is deleted, and stops applying now)."""
        if at_once:
            self.status, self._stop_requested = Status.STOPPING, time.monotonic() - self.settings.stop_seconds
        elif self.status in (Status.STARTING, Status.RUNNING):
            self.status, self._stop_requested = Status.STOPPING, time.monotonic()

    def latency_seconds(self) -> float:
        """CDC latency as CloudWatch would show it: the age of the batch read and not yet applied (0 when idle)."""
        since = self._applying_since
        return max(0.0, time.time() - since) if since is not None else 0.0

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def reload(self, schema: str, table: str) -> None:
        """``ReloadTables`` (data-reload) of a table nothing else writes meanwhile: its rows copied from the source
        again, its state back to ``Table completed``, its changes replicated again from here on."""
        name = sql.Identifier(schema, table)
        with (
            psycopg.connect(self.settings.source_dsn, autocommit=True) as source,
            psycopg.connect(self.settings.target_dsn, autocommit=True) as target,
        ):
            rows = source.execute(sql.SQL("SELECT * FROM {}").format(name)).fetchall()
            columns = [c.name for c in source.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(name)).description or []]
            if self.settings.after_connect_script:
                target.execute(self.settings.after_connect_script)
            with target.transaction():
                target.execute(sql.SQL("DELETE FROM {}").format(name))
                if rows:
                    with target.cursor().copy(
                        sql.SQL("COPY {} ({}) FROM STDIN").format(name, sql.SQL(", ").join(map(sql.Identifier, columns)))
                    ) as copy:
                        for row in rows:
                            copy.write_row(row)
        with self._lock:
            self.tables[(schema, table)] = TableStatistics(schema, table)

    def table_statistics(self) -> list[dict[str, Any]]:
        with self._lock:
            return [t.as_api() for t in self.tables.values()]

    # ------------------------------------------------------------------------------------------- the engine

    def _run(self) -> None:
        s = self.settings
        try:
            time.sleep(s.start_seconds)
            while not self._stop_due():
                try:
                    self._replicate()
                    return  # stopped
                except psycopg.OperationalError:  # a session ended or refused: DMS retries (recoverable error)
                    self.reconnects += 1
                    time.sleep(s.reconnect_seconds)
            self.status = Status.STOPPED  # its stop came while it was reconnecting
        except _TaskStopped as stopped:
            self.status, self.failure = Status.FAILED, str(stopped)
        except Exception as error:
            self.status, self.failure = Status.FAILED, f"{type(error).__name__}: {error}"

    def _stop_due(self) -> bool:
        """Whether the stop asked for has taken its time (the task then commits what it read and is ``stopped``)."""
        return self._stop_requested is not None and time.monotonic() - self._stop_requested >= self.settings.stop_seconds

    def _replicate(self) -> None:
        s = self.settings
        with (
            psycopg.connect(s.source_dsn, autocommit=True, application_name=f"dms-{s.task_name}") as source,
            psycopg.connect(s.target_dsn, autocommit=True, application_name=f"dms-{s.task_name}") as target,
        ):
            self._prepared.clear()
            if s.after_connect_script:
                target.execute(s.after_connect_script)
            self._register_tables(source)
            if self.status is Status.STARTING:
                self.status = Status.RUNNING
            self._control_table(target)
            start = lsn_value(s.start_position) if s.start_position else 0
            beat = 0.0
            pending: list[Transaction] = []
            """Read (so confirmed to the slot) and not yet committed on the target: DMS's transactional apply groups
            consecutive transactions into one commit (``MinTransactionSize``, ``CommitTimeout``)."""
            while not self._stop_due():
                if self._stop_requested is not None and not s.apply_while_stopping:
                    pending = self._commit(target, pending)
                    time.sleep(s.poll_seconds)
                    continue
                if s.heartbeat_schema and time.monotonic() - beat >= s.heartbeat_seconds:
                    self._heartbeat(source)
                    beat = time.monotonic()
                batch = transactions(
                    source.execute(
                        "SELECT lsn::text, xid::text::bigint, data FROM pg_logical_slot_get_changes(%s, NULL, %s, "
                        "'include-xids', '1', 'skip-empty-xacts', '1')",
                        (s.slot, s.batch_changes),
                    ).fetchall()
                )
                fresh = [txn for txn in batch if not (start and lsn_value(txn.commit_lsn) < start)]  # CdcStartPosition
                if fresh and self._applying_since is None:  # only what will be applied counts toward the latency
                    self._applying_since, self._pending_since = time.time(), time.monotonic()
                pending += fresh
                if pending and (
                    sum(len(txn.changes) for txn in pending) >= s.min_transaction_size
                    or time.monotonic() - self._pending_since >= s.commit_timeout
                ):
                    pending = self._commit(target, pending)
                if not batch:
                    time.sleep(s.poll_seconds)
            self._commit(target, pending)  # what a stopping task read, committed before it says stopped
            self.status = Status.STOPPED

    def _commit(self, target: psycopg.Connection, pending: list[Transaction]) -> list[Transaction]:
        """``pending``, in commit order, in one target transaction; if any change in it fails, transaction by
        transaction (each by its own policy, :meth:`_apply`). Nothing is left pending."""
        if len(pending) == 1:
            self._apply(target, pending[0])
        elif pending:
            try:
                self._apply_at_once(target, [c for txn in pending for c in self._to_apply(txn)])
            except ApplyError:
                for txn in pending:
                    self._apply(target, txn)
            else:
                for txn in pending:
                    self._record(txn, self._to_apply(txn))
        self._applying_since = None
        return []

    def _register_tables(self, source: psycopg.Connection) -> None:
        """Every table the mappings include has statistics from the start, as DMS lists them after its full load."""
        rows = source.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)", (list(self.settings.schemas),)
        ).fetchall()
        with self._lock:
            for schema, table in rows:
                self.tables.setdefault((str(schema), str(table)), TableStatistics(str(schema), str(table)))

    def _control_table(self, target: psycopg.Connection) -> None:
        schema = sql.Identifier(self.settings.control_schema)
        if target.execute("SELECT to_regclass(%s)", (f"{self.settings.control_schema}.{APPLY_EXCEPTIONS}",)).fetchone()[0]:  # type: ignore[index]
            return  # created before (maybe by another user): CREATE … IF NOT EXISTS would still need CREATE privileges
        if not target.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.settings.control_schema,)).fetchall():
            target.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        target.execute(apply_exceptions_ddl(self.settings.control_schema))

    def _heartbeat(self, source: psycopg.Connection) -> None:
        table = sql.Identifier(self.settings.heartbeat_schema, HEARTBEAT)
        source.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (hb_id int PRIMARY KEY, hb_ts timestamp NOT NULL)").format(table))
        source.execute(sql.SQL("INSERT INTO {} VALUES (1, now()) ON CONFLICT (hb_id) DO UPDATE SET hb_ts = now()").format(table))

    def _stats(self, change: Change) -> TableStatistics:
        with self._lock:
            return self.tables.setdefault(change.relation, TableStatistics(change.schema, change.table))

    def _apply(self, target: psycopg.Connection, txn: Transaction) -> None:
        """One source transaction in one target transaction: at once while every change applies; when one does not,
        again change by change (a savepoint each), so the one that fails is handled by its policy alone."""
        changes = [c for c in txn.changes if c.schema in self.settings.schemas]
        try:
            applied = self._to_apply(txn)
            self._apply_at_once(target, applied)
        except ApplyError:
            applied = self._apply_one_by_one(target, changes)
        self._record(txn, applied)

    def _to_apply(self, txn: Transaction) -> list[Change]:
        """The changes of ``txn`` in the mapped schemas whose tables are not suspended."""
        return [c for c in txn.changes if c.schema in self.settings.schemas and self._stats(c).state != TABLE_ERROR]

    def _record(self, txn: Transaction, applied: list[Change]) -> None:
        with self._lock:
            for change in applied:
                stats = self._stats(change)
                if change.kind is Kind.INSERT:
                    stats.inserts += 1
                elif change.kind is Kind.UPDATE:
                    stats.updates += 1
                elif change.kind is Kind.DELETE:
                    stats.deletes += 1
        self.apply_log.append((txn.xid, txn.commit_lsn, time.time()))

    def _apply_one_by_one(self, target: psycopg.Connection, changes: list[Change]) -> list[Change]:
        """Each change in a savepoint of one target transaction. A table suspended here is shown suspended only once
        that transaction has committed, so whoever reads the table's state finds its exception row already there."""
        applied: list[Change] = []
        suspended: set[tuple[str, str]] = set()
        with target.transaction():
            for change in changes:
                if (change.schema, change.table) in suspended or self._stats(change).state == TABLE_ERROR:
                    continue  # suspended: its changes are not replicated
                try:
                    with target.transaction():  # a savepoint: one change fails alone
                        self._apply_change(target, change)
                except ApplyError as error:
                    if self._on_error(target, change, error):
                        suspended.add((change.schema, change.table))
                    continue
                applied.append(change)
        with self._lock:
            for change in changes:
                if (change.schema, change.table) in suspended:
                    self._stats(change).state = TABLE_ERROR
        return applied

    def _policy_for(self, change: Change) -> Policy:
        name = {
            Kind.INSERT: "ApplyErrorInsertPolicy",
            Kind.UPDATE: "ApplyErrorUpdatePolicy",
            Kind.DELETE: "ApplyErrorDeletePolicy",
            Kind.TRUNCATE: "TableErrorPolicy",
        }[change.kind]
        return self.settings.policy(name)

    def _on_error(self, target: psycopg.Connection, change: Change, error: ApplyError) -> bool:
        """Handle a change that did not apply by its policy; whether its table is to be suspended."""
        policy = self._policy_for(change)
        if policy is Policy.IGNORE_RECORD:
            return False
        target.execute(
            sql.SQL("INSERT INTO {}.{} VALUES (%s, %s, %s, now() AT TIME ZONE 'UTC', %s, %s)").format(
                sql.Identifier(self.settings.control_schema), sql.Identifier(APPLY_EXCEPTIONS)
            ),
            (self.settings.task_name, change.schema, change.table, error.statement, str(error)),
        )
        if policy is Policy.STOP_TASK:
            raise _TaskStopped(f"{change.schema}.{change.table}: {error}")
        return policy is Policy.SUSPEND_TABLE

    # ------------------------------------------------------------------------------------------- statements

    def _apply_at_once(self, target: psycopg.Connection, changes: list[Change]) -> None:
        """The changes in one target transaction and one round trip: a single simple-query message of their
        statements, values as literals (PostgreSQL runs such a message as one transaction). An UPDATE or DELETE that
        finds no row fails its statement (``1 / count``), so any change that would not apply rolls the whole message
        back and is an :class:`ApplyError` (the caller then applies change by change, each by its policy). The same
        statements as :meth:`_apply_change`, without a round trip or a parameter binding each."""
        for change in changes:
            if change.kind is Kind.UPDATE and not change.old_key:
                self._key(target, change)  # looked up before the message is built
        if not changes:
            return
        statements = [self._statement_text(target, change) for change in changes]  # preparing what is new first
        try:
            target.execute(";\n".join(statements).encode())
        except psycopg.Error as error:
            if target.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                target.execute(b"ROLLBACK")
            raise ApplyError("(one message)", str(error).strip().splitlines()[0] if str(error).strip() else "error") from None

    def _statement_text(self, target: psycopg.Connection, change: Change) -> str:
        """:meth:`_statement` as ``EXECUTE`` of a statement prepared once per session and shape, its values written in
        as literals (the server plans each shape once; nothing is bound or parsed per value on this side)."""
        template, values = self._statement(target, change)
        if not values:
            return template.decode()
        name = self._prepared.get(template)
        if name is None:
            parts = template.decode().split("%s")
            name = f"dms_apply_{len(self._prepared) + 1}"
            target.execute(f"PREPARE {name} AS " + "".join(p + f"${n}" for n, p in enumerate(parts[:-1], 1)) + parts[-1])
            self._prepared[template] = name
        return f"EXECUTE {name}(" + ", ".join(_literal(v) for v in values) + ")"

    def _statement(self, target: psycopg.Connection, change: Change) -> tuple[bytes, list[Any]]:
        """The statement applying ``change`` (composed once per table, kind and columns) and its values."""
        if change.kind is Kind.INSERT:
            cols: tuple[Column, ...] = tuple(change.new)
            where: tuple[Column, ...] = ()
        elif change.kind is Kind.UPDATE:
            cols = tuple(c for c in change.new if c.value is not UNCHANGED)
            where = change.old_key or tuple(c for c in change.new if c.name in self._key(target, change))
            if not where:
                raise ApplyError(f"UPDATE {change.schema}.{change.table}", "no key to find the row by (no primary key)")
        elif change.kind is Kind.DELETE:
            cols, where = (), change.old_key
        else:
            return sql.SQL("TRUNCATE {}").format(sql.Identifier(change.schema, change.table)).as_bytes(target), []
        shape = (
            change.kind,
            change.relation,
            tuple((c.name, c.type) for c in cols),
            tuple((c.name, c.type, c.value is None) for c in where),
        )
        cached = self._composed.get(shape)
        if cached is None:
            table = sql.Identifier(change.schema, change.table)
            if change.kind is Kind.INSERT:
                composed = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    table, sql.SQL(", ").join(sql.Identifier(c.name) for c in cols), sql.SQL(", ").join(_cast(c) for c in cols)
                )
            elif change.kind is Kind.UPDATE:
                composed = sql.SQL("WITH done AS (UPDATE {} SET {} WHERE {} RETURNING 1) SELECT 1 / count(*) FROM done").format(
                    table,
                    sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c.name), _cast(c)) for c in cols),
                    self._where(where)[0],
                )
            else:
                composed = sql.SQL("WITH done AS (DELETE FROM {} WHERE {} RETURNING 1) SELECT 1 / count(*) FROM done").format(
                    table, self._where(where)[0]
                )
            cached = self._composed[shape] = composed.as_bytes(target)
        return cached, [c.value for c in cols] + [c.value for c in where if c.value is not None]

    def _key(self, target: psycopg.Connection, change: Change) -> tuple[str, ...]:
        if change.relation not in self._keys:
            rows = target.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass AND i.indisprimary ORDER BY a.attnum",
                change.relation,
            ).fetchall()
            self._keys[change.relation] = tuple(str(r[0]) for r in rows)
        return self._keys[change.relation]

    def _apply_change(self, target: psycopg.Connection, change: Change) -> None:
        table = sql.Identifier(change.schema, change.table)
        if change.kind is Kind.TRUNCATE:
            self._execute(target, sql.SQL("TRUNCATE {}").format(table), ())
            return
        if change.kind is Kind.INSERT:
            cols = list(change.new)
            statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                table, sql.SQL(", ").join(sql.Identifier(c.name) for c in cols), sql.SQL(", ").join(_cast(c) for c in cols)
            )
            try:
                self._execute(target, statement, [c.value for c in cols])
            except ApplyError:
                if self._policy_for(change) is not Policy.UPDATE_RECORD:
                    raise
                self._update(target, change, table)
            return
        if change.kind is Kind.UPDATE:
            if self._update(target, change, table) == 0:
                if self._policy_for(change) is Policy.INSERT_RECORD:
                    self._apply_change(target, dataclasses.replace(change, kind=Kind.INSERT, old_key=()))
                    return
                raise ApplyError(f"UPDATE {change.schema}.{change.table}", "the row to update was not found on the target")
            return
        where, values = self._where(change.old_key)
        if self._execute(target, sql.SQL("DELETE FROM {} WHERE {}").format(table, where), values) == 0:
            raise ApplyError(f"DELETE FROM {change.schema}.{change.table}", "the row to delete was not found on the target")

    def _update(self, target: psycopg.Connection, change: Change, table: sql.Composable) -> int:
        new = [c for c in change.new if c.value is not UNCHANGED]
        key_columns = change.old_key or tuple(c for c in change.new if c.name in self._key(target, change))
        if not key_columns:
            raise ApplyError(f"UPDATE {change.schema}.{change.table}", "no key to find the row by (no primary key)")
        where, values = self._where(key_columns)
        statement = sql.SQL("UPDATE {} SET {} WHERE {}").format(
            table, sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c.name), _cast(c)) for c in new), where
        )
        return self._execute(target, statement, [c.value for c in new] + values)

    def _where(self, columns: tuple[Column, ...]) -> tuple[sql.Composable, list[Any]]:
        """The row by its key: ``=`` so the key's index finds it (``IS NOT DISTINCT FROM`` cannot use an index: every
        UPDATE and DELETE scanned its whole table, and the apply slowed as tables grew), ``IS NULL`` for a NULL
        (a replica identity without a primary key)."""
        parts = [
            sql.SQL("{} IS NULL").format(sql.Identifier(c.name))
            if c.value is None
            else sql.SQL("{} = {}").format(sql.Identifier(c.name), _cast(c))
            for c in columns
        ]
        return sql.SQL(" AND ").join(parts), [c.value for c in columns if c.value is not None]

    def _execute(self, target: psycopg.Connection, statement: sql.Composed, values: Any) -> int:
        try:
            return int(target.execute(statement, values).rowcount)
        except psycopg.Error as error:
            text = statement.as_string(target)
            raise ApplyError(text, str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__) from None


class _TaskStopped(Exception):
    """``STOP_TASK``: the task fails."""


def _literal(value: Any) -> str:
    """A value's text as an SQL string literal (standard conforming: only the quote is doubled), or NULL."""
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def _cast(column: Column) -> sql.Composable:
    """A placeholder cast to the column's type as test_decoding names it (``format_type``)."""
    return sql.SQL("%s::" + column.type)


def settings_from_api(task_settings: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """A task's ``ReplicationTaskSettings`` (the JSON string the API carries) as a mapping."""
    if not task_settings:
        return {}
    return dict(json.loads(task_settings)) if isinstance(task_settings, str) else dict(task_settings)
