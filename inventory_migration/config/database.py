"""``[source]`` and ``[aurora]``: the on-prem PostgreSQL source and the Aurora target (feeds
``constructs/aurora.py``), with the cluster parameters checked against PostgreSQL's own setting types."""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Mapping
from datetime import date
from enum import Enum

from inventory_migration.config.base import Check, Problem, Validated, ipv4, port_check
from inventory_migration.config.pg_settings import parameter_value_problem


class EngineLifecycleSupport(Enum):
    """RDS Extended Support choice for the Aurora cluster (``engine_lifecycle_support``)."""

    EXTENDED_SUPPORT = "open-source-rds-extended-support"
    """Keep running (paid) after the major's standard support ends."""
    EXTENDED_SUPPORT_DISABLED = "open-source-rds-extended-support-disabled"
    """Refuse Extended Support: RDS upgrades the major when standard support ends."""


AURORA_MAJORS = (13, 14, 15, 16, 17)
"""Aurora PostgreSQL majors this kit can target."""

DEFAULT_ENGINE_VERSIONS: Mapping[int, str] = types.MappingProxyType(
    {13: "13.18", 14: "14.15", 15: "15.10", 16: "16.6", 17: "17.4"}
)
"""Full engine version used for a major when ``aurora.engine_version`` is not set."""

END_OF_STANDARD_SUPPORT: Mapping[int, date] = types.MappingProxyType(
    {13: date(2026, 2, 28), 14: date(2027, 2, 28), 15: date(2028, 2, 29), 16: date(2029, 2, 28), 17: date(2030, 2, 28)}
)
"""Aurora PostgreSQL end of standard support per major (AWS Aurora version policy)."""

