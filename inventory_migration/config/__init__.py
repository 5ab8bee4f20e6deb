"""Typed, validated configuration of one migration environment.

Environment files live in ``config/<env>.toml`` and are read with :mod:`tomllib` into the frozen dataclasses of
this package, one module per section, each beside the name of the construct it feeds:

=====================  ====================================  ================================
module                 sections                              feeds
=====================  ====================================  ================================
``network``            ``[network]``                         ``constructs/network.py``
``database``           ``[source]``, ``[aurora]``            ``constructs/aurora.py``
``dms``                ``[dms]``                             ``constructs/dms.py``
``storage``            ``[storage]``                         ``constructs/storage.py``
``application``        ``[app]``                             ``constructs/application.py``
``files``              ``[files]``                           ``constructs/files.py``
``monitoring``         ``[monitoring]``                      ``constructs/monitoring.py``
``state``              ``[kms]``, ``[backend]``              ``constructs/kms.py``, the stack
``environment``        top-level keys, cross-section rules   ``stacks/migration.py``
``loading``            reading a file
=====================  ====================================  ================================

``dev`` is the embedded default environment: every optional field's default is the dev value, so
``config/dev.toml`` only says what a reader should see at a glance. Bad input never half-works: :func:`load_config`
collects every problem (unknown key, wrong type, a value outside its allowed set, cross-field conflicts, derived
names over an AWS limit) and raises one :class:`ConfigError` that names the file, each field, its bad value and what
is allowed. Nothing here imports cdktf, so ``migrationctl`` reads the same configuration cheaply.
"""

from __future__ import annotations

from inventory_migration.config.application import ApplicationConfig
from inventory_migration.config.base import (
    AWS_REGIONS,
    CONFIG_DIR,
    DEFAULT_ENVIRONMENT,
    ENV_VAR,
    LOG_RETENTION_DAYS,
    Check,
    ConfigError,
    Problem,
)
from inventory_migration.config.database import (
    AURORA_MAJORS,
    DEFAULT_ENGINE_VERSIONS,
    END_OF_STANDARD_SUPPORT,
    MIGRATION_PARAMETERS,
    AuroraConfig,
    EngineLifecycleSupport,
    SourceDatabaseConfig,
)
from inventory_migration.config.dms import DmsConfig
from inventory_migration.config.environment import MigrationConfig
from inventory_migration.config.files import DeletedFiles, FileProtocol, FilesConfig
from inventory_migration.config.loading import available_environments, config_from_mapping, load_config
from inventory_migration.config.monitoring import AlarmThresholds, MonitoringConfig
from inventory_migration.config.network import NatGatewayMode, NetworkConfig, OnPremConnectivity
from inventory_migration.config.state import BackendKind, KmsConfig, StateBackendConfig
from inventory_migration.config.storage import StorageConfig
from inventory_migration.contracts.phases import MigrationPhase

__all__ = [
    "AURORA_MAJORS",
    "AWS_REGIONS",
    "CONFIG_DIR",
    "DEFAULT_ENGINE_VERSIONS",
    "DEFAULT_ENVIRONMENT",
    "END_OF_STANDARD_SUPPORT",
    "ENV_VAR",
    "LOG_RETENTION_DAYS",
    "MIGRATION_PARAMETERS",
    "AlarmThresholds",
    "ApplicationConfig",
    "AuroraConfig",
    "BackendKind",
    "Check",
    "ConfigError",
    "DeletedFiles",
    "DmsConfig",
    "EngineLifecycleSupport",
    "FileProtocol",
    "FilesConfig",
    "KmsConfig",
    "MigrationConfig",
    "MigrationPhase",
    "MonitoringConfig",
    "NatGatewayMode",
    "NetworkConfig",
    "OnPremConnectivity",
    "Problem",
    "SourceDatabaseConfig",
    "StateBackendConfig",
    "StorageConfig",
    "available_environments",
    "config_from_mapping",
    "load_config",
]
