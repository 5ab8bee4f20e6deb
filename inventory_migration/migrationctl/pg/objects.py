"""Which schemas and objects are the user's: what every command reads, copies, compares and syncs.

Not the user's: PostgreSQL's own schemas (``pg_catalog``, ``information_schema``, TOAST and temporary schemas), the
schemas of replication tools installed beside the data (``pglogical``, and the migration's own ``migration_control``
with the cutover's fence), and the objects AWS DMS creates in the user's
schemas — its control tables (``awsdms_apply_exceptions``, ``awsdms_status``, …) and the heartbeat table with its
sequence (``awsdms_heartbeat``, ``awsdms_heartbeat_hb_key_seq``): they exist on one side only, so a command that
counted them would report a difference (verify) or a missing sequence (the cutover's gate) that is not one.

The predicates below are SQL text for the ``WHERE`` clause of a statement run *with* parameters (``%%`` is a literal
``%`` there), so each is written once and used by ``preflight``, ``schema``, ``sequences``, ``verify`` and ``cutover``.
"""

from __future__ import annotations

import psycopg

from inventory_migration.contracts.names import CONTROL_SCHEMA
from inventory_migration.migrationctl.db import query

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
"""PostgreSQL's own schemas."""
SYSTEM_SCHEMA_PREFIXES = ("pg_toast", "pg_temp_")
"""Prefixes of PostgreSQL's per-session and TOAST schemas (``pg_toast``, ``pg_toast_temp_3``, ``pg_temp_3``)."""
TOOL_SCHEMAS = ("pglogical", CONTROL_SCHEMA)
"""Schemas of replication tools: the ``pglogical`` extension DMS can use as its plugin, and the migration's own control
schema (the cutover's fence table, :data:`~inventory_migration.contracts.names.CONTROL_SCHEMA`)."""
DMS_OBJECT_PREFIX = "awsdms_"
"""Prefix of every table, sequence and trigger AWS DMS creates (control tables, heartbeat, DDL capture)."""


def _like_prefix(prefix: str) -> str:
    return prefix.replace("_", "\\_") + "%%"


def user_schema(column: str) -> str:
    """SQL: the schema name in ``column`` is a user schema."""
    excluded = ", ".join(f"'{s}'" for s in (*SYSTEM_SCHEMAS, *TOOL_SCHEMAS))
    prefixes = " ".join(f"AND {column} NOT LIKE '{_like_prefix(p)}'" for p in SYSTEM_SCHEMA_PREFIXES)
    return f"{column} NOT IN ({excluded}) {prefixes}"


def user_object(column: str) -> str:
    """SQL: the relation, sequence or trigger name in ``column`` is not one of DMS's."""
    return f"{column} NOT LIKE '{_like_prefix(DMS_OBJECT_PREFIX)}'"


def is_user_schema(name: str) -> bool:
    """The Python twin of :func:`user_schema` (a test keeps them equal)."""
    return name not in (*SYSTEM_SCHEMAS, *TOOL_SCHEMAS) and not name.startswith(SYSTEM_SCHEMA_PREFIXES)


def is_user_object(name: str) -> bool:
    """The Python twin of :func:`user_object`."""
    return not name.startswith(DMS_OBJECT_PREFIX)


def user_schemas(conn: psycopg.Connection) -> list[str]:
    """Every user schema of the database, sorted."""
    return [r[0] for r in query(conn, f"SELECT nspname FROM pg_namespace n WHERE {user_schema('n.nspname')} ORDER BY 1", ())]


USER_TABLES_WHERE = f"{user_schema('n.nspname')} AND {user_object('c.relname')}"
"""The user's tables and columns (``c`` in namespace ``n``): not the system's, not DMS's own."""

USER_TABLES = f"""
    SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, c.relowner, c.relacl
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND {user_schema("n.nspname")} AND {user_object("c.relname")}
"""
"""Every user table (plain and partitioned): oid, qualified name, owner, ACL."""
