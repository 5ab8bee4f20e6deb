"""The names the stack gives and ``migrationctl`` looks for: the way back's slot, the migration's own schema and its
fence table, the DMS tasks' name parts and how a task ARN becomes CloudWatch's dimension."""

from __future__ import annotations

REVERSE_SLOT_NAME = "migration_way_back"
"""The logical replication slot on Aurora that holds the way back: ``migrationctl cutover`` creates it before the first
green write and the reverse DMS task reads from it. The default of ``dms.reverse_slot_name``, of the DMS construct's
prop and of ``migrationctl cutover|rollback --reverse-slot``."""

FORWARD_TASK_QUALIFIER = "full-load-cdc"
"""The forward task's name part: ``dms-task-full-load-cdc-{environment}-{suffix}``."""
REVERSE_TASK_QUALIFIER = "reverse-cdc"
"""The reverse task's: ``dms-task-reverse-cdc-{environment}-{suffix}``; ``migrationctl rollback`` finds the reverse task
by this name from the forward task's when the outputs file predates the reverse task (:func:`reverse_task_id`)."""


def reverse_task_id(forward_task_id: str) -> str:
    """The reverse task's identifier from the forward task's (both named by the stack's namer)."""
    marker = f"-{FORWARD_TASK_QUALIFIER}-"
    if marker not in forward_task_id:
        raise ValueError(f"not the stack's forward task: {forward_task_id!r} (expected '...{marker}...')")
    return forward_task_id.replace(marker, f"-{REVERSE_TASK_QUALIFIER}-", 1)


CONTROL_SCHEMA = "migration_control"
"""The migration's own schema, on both sides: its fence table (``migrationctl`` drains by a row written there), created
by ``migrationctl schema pre-data``, included in both DMS tasks' table mappings, left out of every comparison."""
FENCE_TABLE = "fence"
"""The fence table in :data:`CONTROL_SCHEMA`."""


def task_resource_id(task_arn: str) -> str:
    """The ``ReplicationTaskIdentifier`` CloudWatch dimension: the last segment of the task ARN.

    ``arn:aws:dms:us-east-1:123456789012:task:ABCDEF`` -> ``ABCDEF``. It is not the task's name.
    """
    parts = task_arn.split(":")
    if len(parts) != 7 or parts[2] != "dms" or parts[5] != "task" or not parts[6]:
        raise ValueError(f"not a DMS task ARN: {task_arn!r}")
    return parts[6]
