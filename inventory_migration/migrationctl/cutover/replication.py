"""Replication between the two databases, both directions, behind one interface.

* :class:`NativeReplication`: PostgreSQL publication/subscription (``pgoutput``). The local rehearsal's stand-in for
  DMS, and a valid choice for the way back (a subscription on the on-prem server to a publication on Aurora).
* :class:`DmsReplication`: AWS DMS (production): the forward full-load-and-CDC task and the reverse CDC-only task,
  driven through boto3; lag from CloudWatch.

Both read from a logical replication slot on the side being copied. A drain does not trust the slot: DMS confirms
what it has fetched into its own cache, not what it has applied, so the cutover waits for a fence row to be *applied*
on the other side (:mod:`..pg.fence`) and reads the slot only as a secondary signal. The way back starts from a slot
created on the target *before the first green write* (:meth:`ReplicationBackend.prepare_reverse`), whose consistent
point is the switch.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

import psycopg
from psycopg import sql

from inventory_migration.contracts.names import CONTROL_SCHEMA, FENCE_TABLE, REVERSE_SLOT_NAME, reverse_task_id
from inventory_migration.migrationctl.db import connect, query
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.pg.fence import FENCE
from inventory_migration.migrationctl.pg.slots import (
    FORWARD_NAME,
    REVERSE_NAME,
    advance_slot,
    confirmed_position,
    create_slot,
    drop_slot,
)
from inventory_migration.migrationctl.polling import poll


@dataclasses.dataclass(frozen=True)
class Lag:
    """How far a replication trails: bytes of WAL not yet confirmed and/or seconds (DMS latency)."""

    bytes: int | None = None
    seconds: float | None = None
    why_unknown: str = ""
    """Why a measure is missing (no slot, no CloudWatch data points), for the gate's message."""


def slot_lag(source: psycopg.Connection, slot: str) -> int | None:
    """Bytes of WAL ``slot`` has not confirmed, or ``None`` when there is no such slot."""
    rows = query(
        source,
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = %s",
        (slot,),
    )
    return int(rows[0][0] or 0) if rows else None


class ReplicationBackend(abc.ABC):
    """What ``migrationctl cutover`` / ``rollback`` need from a replication, in both directions."""

    name: str
    lag_measures: tuple[str, ...] = ("bytes",)
    """What :meth:`forward_lag` measures: each must be known for the lag gate to pass (``bytes``, ``seconds``)."""
    forward_slot: str
    """Logical slot on the source that the forward replication reads."""
    reverse_slot: str
    """Logical slot on the target that the way back reads (created by :meth:`prepare_reverse`)."""
    reverse_plugin: str
    """Output plugin of the reverse slot."""
    stops_at_once: bool = False
    """Whether :meth:`stop_forward` returns in milliseconds. If not (DMS: tens of seconds), the switch fences the
    forward applier by privilege instead of waiting for the stop (:mod:`.applier`) and stops it after green opens."""

    def resolve_forward_slot(self, source: psycopg.Connection) -> str:
        """The forward slot's name (a backend may have to look it up)."""
        return self.forward_slot

    @abc.abstractmethod
    def forward_running(self) -> bool: ...

    @abc.abstractmethod
    def carries_fence(self, target: psycopg.Connection) -> tuple[bool, str]:
        """Whether the forward replication replicates the fence table (:mod:`..pg.fence`), and how that was told."""

    @abc.abstractmethod
    def apply_problems(self, target: psycopg.Connection) -> list[str]:
        """What the forward replication reports as not applied: tables in error, apply exceptions. Empty: none."""

    @abc.abstractmethod
    def reverse_apply_problems(self, source: psycopg.Connection) -> list[str]:
        """The same for the way back (applied on the source). Empty: none."""

    @abc.abstractmethod
    def forward_lag(self, source: psycopg.Connection) -> Lag: ...

    @abc.abstractmethod
    def stop_forward(self) -> None:
        """Stop on-prem -> Aurora (idempotent); returns once nothing more is applied."""

    @abc.abstractmethod
    def resume_forward(self, source: psycopg.Connection, position: str | None) -> str:
        """Advance the forward slot to ``position`` (where on-prem equals Aurora), then resume (idempotent): the changes
        the way back wrote on-prem are not sent to Aurora again. ``None``: resume from where the slot is — nothing it
        has not confirmed is skipped. Returns the position it resumes from."""

    def prepare_reverse(self, target: psycopg.Connection) -> str:
        """Create the way back's slot on the target (idempotent); its consistent point: the reverse start position."""
        return create_slot(target, self.reverse_slot, self.reverse_plugin)

    @abc.abstractmethod
    def start_reverse(self, start_lsn: str) -> str:
        """Start Aurora -> on-prem from ``start_lsn`` (idempotent); a one-line status."""

    @abc.abstractmethod
    def reverse_running(self) -> bool: ...

    def way_back_missing(self, start_lsn: str) -> str:
        """Why the way back cannot run now (empty: it can): a rollback checks it before it freezes green."""
        return ""

    @abc.abstractmethod
    def stop_reverse(self, target: psycopg.Connection) -> None:
        """Stop the way back and drop its slot (idempotent)."""


