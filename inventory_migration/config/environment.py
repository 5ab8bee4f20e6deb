"""One environment of the migration: every section, and the rules that span sections."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from inventory_migration.config.application import ApplicationConfig
from inventory_migration.config.base import (
    AWS_REGIONS,
    CONFIG_DIR,
    DEFAULT_ENVIRONMENT,
    ENVIRONMENT_PATTERN,
    SUFFIX_PATTERN,
    Check,
    Problem,
    Validated,
    cidr,
    ipv4,
)
from inventory_migration.config.database import AuroraConfig, SourceDatabaseConfig
from inventory_migration.config.dms import DmsConfig
from inventory_migration.config.files import FilesConfig
from inventory_migration.config.monitoring import MonitoringConfig
from inventory_migration.config.network import NetworkConfig
from inventory_migration.config.placeholders import PlaceholderPolicy
from inventory_migration.config.state import KmsConfig, StateBackendConfig
from inventory_migration.config.storage import StorageConfig
from inventory_migration.contracts.phases import MigrationPhase, plan_for, transition_problem


@dataclasses.dataclass(frozen=True, kw_only=True)
class MigrationConfig(Validated):
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
    """The phase to deploy: it decides what exists and runs (``inventory_migration/contracts/phases.py``) and is the
    ``MigrationPhase`` tag. Default: ``foundation``."""
    previous_phase: MigrationPhase | None = None
    """The phase deployed now (``terraform output migration_phase``); with ``migration_phase`` it names the
    transition, which must be allowed. Default: none, which only ``foundation`` accepts."""
    force_phase_transition: bool = False
    """Deploy a transition the phase rules refuse (e.g. rebuilding a sandbox directly in ``cdc``). Default: false."""
    placeholders: PlaceholderPolicy = PlaceholderPolicy.WARN
    """What a synth does with placeholder values (documentation addresses, ``.example`` hosts, the example account,
    template ARNs: ``inventory_migration/config/placeholders.py``): ``warn`` (one line) or ``refuse`` (one error naming
    every field and value; prod sets it). Default: ``warn``."""
    stand_ins: tuple[str, ...] = ()
    """Fields (``section.field``) whose value is still the stand-in the file shipped with — real-looking addresses,
    targets, an image, a bucket name that no format check can tell from real ones. Treated as placeholders: refused by
    ``placeholders = "refuse"``, named by ``warn``. Delete a field from the list when you set its real value.
    Default: none."""
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    """VPC and on-prem path. Default: the section's own defaults."""
    source: SourceDatabaseConfig = dataclasses.field(default_factory=SourceDatabaseConfig)
    """The on-prem PostgreSQL source. Default: the section's own defaults."""
    aurora: AuroraConfig = dataclasses.field(default_factory=AuroraConfig)
    """The Aurora target. Default: the section's own defaults."""
    dms: DmsConfig = dataclasses.field(default_factory=DmsConfig)
    """DMS replication. Default: the section's own defaults."""
    storage: StorageConfig = dataclasses.field(default_factory=StorageConfig)
    """Image bucket. Default: the section's own defaults."""
    monitoring: MonitoringConfig = dataclasses.field(default_factory=MonitoringConfig)
    """Alarms and notifications. Default: the section's own defaults."""
    kms: KmsConfig = dataclasses.field(default_factory=KmsConfig)
    """Customer-managed keys. Default: the section's own defaults."""
    backend: StateBackendConfig = dataclasses.field(default_factory=StateBackendConfig)
    """Terraform state backend. Default: the section's own defaults."""
    app: ApplicationConfig = dataclasses.field(default_factory=ApplicationConfig)
    """ECS Fargate and the blue-green load balancer. Default: the section's own defaults."""
    files: FilesConfig = dataclasses.field(default_factory=FilesConfig)
    """The product images and their DataSync transfer. Default: the section's own defaults."""
    config_dir: str = dataclasses.field(default="", metadata={"internal": True})
    """Directory relative file settings resolve against. Default: ``config/`` of this repository."""

    def resolve_file(self, relative: str) -> Path:
        return Path(self.config_dir or CONFIG_DIR) / relative

    def _checks(self) -> list[Check]:
        from inventory_migration.synth.naming import Namer  # cycle: naming reads the config type

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
                self.region not in AWS_REGIONS,
                Problem("region", self.region, "not an AWS region; e.g. us-east-1, eu-west-1 (see config/base.py: AWS_REGIONS)"),
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
        checks += self._phase_checks() + self._network_checks() + self._stand_in_checks()
        if not any(violated for violated, _ in checks[:2]):
            namer = Namer(environment=self.environment, suffix=self.environment_suffix)
            checks.extend((True, Problem("environment_suffix", self.environment_suffix, msg)) for msg in namer.check_planned())
        return checks

    def _phase_checks(self) -> list[Check]:
        transition = None if self.force_phase_transition else transition_problem(self.previous_phase, self.migration_phase)
        plan = plan_for(self.migration_phase)
        return [
            (transition is not None, Problem("migration_phase", self.migration_phase.value, transition or "")),
            (
                plan.reverse_task.exists and not self.dms.reverse_cdc_start_position,
                Problem(
                    "dms.reverse_cdc_start_position",
                    "",
                    f"required in {self.migration_phase.value!r}: the LSN `migrationctl cutover` printed and journaled",
                ),
            ),
        ]

    def _stand_in_checks(self) -> list[Check]:
        return [
            (not _has_field(self, path), Problem("stand_ins", path, "not a field of this file; write section.field"))
            for path in self.stand_ins
        ]

    def _network_checks(self) -> list[Check]:
        on_prem = [net for net in (cidr(c) for c in self.network.on_prem_cidrs) if net is not None]
        checks: list[Check] = []
        on_prem_addresses = (
            *(("app.blue_targets", t, "blue is reached over the VPN") for t in self.app.blue_targets),
            *(("source.addresses", a, "DMS reaches the source over the VPN") for a in self.source.addresses),
            ("files.agent_address", self.files.agent_address, "the agent reaches its endpoint over the VPN"),
        )
        for field, value, why in on_prem_addresses:
            address = ipv4(value)
            checks.append(
                (
                    address is not None and bool(on_prem) and not any(address in net for net in on_prem),
                    Problem(field, value, f"must be inside network.on_prem_cidrs ({why})"),
                )
            )
        return checks


def _has_field(config: object, path: str) -> bool:
    """``path`` (``section.field``) names a field of ``config``."""
    node: object = config
    for part in path.split("."):
        names = {f.name for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else set()
        if part not in names:
            return False
        node = getattr(node, part)
    return True


REVERSE_LSN = "0/1A2B3C4D"
"""The reverse task's start position a phase is synthesized with (``migrationctl cutover`` prints the real one)."""


def phased(config: MigrationConfig, phase: MigrationPhase) -> MigrationConfig:
    """``config`` moved to ``phase`` on its own (the transition rule forced), the way back's start position set."""
    return dataclasses.replace(
        config,
        migration_phase=phase,
        force_phase_transition=True,
        dms=dataclasses.replace(config.dms, reverse_cdc_start_position=REVERSE_LSN),
    )
