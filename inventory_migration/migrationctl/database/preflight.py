"""``preflight``: is the source ready for a DMS full load + CDC? Blockers and warnings, with evidence."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from enum import Enum
from pathlib import Path

import psycopg

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.pg.objects import USER_TABLES_WHERE

AURORA_SUPPORTED_EXTENSIONS = frozenset(
    {
        "amcheck",
        "aws_commons",
        "aws_lambda",
        "aws_s3",
        "bloom",
        "btree_gin",
        "btree_gist",
        "citext",
        "cube",
        "dblink",
        "dict_int",
        "dict_xsyn",
        "earthdistance",
        "fuzzystrmatch",
        "hll",
        "hstore",
        "hypopg",
        "intagg",
        "intarray",
        "ip4r",
        "isn",
        "lo",
        "ltree",
        "pg_bigm",
        "pg_buffercache",
        "pg_cron",
        "pg_freespacemap",
        "pg_hint_plan",
        "pg_partman",
        "pg_prewarm",
        "pg_proctab",
        "pg_repack",
        "pg_similarity",
        "pg_stat_statements",
        "pg_trgm",
        "pg_visibility",
        "pgaudit",
        "pgcrypto",
        "pglogical",
        "pgrouting",
        "pgrowlocks",
        "pgstattuple",
        "pgvector",
        "vector",
        "plcoffee",
        "plls",
        "plperl",
        "plpgsql",
        "plrust",
        "pltcl",
        "plv8",
        "postgis",
        "postgis_raster",
        "postgis_tiger_geocoder",
        "postgis_topology",
        "postgres_fdw",
        "prefix",
        "rdkit",
        "sslinfo",
        "tablefunc",
        "tcn",
        "tsm_system_rows",
        "tsm_system_time",
        "unaccent",
        "uuid-ossp",
        "address_standardizer",
        "address_standardizer_data_us",
        "orafce",
        "pg_tle",
        "pgactive",
        "h3-pg",
        "rds_tools",
        "aurora_stat_utils",
        "apg_plan_mgmt",
        "mysql_fdw",
        "oracle_fdw",
        "tds_fdw",
        "log_fdw",
        "pg_transport",
        "pgtap",
        "seg",
        "autoinc",
        "insert_username",
        "moddatetime",
        "refint",
    }
)
"""Extensions Aurora PostgreSQL offers (union over current majors; check the exact version list for the target
major in the Aurora release notes). Override with ``--supported-extensions FILE``, one name a line."""

POORLY_HANDLED_TYPES = {
    "oid": "large objects (oid / lo) are not migrated by DMS",
    "lo": "large objects (oid / lo) are not migrated by DMS",
    "money": "money is migrated as numeric text; check currency formatting",
    "tsvector": "tsvector is not supported by DMS: rebuild it on the target",
    "tsquery": "tsquery is not supported by DMS",
    "point": "geometric types are migrated as text",
    "polygon": "geometric types are migrated as text",
    "line": "geometric types are migrated as text",
    "circle": "geometric types are migrated as text",
    "int4range": "range types are migrated as text",
    "int8range": "range types are migrated as text",
    "tsrange": "range types are migrated as text",
    "tstzrange": "range types are migrated as text",
    "daterange": "range types are migrated as text",
    "numrange": "range types are migrated as text",
}
LOB_TYPES = frozenset({"text", "bytea", "json", "jsonb", "xml"})


class Severity(Enum):
    BLOCKER = "blocker"
    WARNING = "warning"
    INFO = "info"


@dataclasses.dataclass(frozen=True)
class Finding:
    severity: Severity
    check: str
    message: str
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"severity": self.severity.value, "check": self.check, "message": self.message, "details": list(self.details)}


def load_extension_list(path: Path | None) -> frozenset[str]:
    if path is None:
        return AURORA_SUPPORTED_EXTENSIONS
    return frozenset(
        line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")
    )


def _setting(conn: psycopg.Connection, name: str) -> str:
    return str(query(conn, "SELECT current_setting(%s)", (name,))[0][0])


def check_version(conn: psycopg.Connection) -> Iterable[Finding]:
    version = int(_setting(conn, "server_version_num"))
    major = version // 10000
    if major < 10:
        yield Finding(Severity.BLOCKER, "server-version", f"PostgreSQL {major} is older than DMS supports (10+)")
    else:
        yield Finding(Severity.INFO, "server-version", f"PostgreSQL {_setting(conn, 'server_version')}")


def check_wal(conn: psycopg.Connection) -> Iterable[Finding]:
    level = _setting(conn, "wal_level")
    if level != "logical":
        yield Finding(Severity.BLOCKER, "wal-level", f"wal_level is {level}; CDC needs wal_level = logical (restart required)")
    slots_max = int(_setting(conn, "max_replication_slots"))
    slots_used = int(query(conn, "SELECT count(*) FROM pg_replication_slots")[0][0])
    if slots_max - slots_used < 1:
        yield Finding(Severity.BLOCKER, "replication-slots", f"no free replication slot ({slots_used} of {slots_max} used)")
    senders_max = int(_setting(conn, "max_wal_senders"))
    senders_used = int(query(conn, "SELECT count(*) FROM pg_stat_replication")[0][0])
    if senders_max - senders_used < 1:
        yield Finding(Severity.BLOCKER, "wal-senders", f"no free WAL sender ({senders_used} of {senders_max} used)")
    else:
        yield Finding(
            Severity.INFO,
            "replication-capacity",
            f"{slots_max - slots_used} free replication slot(s), {senders_max - senders_used} free WAL sender(s)",
        )


def _user_tables(conn: psycopg.Connection, condition: str) -> list[str]:
    """``schema.table`` of every user table (``c``, in namespace ``n``) that meets ``condition``."""
    rows = query(
        conn,
        f"""
        SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND {USER_TABLES_WHERE} AND {condition} ORDER BY 1""",
        (),
    )
    return [r[0] for r in rows]


def check_primary_keys(conn: psycopg.Connection) -> Iterable[Finding]:
    rows = _user_tables(conn, "NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)")
    if rows:
        yield Finding(
            Severity.WARNING,
            "tables-without-primary-key",
            f"{len(rows)} table(s) without a primary key: DMS replicates their INSERTs only, not UPDATEs or DELETEs",
            tuple(rows),
        )


def check_column_types(conn: psycopg.Connection) -> Iterable[Finding]:
    rows = query(
        conn,
        f"""
        SELECT n.nspname || '.' || c.relname || '.' || a.attname, t.typname, t.typtype, t.typcategory
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND {USER_TABLES_WHERE} ORDER BY 1""",
        (),
    )
    poor, lobs, arrays, user_types = [], [], [], []
    for column, typname, typtype, category in rows:
        if typname in POORLY_HANDLED_TYPES:
            poor.append(f"{column} ({typname}): {POORLY_HANDLED_TYPES[typname]}")
        elif typname in LOB_TYPES:
            lobs.append(f"{column} ({typname})")
        elif category == "A":
            arrays.append(f"{column} ({typname})")
        elif typtype in ("e", "c", "d"):
            user_types.append(f"{column} ({typname})")
    if poor:
        severity = Severity.BLOCKER if any("large objects" in p for p in poor) else Severity.WARNING
        yield Finding(severity, "column-types", f"{len(poor)} column(s) of types DMS handles poorly", tuple(poor))
    if lobs:
        yield Finding(
            Severity.WARNING,
            "lob-columns",
            f"{len(lobs)} LOB column(s): limited LOB mode truncates values over dms.lob_max_size_kb (logged)",
            tuple(lobs),
        )
    if arrays:
        yield Finding(
            Severity.WARNING, "array-columns", f"{len(arrays)} array column(s): DMS moves arrays as LOB text", tuple(arrays)
        )
    if user_types:
        yield Finding(
            Severity.INFO,
            "user-defined-types",
            f"{len(user_types)} column(s) of enum/composite/domain types: create the types with `schema pre-data` first",
            tuple(user_types),
        )


def check_extensions(conn: psycopg.Connection, supported: frozenset[str]) -> Iterable[Finding]:
    installed = [r[0] for r in query(conn, "SELECT extname FROM pg_extension ORDER BY 1")]
    missing = [e for e in installed if e not in supported]
    if missing:
        yield Finding(Severity.BLOCKER, "extensions", f"{len(missing)} extension(s) not available on Aurora", tuple(missing))
    yield Finding(Severity.INFO, "extensions-in-use", f"{len(installed)} extension(s) installed", tuple(installed))


def check_size(conn: psycopg.Connection, top: int = 10) -> Iterable[Finding]:
    db_bytes = int(query(conn, "SELECT pg_database_size(current_database())")[0][0])
    rows = query(
        conn,
        f"""
        SELECT n.nspname || '.' || c.relname, pg_size_pretty(pg_total_relation_size(c.oid)), c.reltuples::bigint
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND {USER_TABLES_WHERE}
        ORDER BY pg_total_relation_size(c.oid) DESC LIMIT %s""",
        (top,),
    )
    yield Finding(
        Severity.INFO,
        "database-size",
        f"database is {db_bytes / 1024**3:.2f} GiB",
        tuple(f"{name}: {size}, ~{max(rows_, 0)} rows" for name, size, rows_ in rows),
    )


def check_privileges(conn: psycopg.Connection) -> Iterable[Finding]:
    user, superuser, replication = query(
        conn, "SELECT current_user, rolsuper, rolreplication FROM pg_roles WHERE rolname = current_user"
    )[0]
    if not (superuser or replication):
        yield Finding(
            Severity.BLOCKER,
            "replication-privilege",
            f"{user} has neither SUPERUSER nor REPLICATION: DMS cannot create a logical replication slot",
        )
    unreadable = _user_tables(conn, "NOT (has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT'))")
    if unreadable:
        yield Finding(
            Severity.BLOCKER,
            "select-privilege",
            f"{user} cannot read {len(unreadable)} table(s)",
            tuple(unreadable),
        )
    if superuser or replication:
        yield Finding(
            Severity.INFO,
            "privileges",
            f"{user}: {'superuser' if superuser else 'replication'}; reads every table"
            if not unreadable
            else f"{user}: replication ok",
        )


def run_preflight(conn: psycopg.Connection, supported_extensions: frozenset[str] = AURORA_SUPPORTED_EXTENSIONS) -> list[Finding]:
    findings: list[Finding] = []
    for check in (check_version, check_wal, check_primary_keys, check_column_types, check_size, check_privileges):
        findings += check(conn)
    findings += check_extensions(conn, supported_extensions)
    order = {Severity.BLOCKER: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(findings, key=lambda f: order[f.severity])