# --------------------------------------------------------------------------------------------- native


@dataclasses.dataclass
class NativeReplication(ReplicationBackend):
    """PostgreSQL logical replication: publication on the copied side, subscription on the other."""

    source_dsn: str
    target_dsn: str
    source_dsn_for_target: str = ""
    """How the target server reaches the source (the forward subscription's connection). Default: ``source_dsn``."""
    target_dsn_for_source: str = ""
    """How the source server reaches the target (the reverse subscription's connection). Default: ``target_dsn``."""
    name: str = "native"
    forward_slot: str = FORWARD_NAME
    reverse_slot: str = REVERSE_NAME
    reverse_plugin: str = "pgoutput"
    stops_at_once: bool = True
    """``ALTER SUBSCRIPTION … DISABLE``: the apply worker exits at once; stopping it is its fence."""

    def _source(self) -> psycopg.Connection:
        return connect(self.source_dsn, "source")

    def _target(self) -> psycopg.Connection:
        return connect(self.target_dsn, "target")

    def setup_forward(self, *, copy_data: bool = True) -> None:
        """Publication and slot on the source, subscription on the target (the initial copy runs when ``copy_data``).
        The slot is created first, not by CREATE SUBSCRIPTION, which would wait forever when both databases share a
        server."""
        with self._source() as source:
            if not query(source, "SELECT 1 FROM pg_publication WHERE pubname = %s", (FORWARD_NAME,)):
                query(source, sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(FORWARD_NAME)))
            create_slot(source, self.forward_slot, "pgoutput")
        with self._target() as target:
            if not query(target, "SELECT 1 FROM pg_subscription WHERE subname = %s", (FORWARD_NAME,)):
                query(
                    target,
                    sql.SQL(
                        "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} "
                        "WITH (copy_data = {}, create_slot = false, slot_name = {})"
                    ).format(
                        sql.Identifier(FORWARD_NAME),
                        sql.Literal(self.source_dsn_for_target or self.source_dsn),
                        sql.Identifier(FORWARD_NAME),
                        sql.Literal(copy_data),
                        sql.Literal(self.forward_slot),
                    ),
                )
            if not query(target, "SELECT 1 FROM pg_publication WHERE pubname = %s", (REVERSE_NAME,)):
                query(target, sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(REVERSE_NAME)))

    def initial_copy_done(self) -> bool:
        with self._target() as target:
            rows = query(
                target,
                "SELECT count(*) FILTER (WHERE r.srsubstate <> 'r') FROM pg_subscription_rel r "
                "JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = %s",
                (FORWARD_NAME,),
            )
            return int(rows[0][0]) == 0

    def forward_running(self) -> bool:
        with self._target() as target:
            rows = query(target, "SELECT subenabled FROM pg_subscription WHERE subname = %s", (FORWARD_NAME,))
            return bool(rows and rows[0][0])

    def carries_fence(self, target: psycopg.Connection) -> tuple[bool, str]:
        rows = query(
            target,
            "SELECT r.srsubstate FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid "
            "WHERE s.subname = %s AND r.srrelid = to_regclass(%s)",
            (FORWARD_NAME, FENCE),
        )
        if rows:
            return True, f"subscription {FORWARD_NAME} replicates {FENCE}"
        return False, f"subscription {FORWARD_NAME} does not replicate {FENCE}: ALTER SUBSCRIPTION ... REFRESH PUBLICATION"

    def apply_problems(self, target: psycopg.Connection) -> list[str]:
        return _subscription_problems(target, FORWARD_NAME)

    def reverse_apply_problems(self, source: psycopg.Connection) -> list[str]:
        return _subscription_problems(source, REVERSE_NAME)

    def forward_lag(self, source: psycopg.Connection) -> Lag:
        lag = slot_lag(source, self.forward_slot)
        return Lag(bytes=lag, why_unknown="" if lag is not None else f"no slot {self.forward_slot} on the source")

    def _set_enabled(self, conn: psycopg.Connection, subscription: str, enabled: bool) -> None:
        if query(conn, "SELECT 1 FROM pg_subscription WHERE subname = %s", (subscription,)):
            verb = "ENABLE" if enabled else "DISABLE"
            query(conn, sql.SQL("ALTER SUBSCRIPTION {} " + verb).format(sql.Identifier(subscription)))
            if not enabled:  # the apply worker exits on its own schedule: wait until nothing more is applied
                poll(
                    lambda: (
                        not query(
                            conn,
                            "SELECT 1 FROM pg_stat_subscription st JOIN pg_subscription s ON s.oid = st.subid "
                            "WHERE s.subname = %s AND st.pid IS NOT NULL",
                            (subscription,),
                        )
                    ),
                    timeout=30,
                    interval=0.02,
                    timed_out=lambda: UsageError(f"subscription {subscription} still applying 30 s after DISABLE"),
                )

    def stop_forward(self) -> None:
        with self._target() as target:
            self._set_enabled(target, FORWARD_NAME, False)

    def resume_forward(self, source: psycopg.Connection, position: str | None) -> str:
        position = (
            advance_slot(source, self.forward_slot, position) if position else confirmed_position(source, self.forward_slot)
        )
        with self._target() as target:
            # The gate counts apply errors of *this* run: what failed before the way back (a change that travelled in
            # a circle while a cutover was interrupted) is history once the sides are equal again and it resumes.
            if int(query(target, "SHOW server_version_num")[0][0]) >= 150000:
                query(
                    target,
                    "SELECT pg_stat_reset_subscription_stats(oid) FROM pg_subscription WHERE subname = %s",
                    (FORWARD_NAME,),
                )
            self._set_enabled(target, FORWARD_NAME, True)
        return position

    def start_reverse(self, start_lsn: str) -> str:
        with self._source() as source:
            if query(source, "SELECT 1 FROM pg_subscription WHERE subname = %s", (REVERSE_NAME,)):
                self._set_enabled(source, REVERSE_NAME, True)
                return f"subscription {REVERSE_NAME} on the source enabled"
            query(
                source,
                sql.SQL(
                    "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} "
                    "WITH (create_slot = false, slot_name = {}, copy_data = false, enabled = true)"
                ).format(
                    sql.Identifier(REVERSE_NAME),
                    sql.Literal(self.target_dsn_for_source or self.target_dsn),
                    sql.Identifier(REVERSE_NAME),
                    sql.Literal(self.reverse_slot),
                ),
            )
        return f"subscription {REVERSE_NAME} on the source reads slot {self.reverse_slot} from {start_lsn}"

    def reverse_running(self) -> bool:
        with self._source() as source:
            rows = query(source, "SELECT subenabled FROM pg_subscription WHERE subname = %s", (REVERSE_NAME,))
            return bool(rows and rows[0][0])

    def stop_reverse(self, target: psycopg.Connection) -> None:
        with self._source() as source:
            if query(source, "SELECT 1 FROM pg_subscription WHERE subname = %s", (REVERSE_NAME,)):
                self._set_enabled(source, REVERSE_NAME, False)
                query(source, sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(sql.Identifier(REVERSE_NAME)))
                query(source, sql.SQL("DROP SUBSCRIPTION {}").format(sql.Identifier(REVERSE_NAME)))
        drop_slot(target, self.reverse_slot)


