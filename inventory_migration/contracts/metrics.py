"""Metrics the stack alarms on that AWS does not publish: ``migrationctl`` publishes them, the stack watches them
(``constructs/monitoring.py``, ``dashboards/migration.py``). One declaration for both sides."""

from __future__ import annotations

NAMESPACE = "InventoryMigration"
"""CloudWatch namespace of the migration's own metrics."""

SOURCE_SLOT_WAL = "SourceSlotRetainedWalBytes"
"""Bytes of WAL the on-prem source keeps for its logical slots (the most any slot keeps): a slot nobody reads — the
stopped forward task's during the rollback window — keeps WAL until the disk fills or ``max_slot_wal_keep_size``
invalidates it. Published by ``migrationctl status --publish-metrics`` (on-prem is not visible to CloudWatch)."""

TASK_DIMENSION = "ReplicationTaskIdentifier"
"""Dimension of :data:`SOURCE_SLOT_WAL`: the forward DMS task's resource id, as DMS's own metrics name it."""
