"""``params export``: the source's non-default settings as the stack's Aurora cluster parameters.

Reads ``pg_settings`` where the value was set on purpose (configuration file, ``ALTER SYSTEM``,
``ALTER DATABASE``), translates each to the Aurora cluster parameter group's name and units, and lists what it
skips with the reason: parameters Aurora manages or does not expose, and parameters the target major removed.
The output is the ``[aurora.source_parameters]`` table of ``config/<env>.toml``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import psycopg

from inventory_migration.config.base import field_default
from inventory_migration.config.database import AuroraConfig
from inventory_migration.migrationctl.db import query

DEFAULT_TARGET_MAJOR: int = field_default(AuroraConfig, "engine_major")
"""The Aurora major the stack deploys by default (``aurora.engine_major``): ``params export --target-major``'s default."""

SETTINGS_SQL = """
    SELECT name, setting, unit, vartype, source
    FROM pg_settings
    WHERE source IN ('configuration file', 'command line', 'database', 'global')
    ORDER BY name
"""
"""Set on purpose: postgresql.conf, the server command line, ALTER SYSTEM (``global``), ALTER DATABASE (``database``)."""

AURORA_MANAGED: Mapping[str, str] = {
    name: reason
    for names, reason in (
        (("archive_mode", "archive_command", "archive_timeout", "restore_command"), "Aurora storage archives continuously"),
        (
            (
                "checkpoint_timeout",
                "checkpoint_completion_target",
                "checkpoint_flush_after",
                "max_wal_size",
                "min_wal_size",
                "wal_keep_size",
                "wal_segment_size",
                "full_page_writes",
                "fsync",
                "wal_sync_method",
                "wal_writer_delay",
                "wal_compression",
                "wal_init_zero",
                "wal_recycle",
                "bgwriter_delay",
                "bgwriter_lru_maxpages",
                "bgwriter_lru_multiplier",
                "effective_io_concurrency",
                "maintenance_io_concurrency",
                "backend_flush_after",
            ),
            "Aurora's storage layer replaces WAL files, checkpoints and the background writer",
        ),
        (
            (
                "data_directory",
                "config_file",
                "hba_file",
                "ident_file",
                "external_pid_file",
                "unix_socket_directories",
                "unix_socket_group",
                "unix_socket_permissions",
                "listen_addresses",
                "port",
                "cluster_name",
                "data_sync_retry",
            ),
            "set by Aurora for the instance",
        ),
        (
            (
                "ssl",
                "ssl_cert_file",
                "ssl_key_file",
                "ssl_ca_file",
                "ssl_crl_file",
                "ssl_ciphers",
                "ssl_prefer_server_ciphers",
                "ssl_min_protocol_version",
                "ssl_max_protocol_version",
                "ssl_dh_params_file",
                "ssl_ecdh_curve",
            ),
            "TLS is managed by RDS; rds.force_ssl=1 is set by the stack",
        ),
        (
            (
                "log_directory",
                "log_filename",
                "log_destination",
                "logging_collector",
                "log_rotation_age",
                "log_rotation_size",
                "log_truncate_on_rotation",
                "log_file_mode",
                "syslog_facility",
                "syslog_ident",
                "event_source",
            ),
            "RDS manages log files; the stack exports the postgresql log to CloudWatch",
        ),
        (("wal_level",), "replaced by rds.logical_replication=1, which the stack sets"),
        (
            ("shared_buffers", "effective_cache_size", "huge_pages", "max_worker_processes", "dynamic_shared_memory_type"),
            "Aurora sizes memory from the instance class; keep its formula-based default",
        ),
        (("lc_messages", "lc_monetary", "lc_numeric", "lc_time"), "locale settings are not modifiable on Aurora"),
        (
            ("krb_server_keyfile", "krb_caseins_users", "password_encryption", "authentication_timeout", "db_user_namespace"),
            "authentication is managed by RDS (IAM auth, Secrets Manager)",
        ),
        (("shared_preload_libraries",), "review by hand: only libraries Aurora supports may be listed"),
        (("max_replication_slots", "max_wal_senders"), "Aurora's defaults already cover logical replication"),
    )
    for name in names
}
"""Source parameters that do not carry over, with the reason."""

REMOVED_IN_MAJOR: Mapping[str, int] = {
    "wal_keep_segments": 13,
    "operator_precedence_warning": 14,
    "stats_temp_directory": 15,
    "vacuum_defer_cleanup_age": 16,
    "promote_trigger_file": 16,
    "lc_ctype": 16,
    "lc_collate": 16,
    "old_snapshot_threshold": 17,
    "db_user_namespace": 17,
    "trace_recovery_messages": 17,
}
"""Parameters removed in PostgreSQL (the first major without them)."""

RENAMED_IN_MAJOR: Mapping[str, tuple[str, int]] = {"force_parallel_mode": ("debug_parallel_query", 16)}


@dataclasses.dataclass(frozen=True)
class ExportedParameter:
    name: str
    value: str
    source_value: str
    unit: str


@dataclasses.dataclass(frozen=True)
class SkippedParameter:
    name: str
    value: str
    reason: str


@dataclasses.dataclass
class ParameterExport:
    target_major: int
    parameters: list[ExportedParameter] = dataclasses.field(default_factory=list)
    skipped: list[SkippedParameter] = dataclasses.field(default_factory=list)

    def to_toml(self) -> str:
        lines = [
            f"# Written by `migrationctl params export` for Aurora PostgreSQL {self.target_major}.",
            "# Values are in each parameter's base unit, as Aurora parameter groups take them.",
            "[aurora.source_parameters]",
        ]
        lines += [f'{_toml_key(p.name)} = "{p.value}"' + (f"  # {p.unit}" if p.unit else "") for p in self.parameters]
        if self.skipped:
            lines.append("")
            lines.append("# Skipped:")
            lines += [f"#   {s.name} = {s.value}: {s.reason}" for s in self.skipped]
        return "\n".join(lines) + "\n"


def _toml_key(name: str) -> str:
    return f'"{name}"' if "." in name else name


def translate(name: str, setting: str, vartype: str, target_major: int) -> tuple[str, str] | str:
    """(aurora name, value), or the reason the parameter is skipped."""
    if name in AURORA_MANAGED:
        return AURORA_MANAGED[name]
    if name in RENAMED_IN_MAJOR and target_major >= RENAMED_IN_MAJOR[name][1]:
        name = RENAMED_IN_MAJOR[name][0]
    elif name in REMOVED_IN_MAJOR and target_major >= REMOVED_IN_MAJOR[name]:
        return f"removed in PostgreSQL {REMOVED_IN_MAJOR[name]}"
    if vartype == "bool":
        return name, "1" if setting == "on" else "0"
    return name, setting


def export(conn: psycopg.Connection, target_major: int) -> ParameterExport:
    result = ParameterExport(target_major)
    for name, setting, unit, vartype, _source in query(conn, SETTINGS_SQL):
        translated = translate(name, setting, vartype, target_major)
        if isinstance(translated, str):
            result.skipped.append(SkippedParameter(name, setting, translated))
        else:
            result.parameters.append(ExportedParameter(translated[0], translated[1], setting, unit or ""))
    return result