def _subscription_problems(conn: psycopg.Connection, subscription: str) -> list[str]:
    """Tables of ``subscription`` (on ``conn``) whose initial copy is not finished, and its apply errors (15+)."""
    problems = [
        f"{r[0]}: initial copy not finished (state {r[1]})"
        for r in query(
            conn,
            "SELECT r.srrelid::regclass::text, r.srsubstate FROM pg_subscription_rel r "
            "JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = %s AND r.srsubstate <> 'r' ORDER BY 1",
            (subscription,),
        )
    ]
    if int(query(conn, "SHOW server_version_num")[0][0]) >= 150000:
        problems += [
            f"subscription {subscription}: {r[0]} apply error(s), {r[1]} initial-copy error(s) since {r[2] or 'it was created'} "
            "(counted from its last resume)"
            for r in query(
                conn,
                "SELECT apply_error_count, sync_error_count, stats_reset FROM pg_stat_subscription_stats "
                "WHERE subname = %s AND apply_error_count + sync_error_count > 0",
                (subscription,),
            )
        ]
    return problems


# --------------------------------------------------------------------------------------------- DMS

DMS_TABLE_FAILED_STATES = ("Table error", "Table cancelled")
"""``TableState`` values of ``DescribeTableStatistics`` that mean a table is no longer replicated."""
APPLY_EXCEPTIONS_TABLE = "awsdms_apply_exceptions"
"""DMS's table of changes it failed to apply, on the target, in the task's control schema (``ERROR_TIME`` column)."""