MIGRATION_PARAMETERS: Mapping[str, str] = types.MappingProxyType({"rds.logical_replication": "1", "rds.force_ssl": "1"})
"""Cluster parameters the migration itself needs: logical replication (static: applies at the next reboot) so DMS can
read Aurora for the reverse (way-back) task, and TLS only."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SourceDatabaseConfig(Validated):
    """The on-prem PostgreSQL 13 server DMS reads from (its host lives in the DMS endpoints' secret only)."""

    port: int = 5432
    """Source port. Default: 5432."""
    addresses: tuple[str, ...] = ("192.168.20.10",)
    """IPv4 addresses of the source server (the primary, and a standby DMS may be pointed at), inside
    ``network.on_prem_cidrs``: the only on-prem addresses DMS may reach (its security group), and the on-prem
    firewall's and ``pg_hba.conf``'s entries (``docs/network.md``). The host *name* DMS connects to stays in the
    endpoints' secret. Default: ``192.168.20.10``, a stand-in."""
    database_name: str = "inventory"
    """Database to migrate. Default: ``inventory``."""
    engine_major: int = 13
    """Source PostgreSQL major. Default: 13."""
    ca_certificate_file: str = ""
    """PEM file (relative to ``config/``) of the CA that signed the source's server certificate; when set,
    DMS connects with ``verify-full``. Default: none, DMS uses ``require``."""

    def _checks(self) -> list[Check]:
        return [
            port_check("port", self.port),
            (not self.addresses, Problem("addresses", self.addresses, "must list the source server's IPv4 address")),
            *(
                (ipv4(a) is None, Problem("addresses", a, "must be an IPv4 address (the server DMS connects to)"))
                for a in self.addresses
            ),
            (
                re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", self.database_name) is None,
                Problem("database_name", self.database_name, "must be a PostgreSQL identifier"),
            ),
            (not 9 <= self.engine_major <= 17, Problem("engine_major", self.engine_major, "must be 9 to 17")),
        ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuroraConfig(Validated):
    """The Aurora PostgreSQL target cluster."""

    engine_major: int = 16
    """Aurora PostgreSQL major (13 to 17). Default: 16, in standard support until 2029-02-28."""
    engine_version: str = ""
    """Full engine version. Default: the major's entry in ``DEFAULT_ENGINE_VERSIONS``."""
    engine_lifecycle_support: EngineLifecycleSupport | None = None
    """Extended Support choice; required for a major past standard support. Default: not set."""
    instance_class: str = "db.r6g.large"
    """Instance class of every cluster instance. Default: ``db.r6g.large``."""
    instance_count: int = 2
    """Writer plus readers, spread over the AZs (at least 2). Default: 2."""
    database_name: str = "inventory"
    """Database created in the cluster. Default: ``inventory``."""
    master_username: str = "inventory_admin"
    """Master user; its password is generated and kept by Secrets Manager. Default: ``inventory_admin``."""
    port: int = 5432
    """Cluster port. Default: 5432."""
    backup_retention_days: int = 7
    """Automated backup retention (1 to 35 days). Default: 7."""
    preferred_backup_window: str = "03:00-04:00"
    """Daily backup window, UTC. Default: ``03:00-04:00``."""
    preferred_maintenance_window: str = "sun:05:00-sun:06:00"
    """Weekly maintenance window, UTC. Default: ``sun:05:00-sun:06:00``."""
    deletion_protection: bool = False
    """Refuse deletion of the cluster. Default: false (dev is destroyable); prod sets true."""
    skip_final_snapshot: bool = True
    """Destroy without a final snapshot. Default: true (dev); prod sets false."""
    performance_insights_retention_days: int = 7
    """Performance Insights retention: 7, or a multiple of 31 up to 731. Default: 7 (free tier)."""
    monitoring_interval_seconds: int = 60
    """Enhanced monitoring interval: 1, 5, 10, 15, 30 or 60. Default: 60."""
    source_parameters: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Cluster parameters mirroring the PostgreSQL 13 source (``migrationctl params export`` writes
    them). Default: none."""

    @property
    def resolved_engine_version(self) -> str:
        return self.engine_version or DEFAULT_ENGINE_VERSIONS.get(self.engine_major, str(self.engine_major))

    @property
    def parameter_group_family(self) -> str:
        return f"aurora-postgresql{self.engine_major}"

    def needs_lifecycle_choice(self, today: date) -> bool:
        end = END_OF_STANDARD_SUPPORT.get(self.engine_major)
        return end is not None and today > end

    def _checks(self) -> list[Check]:
        checks: list[Check] = [
            (
                self.engine_major not in AURORA_MAJORS,
                Problem("engine_major", self.engine_major, f"allowed: {', '.join(map(str, AURORA_MAJORS))}"),
            ),
            (
                bool(self.engine_version) and not self.engine_version.startswith(f"{self.engine_major}."),
                Problem("engine_version", self.engine_version, f"must belong to engine_major {self.engine_major}"),
            ),
            (
                self.needs_lifecycle_choice(date.today()) and self.engine_lifecycle_support is None,
                Problem(
                    "engine_lifecycle_support",
                    None,
                    f"Aurora PostgreSQL {self.engine_major} is past standard support; set it explicitly "
                    f"(allowed: {', '.join(e.value for e in EngineLifecycleSupport)}) or choose a newer engine_major",
                ),
            ),
            (
                re.fullmatch(r"db\.[a-z0-9]+\.[a-z0-9]+", self.instance_class) is None,
                Problem("instance_class", self.instance_class, "must look like db.r6g.large"),
            ),
            (
                self.instance_count < 2,
                Problem("instance_count", self.instance_count, "must be at least 2 (writer + reader in another AZ)"),
            ),
            (
                self.instance_count > 16,
                Problem("instance_count", self.instance_count, "must be at most 16 (1 writer + 15 readers)"),
            ),
            (
                not 1 <= self.backup_retention_days <= 35,
                Problem("backup_retention_days", self.backup_retention_days, "must be 1 to 35"),
            ),
            (
                not (
                    self.performance_insights_retention_days == 7
                    or (
                        self.performance_insights_retention_days % 31 == 0
                        and 31 <= self.performance_insights_retention_days <= 731
                    )
                ),
                Problem(
                    "performance_insights_retention_days",
                    self.performance_insights_retention_days,
                    "must be 7 or a multiple of 31 up to 731",
                ),
            ),
            (
                self.monitoring_interval_seconds not in (1, 5, 10, 15, 30, 60),
                Problem("monitoring_interval_seconds", self.monitoring_interval_seconds, "allowed: 1, 5, 10, 15, 30, 60"),
            ),
            (not 1150 <= self.port <= 65535, Problem("port", self.port, "must be 1150 to 65535")),
            (
                re.fullmatch(r"[a-z][a-z0-9_]{0,62}", self.master_username) is None
                or self.master_username in ("postgres", "rdsadmin"),
                Problem("master_username", self.master_username, "must be a lowercase identifier other than postgres/rdsadmin"),
            ),
            (
                re.fullmatch(r"[a-z][a-z0-9_]{0,62}", self.database_name) is None,
                Problem("database_name", self.database_name, "must be a lowercase PostgreSQL identifier"),
            ),
            (
                re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", self.preferred_backup_window) is None,
                Problem("preferred_backup_window", self.preferred_backup_window, "must look like 03:00-04:00 (UTC)"),
            ),
            (
                re.fullmatch(
                    r"(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d-(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d",
                    self.preferred_maintenance_window,
                )
                is None,
                Problem(
                    "preferred_maintenance_window", self.preferred_maintenance_window, "must look like sun:05:00-sun:06:00 (UTC)"
                ),
            ),
        ]
        for name, value in self.source_parameters.items():
            required = MIGRATION_PARAMETERS.get(name)
            checks.append(
                (
                    required is not None and value != required,
                    Problem(f"source_parameters.{name}", value, f"the migration requires {required}"),
                )
            )
            checks.append(
                (
                    re.fullmatch(r"[a-z_][a-z0-9_.]*", name) is None,
                    Problem(f"source_parameters.{name}", value, "parameter names are lowercase identifiers"),
                )
            )
            value_problem = parameter_value_problem(name, value)
            checks.append((value_problem is not None, Problem(f"source_parameters.{name}", value, value_problem or "")))
        return checks
