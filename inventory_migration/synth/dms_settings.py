"""DMS table mappings and task settings as typed Python, rendered to the JSON DMS expects.

Built for a full load followed by CDC into a schema created beforehand (``migrationctl schema pre-data``):
target tables are left as they are (``DO_NOTHING``), LOBs are copied in limited mode, every row is
validated, logs go to CloudWatch and data errors suspend the table instead of failing silently.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

from inventory_migration.contracts.names import CONTROL_SCHEMA


class TargetTablePrepMode(Enum):
    DO_NOTHING = "DO_NOTHING"
    """Keep the tables created by the pre-data schema step."""
    TRUNCATE_BEFORE_LOAD = "TRUNCATE_BEFORE_LOAD"
    DROP_AND_CREATE = "DROP_AND_CREATE"


class LogSeverity(Enum):
    DEFAULT = "LOGGER_SEVERITY_DEFAULT"
    DEBUG = "LOGGER_SEVERITY_DEBUG"
    DETAILED_DEBUG = "LOGGER_SEVERITY_DETAILED_DEBUG"


LOG_COMPONENTS = (
    "SOURCE_UNLOAD",
    "SOURCE_CAPTURE",
    "TARGET_LOAD",
    "TARGET_APPLY",
    "TASK_MANAGER",
    "VALIDATOR_EXT",
)
"""Task components whose logs go to CloudWatch."""


def table_ref(text: str) -> tuple[str, str]:
    """``"schema.table"`` as ``(schema, table)``; :class:`ValueError` naming the value otherwise (no wildcards: DMS's
    table-settings rules take none)."""
    schema, dot, table = text.partition(".")
    if not dot or not schema or not table or "." in table or "%" in text:
        raise ValueError(f"{text!r}: must be schema.table (no wildcards)")
    return schema, table


FULL_LOB = {"mode": "unlimited", "bulk-max-size": "0"}
"""``lob-settings`` of a table migrated in full LOB mode: every LOB whole, whatever its size (DMS user guide, "Specifying
LOB settings for a selected table or view": ``unlimited`` with a ``bulk-max-size`` of 0 is full LOB mode)."""


AFTER_CONNECT_SCRIPT = "SET session_replication_role = 'replica'"
"""The target endpoints' ``afterConnectScript``, run on every target connection: foreign keys and user triggers do
not fire for replicated rows."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class TableMappings:
    """Selection rules: every table of each listed schema, and of :data:`CONTROL_SCHEMA` (the cutover's fence); tables
    left out; tables moved in full LOB mode (the task's limited LOB size does not apply to them)."""

    schemas: tuple[str, ...]
    """Schemas to include, each with all its tables."""
    excluded_tables: tuple[tuple[str, str], ...] = ()
    """(schema, table) pairs left out, e.g. partitioned parents whose partitions carry the rows. Default: none."""
    full_lob_tables: tuple[tuple[str, str], ...] = ()
    """(schema, table) pairs moved in full LOB mode (:data:`FULL_LOB`): LOBs larger than the limited size. Default:
    none."""

    def to_dict(self) -> dict[str, Any]:
        rules: list[dict[str, Any]] = []

        def rule(kind: str, name: str, schema: str, table: str, **extra: Any) -> None:
            locator = {"schema-name": schema, "table-name": table}
            rules.append(
                {"rule-type": kind, "rule-id": str(len(rules) + 1), "rule-name": name, "object-locator": locator, **extra}
            )

        for schema in dict.fromkeys((*self.schemas, CONTROL_SCHEMA)):
            rule("selection", f"include-{schema}", schema, "%", **{"rule-action": "include"})
        for schema, table in self.excluded_tables:
            rule("selection", f"exclude-{schema}-{table}", schema, table, **{"rule-action": "exclude"})
        for schema, table in self.full_lob_tables:
            rule("table-settings", f"full-lob-{schema}-{table}", schema, table, **{"lob-settings": dict(FULL_LOB)})
        return {"rules": rules}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TableMappings:
        """The mappings a task holds (``DescribeReplicationTasks``' ``TableMappings``), read back: what
        :meth:`to_dict` writes, and the same rule kinds written by hand."""
        schemas: list[str] = []
        excluded: list[tuple[str, str]] = []
        full_lob: list[tuple[str, str]] = []
        for r in json.loads(text).get("rules", []):
            locator = r.get("object-locator") or {}
            schema, table = str(locator.get("schema-name", "")), str(locator.get("table-name", ""))
            if r.get("rule-type") == "selection" and r.get("rule-action") == "include" and table == "%":
                if schema != CONTROL_SCHEMA:
                    schemas.append(schema)
            elif r.get("rule-type") == "selection" and r.get("rule-action") == "exclude":
                excluded.append((schema, table))
            elif r.get("rule-type") == "table-settings" and (r.get("lob-settings") or {}).get("mode") == "unlimited":
                full_lob.append((schema, table))
        return cls(schemas=tuple(schemas), excluded_tables=tuple(excluded), full_lob_tables=tuple(full_lob))

    def selects(self, schema: str, table: str) -> bool:
        return schema in self.schemas and (schema, table) not in self.excluded_tables


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskSettings:
    """The replication task settings this kit uses."""

    lob_max_size_kb: int
    """Limited LOB mode: largest LOB copied, in KB."""
    max_full_load_subtasks: int = 8
    """Tables loaded in parallel. Default: 8."""
    target_table_prep_mode: TargetTablePrepMode = TargetTablePrepMode.DO_NOTHING
    """What DMS does to target tables before the load. Default: ``DO_NOTHING``."""
    validation: bool = True
    """Row-level validation of every migrated row. Default: true."""
    validation_threads: int = 5
    """Validation threads. Default: 5."""
    log_severity: LogSeverity = LogSeverity.DEFAULT
    """Severity of every logged component. Default: ``LOGGER_SEVERITY_DEFAULT``."""
    commit_rate: int = 10000
    """Rows transferred together during the full load. Default: 10000."""
    stop_before_cached_changes: bool = True
    """``StopTaskCachedChangesNotApplied``: the task stops after its full load, before applying the changes cached
    meanwhile, so that ``migrationctl schema post-data`` builds indexes and keys while nothing writes (AWS's pattern
    for adding secondary indexes); ``migrationctl resume-changes`` starts the apply. Default: true."""

    def __post_init__(self) -> None:
        problems = [
            msg
            for bad, msg in (
                (self.lob_max_size_kb <= 0, f"lob_max_size_kb = {self.lob_max_size_kb!r}: must be > 0"),
                (
                    not 1 <= self.max_full_load_subtasks <= 49,
                    f"max_full_load_subtasks = {self.max_full_load_subtasks!r}: 1 to 49",
                ),
                (not 1 <= self.validation_threads <= 20, f"validation_threads = {self.validation_threads!r}: 1 to 20"),
            )
            if bad
        ]
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return {
            "TargetMetadata": {
                "TargetSchema": "",
                "SupportLobs": True,
                "FullLobMode": False,
                "LobChunkSize": 0,
                "LimitedSizeLobMode": True,
                "LobMaxSize": self.lob_max_size_kb,
                "BatchApplyEnabled": False,
            },
            "FullLoadSettings": {
                "TargetTablePrepMode": self.target_table_prep_mode.value,
                "CreatePkAfterFullLoad": False,
                "StopTaskCachedChangesApplied": False,
                "StopTaskCachedChangesNotApplied": self.stop_before_cached_changes,
                "MaxFullLoadSubTasks": self.max_full_load_subtasks,
                "TransactionConsistencyTimeout": 600,
                "CommitRate": self.commit_rate,
            },
            "Logging": {
                "EnableLogging": True,
                "LogComponents": [{"Id": c, "Severity": self.log_severity.value} for c in LOG_COMPONENTS],
            },
            "ValidationSettings": {
                "EnableValidation": self.validation,
                "ValidationMode": "ROW_LEVEL",
                "ThreadCount": self.validation_threads,
                "PartitionSize": 10000,
                "FailureMaxCount": 10000,
                "RecordFailureDelayLimitInMinutes": 0,
                "HandleCollationDiff": False,
                "TableFailureMaxCount": 1000,
            },
            # No error is logged and skipped: a row DMS cannot convert, truncates or cannot apply puts its table in
            # the error state (SUSPEND_TABLE: the rest replicates on, the table statistics and the cutover gate
            # "replication applies every change" show it). DMS user guide, "Error handling task settings".
            "ErrorBehavior": {
                "DataErrorPolicy": "SUSPEND_TABLE",
                "DataTruncationErrorPolicy": "SUSPEND_TABLE",
                "DataErrorEscalationPolicy": "SUSPEND_TABLE",
                "DataErrorEscalationCount": 0,
                "TableErrorPolicy": "SUSPEND_TABLE",
                "TableErrorEscalationPolicy": "STOP_TASK",
                "TableErrorEscalationCount": 0,
                "RecoverableErrorCount": -1,
                "RecoverableErrorInterval": 5,
                "RecoverableErrorThrottling": True,
                "RecoverableErrorThrottlingMax": 1800,
                "ApplyErrorDeletePolicy": "SUSPEND_TABLE",
                "ApplyErrorInsertPolicy": "SUSPEND_TABLE",
                "ApplyErrorUpdatePolicy": "SUSPEND_TABLE",
                "ApplyErrorEscalationPolicy": "SUSPEND_TABLE",
                "ApplyErrorEscalationCount": 0,
                "FullLoadIgnoreConflicts": True,
            },
            "ChangeProcessingTuning": {
                "BatchApplyPreserveTransaction": True,
                "BatchApplyTimeoutMin": 1,
                "BatchApplyTimeoutMax": 30,
                "BatchSplitSize": 0,
                "CommitTimeout": 1,
                "MemoryLimitTotal": 1024,
                "MemoryKeepTime": 60,
                "StatementCacheSize": 50,
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)
