"""Typed, validated configuration of one migration environment.

Environment files live in ``config/<env>.toml`` and are read with :mod:`tomllib` into the frozen
dataclasses below. ``dev`` is the embedded default environment: every optional field's default is the
dev value, so ``config/dev.toml`` only says what a reader should see at a glance.

Bad input never half-works: :func:`load_config` collects every problem (unknown key, wrong type, a value
outside its allowed set, cross-field conflicts, derived names over an AWS limit) and raises one
:class:`ConfigError` that names the file, each field, its bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
"""Where the shipped environment files live."""

DEFAULT_ENVIRONMENT = "dev"
"""The embedded default environment, used when neither ``MIGRATION_ENV`` nor a context value is set."""

ENV_VAR = "MIGRATION_ENV"
"""Environment variable that selects the environment file."""


class MigrationPhase(Enum):
    """Phases of the migration, in order; the value is the ``MigrationPhase`` tag."""

    FOUNDATION = "foundation"
    """Network, keys, Aurora and DMS exist; nothing replicates yet."""
    FULL_LOAD = "full-load"
    """DMS copies the 500 GB baseline."""
    CDC = "cdc"
    """Change data capture keeps Aurora in step with the source."""
    CUTOVER = "cutover"
    """The 4-hour window: writes stop on-prem, apps move to ECS on Aurora."""
    ROLLBACK_WINDOW = "rollback-window"
    """Aurora is primary; logical replication back to on-prem keeps a way back open."""
    DECOMMISSION = "decommission"
    """The on-prem system and the migration-only resources are being retired."""


class OnPremConnectivity(Enum):
    """How the VPC reaches the on-prem network."""

    VPN = "vpn"
    """A site-to-site VPN: customer gateway, virtual private gateway, static routes."""
    TRANSIT_GATEWAY = "transit-gateway"
    """Attach the VPC to an existing Transit Gateway that already routes to on-prem."""


class NatGatewayMode(Enum):
    """How many NAT gateways the VPC gets."""

    SINGLE = "single"
    """One NAT gateway in the first AZ (cheap; an AZ outage cuts private egress)."""
    PER_AZ = "per-az"
    """One NAT gateway per AZ (highly available)."""
    NONE = "none"
    """No NAT gateway: private subnets reach AWS only through VPC endpoints."""


class EngineLifecycleSupport(Enum):
    """RDS Extended Support choice for the Aurora cluster (``engine_lifecycle_support``)."""

    EXTENDED_SUPPORT = "open-source-rds-extended-support"
    """Keep running (paid) after the major's standard support ends."""
    EXTENDED_SUPPORT_DISABLED = "open-source-rds-extended-support-disabled"
    """Refuse Extended Support: RDS upgrades the major when standard support ends."""


class BackendKind(Enum):
    """Where Terraform keeps this environment's state."""

    LOCAL = "local"
    """A local file next to the synthesized stack (dev, experiments)."""
    S3 = "s3"
    """An S3 bucket with native S3 locking (``use_lockfile``): shared environments."""


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
"""Cluster parameters the migration itself needs: logical replication for the rollback path, TLS only."""

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
"""Retention values CloudWatch Logs accepts."""

SUFFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){0,14}[a-z0-9]$|^[a-z0-9]$")
ENVIRONMENT_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,9}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: the field's dotted path, its value and what is allowed."""

    field: str
    value: Any
    message: str

    def within(self, section: str) -> Problem:
        return dataclasses.replace(self, field=f"{section}.{self.field}" if self.field else section)

    def __str__(self) -> str:
        return f"{self.field} = {self.value!r}: {self.message}"


class ConfigError(ValueError):
    """Every problem of one configuration source, reported together."""

    def __init__(self, problems: list[Problem], source: str = "<config>") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid configuration in {source} ({len(self.problems)} problem(s)):\n{lines}")


Check = tuple[bool, Problem]
"""A rule: (is it violated?, the problem to report)."""


class _Validated:
    """Mixin: ``__post_init__`` runs every rule of ``_checks`` and raises all violations at once."""

    def _checks(self) -> list[Check]:  # pragma: no cover - every subclass overrides
        return []

    def __post_init__(self) -> None:
        problems = [problem for violated, problem in self._checks() if violated]
        if problems:
            raise ConfigError(problems, source=type(self).__name__)