def apply_exceptions(target: psycopg.Connection, since: Any = None) -> list[str]:
    """Rows of every ``awsdms_apply_exceptions`` table on ``target`` (whatever its control schema), counted per table
    since ``since`` (the full load's end) when given; one line per table that has any."""
    out = []
    for schema, column in query(
        target,
        "SELECT n.nspname, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND lower(a.attname) = 'error_time') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = %s AND c.relkind = 'r'",
        (APPLY_EXCEPTIONS_TABLE,),
    ):
        table = sql.Identifier(schema, APPLY_EXCEPTIONS_TABLE)
        if since is not None and column:
            statement = sql.SQL("SELECT count(*) FROM {} WHERE {} >= %s").format(table, sql.Identifier(column))
            count = int(query(target, statement, (since,))[0][0])
        else:
            count = int(query(target, sql.SQL("SELECT count(*) FROM {}").format(table))[0][0])
        if count:
            out.append(
                f"{schema}.{APPLY_EXCEPTIONS_TABLE}: {count} change(s) DMS could not apply" + (f" since {since}" if since else "")
            )
    return out


@dataclasses.dataclass
class DmsReplication(ReplicationBackend):
    """AWS DMS: the forward full-load-and-CDC task and the reverse CDC-only task (``inventory_migration/constructs/dms.py``).

    The reverse task exists from the ``cutover`` phase on; when ``migrationctl cutover`` runs while the stack is still
    in ``cdc``, :meth:`start_reverse` reports the position to deploy with (``dms.reverse_cdc_start_position``): the slot
    created before the first green write keeps every change until the task reads it.
    """

    dms: Any
    cloudwatch: Any
    forward_task_arn: str
    reverse_task_arn: str = ""
    forward_slot: str = ""
    """DMS's slot on the source (``pg_replication_slots``); empty: the one active ``test_decoding`` slot."""
    reverse_slot: str = REVERSE_SLOT_NAME
    """The slot on Aurora the reverse task reads (``dms.reverse_slot_name``)."""
    name: str = "dms"
    lag_measures: tuple[str, ...] = ("bytes", "seconds")
    """The slot's bytes on the source and CloudWatch's CDC latency: both must be known."""
    reverse_plugin: str = "test_decoding"
    poll_seconds: float = 5.0
    timeout_seconds: float = 900.0

    def _task(self, arn: str) -> dict[str, Any]:
        tasks = self.dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])[
            "ReplicationTasks"
        ]
        if not tasks:
            raise UsageError(f"no DMS replication task {arn}")
        return dict(tasks[0])

    def _wait(self, arn: str, statuses: tuple[str, ...]) -> str:
        status = ""

        def arrived() -> bool:
            nonlocal status
            status = str(self._task(arn)["Status"])
            return status in statuses

        poll(
            arrived,
            timeout=self.timeout_seconds,
            interval=self.poll_seconds,
            timed_out=lambda: UsageError(f"DMS task {arn} is {status!r} after {self.timeout_seconds:.0f} s; wanted {statuses}"),
        )
        return status

    def resolve_forward_slot(self, source: psycopg.Connection) -> str:
        if self.forward_slot:
            return self.forward_slot
        rows = query(
            source,
            "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical' AND plugin = 'test_decoding' "
            "AND database = current_database()",
        )
        if len(rows) != 1:
            raise UsageError(f"cannot tell DMS's slot on the source ({len(rows)} test_decoding slots): pass --forward-slot")
        self.forward_slot = str(rows[0][0])
        return self.forward_slot

    def forward_running(self) -> bool:
        return bool(self._task(self.forward_task_arn)["Status"] == "running")

    def _table_statistics(self, task_arn: str = "", **filters: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {"ReplicationTaskArn": task_arn or self.forward_task_arn}
        if filters:
            request["Filters"] = [{"Name": name.replace("_", "-"), "Values": [value]} for name, value in filters.items()]
        tables: list[dict[str, Any]] = []
        while True:
            page = self.dms.describe_table_statistics(**request)
            tables += page.get("TableStatistics", [])
            if not page.get("Marker"):
                return tables
            request["Marker"] = page["Marker"]

    def carries_fence(self, target: psycopg.Connection) -> tuple[bool, str]:
        if self._table_statistics(schema_name=CONTROL_SCHEMA, table_name=FENCE_TABLE):
            return True, f"the forward task replicates {FENCE}"
        return False, f"the forward task has no table statistics for {FENCE}: its table mappings leave it out"

    def apply_problems(self, target: psycopg.Connection) -> list[str]:
        return self._task_problems(self.forward_task_arn, target)

    def reverse_apply_problems(self, source: psycopg.Connection) -> list[str]:
        if not self.reverse_task():
            return ["the reverse DMS task is not deployed: nothing applies the way back"]
        return self._task_problems(self.reverse_task_arn, source)

    def _task_problems(self, task_arn: str, applied_on: psycopg.Connection) -> list[str]:
        """Tables of the task in error (a table suspended on an apply error is "Table error" and the task keeps
        running), and the changes it could not apply (``awsdms_apply_exceptions`` on the side it writes)."""
        problems = [
            f"{t['SchemaName']}.{t['TableName']}: {t['TableState']}"
            for t in self._table_statistics(task_arn)
            if t.get("TableState") in DMS_TABLE_FAILED_STATES
        ]
        # Apply exceptions of this run: since the task's last start or resume (ReplicationTaskStats.StartDate, "started
        # either with a fresh start or a resume", DMS API reference), and not before the full load finished.
        stats = self._task(task_arn).get("ReplicationTaskStats", {})
        marks = [d for d in (stats.get("FullLoadFinishDate"), stats.get("StartDate")) if d is not None]
        return problems + apply_exceptions(applied_on, max(marks) if marks else None)

    def forward_lag(self, source: psycopg.Connection) -> Lag:
        from inventory_migration.migrationctl.pg.lag import dms_lag

        result = dms_lag(self.cloudwatch, self.dms, self.forward_task_arn)
        why = [] if result.total_seconds is not None else ["CloudWatch has no CDCLatencySource/Target data points in 10 minutes"]
        try:
            slot = self.resolve_forward_slot(source)
            lag_bytes = slot_lag(source, slot)
            if lag_bytes is None:
                why.append(f"no slot {slot} on the source")
        except UsageError as unknown:
            lag_bytes = None
            why.append(str(unknown))
        return Lag(bytes=lag_bytes, seconds=result.total_seconds, why_unknown="; ".join(why))

    def stop_forward(self) -> None:
        if self._task(self.forward_task_arn)["Status"] in ("running", "starting"):
            self.dms.stop_replication_task(ReplicationTaskArn=self.forward_task_arn)
        self._wait(self.forward_task_arn, ("stopped", "ready", "failed"))

    def resume_forward(self, source: psycopg.Connection, position: str | None) -> str:
        slot = self.resolve_forward_slot(source)
        position = advance_slot(source, slot, position) if position else confirmed_position(source, slot)
        if self._task(self.forward_task_arn)["Status"] != "running":
            self.dms.start_replication_task(
                ReplicationTaskArn=self.forward_task_arn, StartReplicationTaskType="resume-processing"
            )
            self._wait(self.forward_task_arn, ("running",))
        return position

    def reverse_task(self) -> str:
        """The reverse task's ARN: as given, or found by the stack's naming from the forward task (an outputs file
        written before the ``cutover`` phase was deployed has none). Empty: not deployed yet."""
        if not self.reverse_task_arn:
            forward = self._task(self.forward_task_arn)
            wanted = reverse_task_id(str(forward.get("ReplicationTaskIdentifier", "")))
            found = self.dms.describe_replication_tasks(Filters=[{"Name": "replication-task-id", "Values": [wanted]}])
            tasks = found.get("ReplicationTasks", [])
            self.reverse_task_arn = str(tasks[0]["ReplicationTaskArn"]) if tasks else ""
        return self.reverse_task_arn

    def start_reverse(self, start_lsn: str) -> str:
        if not self.reverse_task():
            return (
                f'reverse DMS task not deployed yet: set dms.reverse_cdc_start_position = "{start_lsn}" and deploy the '
                f"cutover phase (slot {self.reverse_slot} keeps every change until then)"
            )
        status = self._task(self.reverse_task_arn)["Status"]
        if status != "running":
            self.dms.start_replication_task(
                ReplicationTaskArn=self.reverse_task_arn,
                StartReplicationTaskType="start-replication" if status == "ready" else "resume-processing",
                CdcStartPosition=start_lsn,
            )
            self._wait(self.reverse_task_arn, ("running",))
        return f"reverse DMS task running from {start_lsn}"

    def reverse_running(self) -> bool:
        return bool(self.reverse_task()) and self._task(self.reverse_task_arn)["Status"] == "running"

    def way_back_missing(self, start_lsn: str) -> str:
        if self.reverse_task():
            return ""
        return (
            "the reverse DMS task is not deployed yet: set dms.reverse_cdc_start_position = "
            f'"{start_lsn}" and migration_phase = "cutover", cdktf deploy, then run rollback again '
            f"(slot {self.reverse_slot} on Aurora keeps every green write until the task reads it)"
        )

    def stop_reverse(self, target: psycopg.Connection) -> None:
        if self.reverse_task() and self._task(self.reverse_task_arn)["Status"] in ("running", "starting"):
            self.dms.stop_replication_task(ReplicationTaskArn=self.reverse_task_arn)
            self._wait(self.reverse_task_arn, ("stopped", "ready", "failed"))
        drop_slot(target, self.reverse_slot)
