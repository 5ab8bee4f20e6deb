"""``[monitoring]``: the alarm topic, thresholds and log retention (feeds ``constructs/monitoring.py``)."""

from __future__ import annotations

import dataclasses

from inventory_migration.config.base import EMAIL_PATTERN, Check, Problem, Validated, positive, retention_check


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlarmThresholds(Validated):
    """CloudWatch alarm thresholds; every one must be greater than 0."""

    cdc_latency_source_seconds: int = 300
    """DMS CDCLatencySource above this alarms. Default: 300."""
    cdc_latency_target_seconds: int = 300
    """DMS CDCLatencyTarget above this alarms. Default: 300."""
    dms_cpu_percent: int = 80
    """DMS instance CPUUtilization above this alarms. Default: 80."""
    dms_freeable_memory_bytes: int = 1_073_741_824
    """DMS instance FreeableMemory below this alarms. Default: 1 GiB."""
    dms_free_storage_bytes: int = 10_737_418_240
    """DMS instance FreeStorageSpace below this alarms. Default: 10 GiB."""
    aurora_cpu_percent: int = 80
    """Aurora CPUUtilization above this alarms. Default: 80."""
    aurora_connections: int = 500
    """Aurora DatabaseConnections above this alarms. Default: 500."""
    aurora_freeable_memory_bytes: int = 2_147_483_648
    """Aurora FreeableMemory below this alarms. Default: 2 GiB."""
    aurora_free_local_storage_bytes: int = 5_368_709_120
    """Aurora FreeLocalStorage below this alarms. Default: 5 GiB."""
    aurora_replica_lag_ms: int = 1000
    """AuroraReplicaLag above this (milliseconds) alarms. Default: 1000."""
    aurora_writer_min_uptime_seconds: int = 300
    """The writer's EngineUptime (role metric) below this, or no datapoint at all, alarms: a restart or failover just
    happened, or there is no writer. Default: 300."""
    source_slot_retained_wal_bytes: int = 68_719_476_736
    """WAL kept on-prem for the source's logical slots above this alarms (``migrationctl status --publish-metrics``
    publishes it; no data: the alarm shows insufficient data). Default: 64 GiB."""
    green_unhealthy_hosts: int = 1
    """Green target group UnHealthyHostCount at or above this alarms. Default: 1."""
    green_target_5xx_count: int = 10
    """Green targets' HTTP 5xx responses per minute above this alarm. Default: 10."""
    evaluation_periods: int = 3
    """Consecutive 60-second periods before an alarm fires. Default: 3."""

    def _checks(self) -> list[Check]:
        return positive(self, *(f.name for f in dataclasses.fields(self)))


@dataclasses.dataclass(frozen=True, kw_only=True)
class MonitoringConfig(Validated):
    """Notifications and alarms."""

    notification_emails: tuple[str, ...] = ()
    """Addresses subscribed to the alarm topic (each confirms by mail). Default: none."""
    thresholds: AlarmThresholds = dataclasses.field(default_factory=AlarmThresholds)
    """Alarm thresholds. Default: :class:`AlarmThresholds` defaults."""
    log_retention_days: int = 365
    """Retention of the stack's CloudWatch log groups (a year: audit evidence of the migration). Default: 365."""

    def _checks(self) -> list[Check]:
        return [
            *[
                (EMAIL_PATTERN.fullmatch(e) is None, Problem("notification_emails", e, "must be an e-mail address"))
                for e in self.notification_emails
            ],
            retention_check("log_retention_days", self.log_retention_days),
        ]