def _positive(obj: object, *names: str) -> list[Check]:
    return [(getattr(obj, n) <= 0, Problem(n, getattr(obj, n), "must be greater than 0")) for n in names]


_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))


def _is_public_ipv4(value: str) -> bool:
    try:
        ip = ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local or any(ip in n for n in _RFC1918))


def _cidr(value: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkConfig(_Validated):
    """The VPC and its path to on-prem."""

    vpc_cidr: str = "10.80.0.0/16"
    """VPC IPv4 range, /16 to /22; split into 16 equal subnets. Default: ``10.80.0.0/16``."""
    az_count: int = 3
    """Availability zones used (2 to 4). Default: 3."""
    nat_gateways: NatGatewayMode = NatGatewayMode.SINGLE
    """NAT gateway layout. Default: one NAT gateway (dev); prod sets ``per-az``."""
    on_prem_cidrs: tuple[str, ...] = ("192.168.0.0/16",)
    """On-prem networks reached through the VPN or Transit Gateway. Default: ``192.168.0.0/16``."""
    connectivity: OnPremConnectivity = OnPremConnectivity.VPN
    """Path to on-prem. Default: site-to-site VPN."""
    customer_gateway_ip: str = "198.51.100.10"
    """Public IPv4 of the on-prem VPN device (VPN only). Default: a documentation address to replace."""
    customer_gateway_bgp_asn: int = 65000
    """BGP ASN of the on-prem VPN device (VPN only). Default: 65000."""
    transit_gateway_id: str = ""
    """Existing Transit Gateway id, ``tgw-…`` (Transit Gateway only). Default: none."""
    flow_log_retention_days: int = 365
    """Days VPC flow logs are kept (a CloudWatch Logs retention value). Default: 365."""

    def _checks(self) -> list[Check]:
        vpc = _cidr(self.vpc_cidr)
        checks: list[Check] = [
            (vpc is None, Problem("vpc_cidr", self.vpc_cidr, "must be an IPv4 network in CIDR notation")),
            (
                vpc is not None and not 16 <= vpc.prefixlen <= 22,
                Problem("vpc_cidr", self.vpc_cidr, "prefix length must be between /16 and /22"),
            ),
            (not 2 <= self.az_count <= 4, Problem("az_count", self.az_count, "must be 2, 3 or 4")),
            (not self.on_prem_cidrs, Problem("on_prem_cidrs", self.on_prem_cidrs, "must list at least one network")),
            (
                self.flow_log_retention_days not in LOG_RETENTION_DAYS,
                Problem(
                    "flow_log_retention_days",
                    self.flow_log_retention_days,
                    f"must be a CloudWatch Logs retention ({', '.join(map(str, LOG_RETENTION_DAYS))})",
                ),
            ),
        ]
        for cidr in self.on_prem_cidrs:
            net = _cidr(cidr)
            checks.append((net is None, Problem("on_prem_cidrs", cidr, "must be an IPv4 network in CIDR notation")))
            checks.append(
                (
                    net is not None and vpc is not None and net.overlaps(vpc),
                    Problem("on_prem_cidrs", cidr, f"overlaps vpc_cidr {self.vpc_cidr}; on-prem and VPC ranges must be disjoint"),
                )
            )
            checks.append(
                (
                    net is not None and net.prefixlen == 0,
                    Problem("on_prem_cidrs", cidr, "must not be 0.0.0.0/0; list the on-prem networks"),
                )
            )
        if self.connectivity is OnPremConnectivity.VPN:
            checks.append(
                (
                    not _is_public_ipv4(self.customer_gateway_ip),
                    Problem(
                        "customer_gateway_ip",
                        self.customer_gateway_ip,
                        "must be the public IPv4 address of the on-prem VPN device",
                    ),
                )
            )
            checks.append(
                (
                    not 1 <= self.customer_gateway_bgp_asn <= 4294967294,
                    Problem("customer_gateway_bgp_asn", self.customer_gateway_bgp_asn, "must be 1 to 4294967294"),
                )
            )
        else:
            checks.append(
                (
                    re.fullmatch(r"tgw-[0-9a-f]{8,17}", self.transit_gateway_id) is None,
                    Problem(
                        "transit_gateway_id",
                        self.transit_gateway_id,
                        "must be an existing Transit Gateway id like tgw-0123456789abcdef0",
                    ),
                )
            )
        return checks


@dataclasses.dataclass(frozen=True, kw_only=True)
class SourceDatabaseConfig(_Validated):
    """The on-prem PostgreSQL 13 server DMS reads from."""

    host: str = "pg13.inventory.corp.example"
    """Source host name or IP, reachable from the DMS subnets. Default: a placeholder to replace."""
    port: int = 5432
    """Source port. Default: 5432."""
    database_name: str = "inventory"
    """Database to migrate. Default: ``inventory``."""
    engine_major: int = 13
    """Source PostgreSQL major. Default: 13."""
    ca_certificate_file: str = ""
    """PEM file (relative to ``config/``) of the CA that signed the source's server certificate; when set,
    DMS connects with ``verify-full``. Default: none, DMS uses ``require``."""

    def _checks(self) -> list[Check]:
        return [
            (not self.host.strip(), Problem("host", self.host, "must not be empty")),
            (not 1 <= self.port <= 65535, Problem("port", self.port, "must be a TCP port, 1 to 65535")),
            (
                re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", self.database_name) is None,
                Problem("database_name", self.database_name, "must be a PostgreSQL identifier"),
            ),
            (not 9 <= self.engine_major <= 17, Problem("engine_major", self.engine_major, "must be 9 to 17")),
        ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuroraConfig(_Validated):
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
        return checks


@dataclasses.dataclass(frozen=True, kw_only=True)
class DmsConfig(_Validated):
    """AWS DMS: replication instance, endpoints and the full-load-and-CDC task.

    Sizing for 500 GB full load + CDC is reasoned in ``docs/dms-sizing.md``.
    """

    instance_class: str = "dms.r5.large"
    """Replication instance class (memory-optimized for CDC buffers). Default: ``dms.r5.large``."""
    allocated_storage_gb: int = 100
    """Replication instance storage for cached changes and task logs. Default: 100."""
    multi_az: bool = True
    """Standby replication instance in another AZ. Default: true."""
    engine_version: str = "3.5.4"
    """DMS engine version. Default: ``3.5.4``."""
    schemas: tuple[str, ...] = ("inventory",)
    """Source schemas to migrate (every table of each). Default: ``inventory``."""
    lob_max_size_kb: int = 64
    """Limited LOB mode: largest LOB (jsonb, text, bytea) copied, in KB. Default: 64."""
    max_full_load_subtasks: int = 8
    """Tables loaded in parallel (1 to 49). Default: 8."""
    start_task: bool = False
    """Start the replication task on apply. Default: false (the runbook starts it)."""
    create_account_roles: bool = True
    """Create the account-level ``dms-vpc-role`` and ``dms-cloudwatch-logs-role``; set false in an
    account that already has them. Default: true."""
    target_ca_certificate_file: str = ""
    """PEM file (relative to ``config/``) of the Aurora CA bundle; when set the target endpoint uses
    ``verify-full``. Default: none, ``require``."""
    heartbeat_frequency_minutes: int = 5
    """Minutes between DMS heartbeats on the source, keeping the slot's restart LSN moving. Default: 5."""

    def _checks(self) -> list[Check]:
        checks: list[Check] = [
            (
                re.fullmatch(r"dms\.[a-z0-9]+\.[a-z0-9]+", self.instance_class) is None,
                Problem("instance_class", self.instance_class, "must look like dms.r5.large"),
            ),
            (
                not 5 <= self.allocated_storage_gb <= 6144,
                Problem("allocated_storage_gb", self.allocated_storage_gb, "must be 5 to 6144"),
            ),
            (not self.schemas, Problem("schemas", self.schemas, "must list at least one schema")),
            (
                not 1 <= self.max_full_load_subtasks <= 49,
                Problem("max_full_load_subtasks", self.max_full_load_subtasks, "must be 1 to 49"),
            ),
            (
                re.fullmatch(r"\d+\.\d+\.\d+", self.engine_version) is None,
                Problem("engine_version", self.engine_version, "must look like 3.5.4"),
            ),
            *_positive(self, "lob_max_size_kb", "heartbeat_frequency_minutes"),
        ]
        for schema in self.schemas:
            checks.append(
                (
                    re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", schema) is None,
                    Problem("schemas", schema, "must be a PostgreSQL schema name (no wildcards)"),
                )
            )
        return checks


@dataclasses.dataclass(frozen=True, kw_only=True)
class StorageConfig(_Validated):
    """The S3 bucket for the ~2 TB of product images."""

    infrequent_access_days: int = 30
    """Days before larger objects move to Standard-IA (at least 30). Default: 30."""
    infrequent_access_min_object_bytes: int = 131072
    """Only objects larger than this move to Standard-IA (smaller ones are billed as 128 KB). Default: 131072."""
    glacier_instant_retrieval_days: int = 90
    """Days before objects move to Glacier Instant Retrieval (still read in milliseconds). Default: 90."""
    noncurrent_glacier_days: int = 30
    """Days before noncurrent versions move to Glacier Flexible Retrieval. Default: 30."""
    noncurrent_expiration_days: int = 365
    """Days before noncurrent versions are deleted. Default: 365."""
    abort_incomplete_multipart_days: int = 7
    """Days before incomplete multipart uploads are aborted. Default: 7."""
    access_log_retention_days: int = 365
    """Days server access logs are kept. Default: 365."""
    force_destroy: bool = True
    """Let ``destroy`` empty the buckets. Default: true (dev); prod sets false."""

    def _checks(self) -> list[Check]:
        return [
            *_positive(
                self,
                "infrequent_access_min_object_bytes",
                "noncurrent_glacier_days",
                "abort_incomplete_multipart_days",
                "access_log_retention_days",
            ),
            (
                self.infrequent_access_days < 30,
                Problem("infrequent_access_days", self.infrequent_access_days, "S3 requires at least 30"),
            ),
            (
                self.glacier_instant_retrieval_days < self.infrequent_access_days + 30,
                Problem(
                    "glacier_instant_retrieval_days",
                    self.glacier_instant_retrieval_days,
                    f"must be at least infrequent_access_days + 30 = {self.infrequent_access_days + 30}",
                ),
            ),
            (
                self.noncurrent_expiration_days <= self.noncurrent_glacier_days,
                Problem(
                    "noncurrent_expiration_days", self.noncurrent_expiration_days, "must be greater than noncurrent_glacier_days"
                ),
            ),
        ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlarmThresholds(_Validated):
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
    evaluation_periods: int = 3
    """Consecutive 60-second periods before an alarm fires. Default: 3."""

    def _checks(self) -> list[Check]:
        return _positive(self, *(f.name for f in dataclasses.fields(self)))


@dataclasses.dataclass(frozen=True, kw_only=True)
class MonitoringConfig(_Validated):
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
            (
                self.log_retention_days not in LOG_RETENTION_DAYS,
                Problem(
                    "log_retention_days",
                    self.log_retention_days,
                    f"must be a CloudWatch Logs retention ({', '.join(map(str, LOG_RETENTION_DAYS))})",
                ),
            ),
        ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class KmsConfig(_Validated):
    """Customer-managed keys."""

    deletion_window_days: int = 7
    """Waiting period before a destroyed key is deleted (7 to 30). Default: 7, the shortest."""

    def _checks(self) -> list[Check]:
        return [
            (
                not 7 <= self.deletion_window_days <= 30,
                Problem("deletion_window_days", self.deletion_window_days, "must be 7 to 30"),
            ),
        ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class StateBackendConfig(_Validated):
    """Where Terraform keeps this environment's state (one state per environment)."""

    kind: BackendKind = BackendKind.LOCAL
    """Backend type. Default: local (dev)."""
    bucket: str = ""
    """State bucket (S3 only; created beforehand, versioned). Default: none."""
    key: str = ""
    """State object key. Default: ``inventory-migration/<environment>/terraform.tfstate``."""
    region: str = ""
    """Region of the state bucket. Default: the stack's region."""
    use_lockfile: bool = True
    """S3-native state locking (Terraform 1.10+). Default: true."""
    kms_key_id: str = ""
    """KMS key that encrypts the state object. Default: the bucket's default encryption."""
    local_path: str = ""
    """State file for the local backend. Default: ``terraform.<stack>.tfstate`` in the working directory."""

    def _checks(self) -> list[Check]:
        return [
            (
                self.kind is BackendKind.S3 and re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", self.bucket) is None,
                Problem("bucket", self.bucket, "an S3 backend needs an existing bucket name (3-63 lowercase characters)"),
            ),
        ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class MigrationConfig(_Validated):
    """One environment of the migration."""

    environment: str = DEFAULT_ENVIRONMENT
    """Environment name: lowercase letters and digits, 2 to 10 characters. Default: ``dev``."""
    environment_suffix: str = "inv"
    """Suffix that ends every physical name, ``{type}-{environment}-{suffix}``; 1 to 16 of ``a-z0-9-``,
    no leading, trailing or double hyphen. Pick one that makes S3 bucket names globally unique.
    Default: ``inv``."""
    region: str = "us-east-1"
    """AWS region. Default: ``us-east-1``."""
    cost_center: str = "inventory-platform"
    """Value of the ``CostCenter`` tag. Default: ``inventory-platform``."""
    migration_phase: MigrationPhase = MigrationPhase.FOUNDATION
    """Current phase, the ``MigrationPhase`` tag. Default: ``foundation``."""
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    """VPC and on-prem path."""
    source: SourceDatabaseConfig = dataclasses.field(default_factory=SourceDatabaseConfig)
    """The on-prem PostgreSQL source."""
    aurora: AuroraConfig = dataclasses.field(default_factory=AuroraConfig)
    """The Aurora target."""
    dms: DmsConfig = dataclasses.field(default_factory=DmsConfig)
    """DMS replication."""
    storage: StorageConfig = dataclasses.field(default_factory=StorageConfig)
    """Image bucket."""
    monitoring: MonitoringConfig = dataclasses.field(default_factory=MonitoringConfig)
    """Alarms and notifications."""
    kms: KmsConfig = dataclasses.field(default_factory=KmsConfig)
    """Customer-managed keys."""
    backend: StateBackendConfig = dataclasses.field(default_factory=StateBackendConfig)
    """Terraform state backend."""
    config_dir: str = dataclasses.field(default="", metadata={"internal": True})
    """Directory relative file settings resolve against. Default: ``config/`` of this repository."""

    def resolve_file(self, relative: str) -> Path:
        return Path(self.config_dir or CONFIG_DIR) / relative

    def _checks(self) -> list[Check]:
        from inventory_migration.naming import Namer  # cycle: naming reads the config type

        checks: list[Check] = [
            (
                ENVIRONMENT_PATTERN.fullmatch(self.environment) is None,
                Problem("environment", self.environment, "must be 2-10 lowercase letters and digits, starting with a letter"),
            ),
            (
                SUFFIX_PATTERN.fullmatch(self.environment_suffix) is None,
                Problem(
                    "environment_suffix",
                    self.environment_suffix,
                    "AWS names accept 1-16 of a-z, 0-9 and '-', not starting or ending with '-' and without '--'",
                ),
            ),
            (
                REGION_PATTERN.fullmatch(self.region) is None,
                Problem("region", self.region, "must be an AWS region like us-east-1"),
            ),
            (
                re.fullmatch(r"[\w .:/=+\-@]{1,256}", self.cost_center) is None,
                Problem("cost_center", self.cost_center, "must be a valid tag value (1-256 characters)"),
            ),
        ]
        for file_field, relative in (
            ("source.ca_certificate_file", self.source.ca_certificate_file),
            ("dms.target_ca_certificate_file", self.dms.target_ca_certificate_file),
        ):
            checks.append(
                (
                    bool(relative) and not self.resolve_file(relative).is_file(),
                    Problem(file_field, relative, f"no such file under {self.config_dir or CONFIG_DIR}"),
                )
            )
        if not any(violated for violated, _ in checks[:2]):
            namer = Namer(environment=self.environment, suffix=self.environment_suffix)
            checks.extend((True, Problem("environment_suffix", self.environment_suffix, msg)) for msg in namer.check_planned())
        return checks


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------

T = TypeVar("T")


def _describe(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    if typing.get_origin(tp) is tuple:
        return "a list of " + _describe(typing.get_args(tp)[0])
    if typing.get_origin(tp) is Mapping:
        return "a table of strings"
    return {str: "a string", int: "an integer", bool: "true or false", float: "a number"}.get(tp, str(tp))


def _convert(tp: Any, value: Any, path: str, problems: list[Problem]) -> Any:
    """Convert one TOML value to ``tp``; on failure record a problem and return ``_INVALID``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(args[0], value, path, problems)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(Problem(path, value, "must be a table"))
            return _INVALID
        return _build(typing.cast(type, tp), value, path, problems)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            problems.append(Problem(path, value, f"allowed: {', '.join(repr(m.value) for m in tp)}"))
            return _INVALID
    if origin is tuple:
        (item_type, _) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(Problem(path, value, f"must be {_describe(tp)}"))
            return _INVALID
        items = [_convert(item_type, v, path, problems) for v in value]
        return _INVALID if _INVALID in items else tuple(items)
    if origin is Mapping:
        if not isinstance(value, dict):
            problems.append(Problem(path, value, "must be a table of name = value"))
            return _INVALID
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, bool):
                out[k] = "1" if v else "0"
            elif isinstance(v, (str, int, float)):
                out[k] = str(v)
            else:
                problems.append(Problem(f"{path}.{k}", v, "must be a string or number"))
        return types.MappingProxyType(out)
    ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        problems.append(Problem(path, value, f"must be {_describe(tp)}"))
        return _INVALID
    return value


_INVALID = object()


def _build(cls: type[T], data: Mapping[str, Any], prefix: str, problems: list[Problem]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            problems.append(Problem(path, value, f"unknown key; allowed keys: {', '.join(sorted(fields))}"))
            continue
        converted = _convert(hints[key], value, path, problems)
        if converted is not _INVALID:
            kwargs[key] = converted
    try:
        return cls(**kwargs)
    except ConfigError as err:
        problems.extend(p.within(prefix) if prefix else p for p in err.problems)
        return _INVALID


def config_from_mapping(data: Mapping[str, Any], *, source: str = "<mapping>", config_dir: str = "") -> MigrationConfig:
    """Build a :class:`MigrationConfig` from parsed TOML, raising one :class:`ConfigError` for all problems."""
    problems: list[Problem] = []
    hints = typing.get_type_hints(MigrationConfig)
    sections: dict[str, Any] = {}
    scalars: dict[str, Any] = {}
    allowed = {f.name for f in dataclasses.fields(MigrationConfig) if not f.metadata.get("internal")}
    for key, value in data.items():
        if key not in allowed:
            problems.append(Problem(key, value, f"unknown key; allowed keys: {', '.join(sorted(allowed))}"))
        elif dataclasses.is_dataclass(hints[key]):
            built = _convert(hints[key], value, key, problems)
            if built is not _INVALID:
                sections[key] = built
        else:
            converted = _convert(hints[key], value, key, problems)
            if converted is not _INVALID:
                scalars[key] = converted
    sections_ok = not problems
    try:
        config = MigrationConfig(**scalars, **sections, config_dir=config_dir)
    except ConfigError as err:
        problems.extend(err.problems)
        config = None
    if problems or config is None or not sections_ok:
        raise ConfigError(problems, source=source)
    return config


def available_environments(config_dir: Path = CONFIG_DIR) -> list[str]:
    """Environment names that have a file in ``config_dir``."""
    return sorted(p.stem for p in config_dir.glob("*.toml"))


def load_config(
    environment: str | None = None,
    *,
    config_dir: Path = CONFIG_DIR,
    environ: Mapping[str, str] | None = None,
) -> MigrationConfig:
    """Load ``config/<environment>.toml``; the environment defaults to ``MIGRATION_ENV``, then ``dev``.

    ``dev`` works even without its file: every default is the dev value.
    """
    env = os.environ if environ is None else environ
    name = environment or env.get(ENV_VAR) or DEFAULT_ENVIRONMENT
    path = config_dir / f"{name}.toml"
    if not path.is_file():
        if name == DEFAULT_ENVIRONMENT:
            return config_from_mapping({}, source="<embedded dev defaults>", config_dir=str(config_dir))
        known = ", ".join(available_environments(config_dir)) or "none"
        raise ConfigError([Problem(ENV_VAR, name, f"no file {path}; environments available: {known}")], source=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([Problem("", path.name, f"not valid TOML: {err}")], source=str(path)) from err
    if data.get("environment", name) != name:
        raise ConfigError([Problem("environment", data["environment"], f"must match the file name {name!r}")], source=str(path))
    data.setdefault("environment", name)
    return config_from_mapping(data, source=str(path), config_dir=str(config_dir))


P = TypeVar("P")


def props_from(props_type: type[P], section: object, **explicit: Any) -> P:
    """Build construct props from a config section: every props field the section has by the same name,
    then ``explicit`` values (which win). Fields neither has keep the props' documented defaults."""
    names = {f.name for f in dataclasses.fields(props_type)}  # type: ignore[arg-type]
    taken = {f.name: getattr(section, f.name) for f in dataclasses.fields(section) if f.name in names}  # type: ignore[arg-type]
    return props_type(**{**taken, **explicit})
