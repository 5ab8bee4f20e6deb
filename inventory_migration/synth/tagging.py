"""The tags every resource carries: ``Environment``, ``MigrationPhase``, ``CostCenter``.

They reach resources through the provider's ``default_tags`` (the stack sets them). What default tags do
not reach is handled where it happens: Aurora copies tags to snapshots (``copy_tags_to_snapshot``), and
log groups that AWS services would otherwise create untagged (RDS log exports, DMS task logs) are created
by the stack so they carry the tags. Each resource adds its own ``Name`` tag.
"""

from __future__ import annotations

from collections.abc import Mapping

from inventory_migration.config import MigrationConfig

REQUIRED_TAG_KEYS = ("Environment", "MigrationPhase", "CostCenter")
"""Tag keys every taggable resource must carry."""

PROJECT_TAG_VALUE = "inventory-migration"


def standard_tags(config: MigrationConfig) -> dict[str, str]:
    """Tags for the provider's ``default_tags`` block."""
    return {
        "Environment": config.environment,
        "MigrationPhase": config.migration_phase.value,
        "CostCenter": config.cost_center,
        "Project": PROJECT_TAG_VALUE,
        "ManagedBy": "cdktf",
    }


def name_tag(name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A resource's own tags: its ``Name`` plus any extra ones."""
    return {"Name": name, **(extra or {})}
