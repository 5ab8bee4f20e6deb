"""The database commands: one module each, its arguments and its plumbing (the work is in ``database/`` and ``pg/``).

The order of :data:`COMMANDS` is the order ``migrationctl --help`` lists them in.
"""

from __future__ import annotations

from inventory_migration.migrationctl.arguments import SubParsers
from inventory_migration.migrationctl.database.commands import (
    lag,
    params_export,
    preflight,
    resume_changes,
    roles_copy,
    schema,
    secret_fill,
    sequences_sync,
    verify,
)

COMMANDS = (preflight, secret_fill, params_export, schema, sequences_sync, verify, resume_changes, roles_copy, lag)


def register(sub: SubParsers) -> None:
    """``preflight``, ``secret fill``, ``params export``, ``schema pre-data|post-data``, ``sequences sync``, ``verify``,
    ``resume-changes``, ``roles copy``, ``lag``."""
    for command in COMMANDS:
        command.register(sub)
