"""Copy the schema in two phases around the DMS full load, with pg_dump / pg_restore sections.

* ``pre-data`` (before the load): schemas, types, tables with their defaults and CHECKs, sequences, functions,
  procedures, views — and **primary keys**, which DMS needs on the target to apply CDC updates and deletes.
* ``post-data`` (after the load): secondary indexes, unique and foreign-key constraints, triggers, rules.

Both phases are idempotent: each archive entry is restored only if its object does not exist on the target yet,
so a re-run after a failure (or a second run) restores exactly what is missing. Owners and grants are not copied
(``--no-owner --no-privileges``): on Aurora the migration user owns the objects and grants are re-applied by the
runbook.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from enum import Enum
from pathlib import Path

import psycopg

from inventory_migration.migrationctl import pgtools
from inventory_migration.migrationctl.db import query


class Phase(Enum):
    PRE_DATA = "pre-data"
    POST_DATA = "post-data"


TOC_TYPES = (
    "FK CONSTRAINT",
    "CHECK CONSTRAINT",
    "SEQUENCE OWNED BY",
    "MATERIALIZED VIEW",
    "DEFAULT ACL",
    "EVENT TRIGGER",
    "INDEX ATTACH",
    "TABLE ATTACH",
    "SCHEMA",
    "TABLE",
    "TYPE",
    "DOMAIN",
    "FUNCTION",
    "PROCEDURE",
    "AGGREGATE",
    "SEQUENCE",
    "VIEW",
    "DEFAULT",
    "CONSTRAINT",
    "INDEX",
    "TRIGGER",
    "RULE",
    "EXTENSION",
    "COMMENT",
    "ACL",
    "COLLATION",
    "POLICY",
    "STATISTICS",
    "SHELL TYPE",
)
_TOC_LINE = re.compile(r"^(\d+); (\d+) (\d+) (" + "|".join(TOC_TYPES) + r") (\S+) (.+) (\S+)$")


@dataclasses.dataclass(frozen=True)
class TocEntry:
    """One line of ``pg_restore -l``: what kind of object, in which schema, under which name."""

    line: str
    dump_id: int
    kind: str
    schema: str
    name: str

    @property
    def table_and_name(self) -> tuple[str, str]:
        table, _, name = self.name.partition(" ")
        return table, name


def parse_toc(listing: str) -> list[TocEntry]:
    entries = []
    for line in listing.splitlines():
        match = _TOC_LINE.match(line.strip())
        if match:
            entries.append(TocEntry(line, int(match[1]), match[4], match[5], match[6]))
    return entries


EXISTS_SQL = {
    "SCHEMA": "SELECT 1 FROM pg_namespace WHERE nspname = %(name)s",
    "EXTENSION": "SELECT 1 FROM pg_extension WHERE extname = %(name)s",
    "TABLE": "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s AND c.relname = %(name)s",
    "TYPE": "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = %(schema)s AND t.typname = %(name)s",
    "FUNCTION": "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = %(schema)s AND p.proname || '(' || oidvectortypes(p.proargtypes) || ')' = %(name)s",
    "CONSTRAINT": "SELECT 1 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND k.conname = %(name)s",
    "TRIGGER": "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND t.tgname = %(name)s AND NOT t.tgisinternal",
    "RULE": "SELECT 1 FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND r.rulename = %(name)s",
    # An attached partition (table or index) is a relation with relispartition set: restoring the ATTACH again
    # fails with '"…" is already a partition'.
    "TABLE ATTACH": "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %(schema)s AND c.relname = %(name)s AND c.relispartition",
    "DEFAULT": "SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
    "JOIN pg_class c ON c.oid = d.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND a.attname = %(name)s",
}
SAME_CHECK = {
    "VIEW": "TABLE",
    "MATERIALIZED VIEW": "TABLE",
    "SEQUENCE": "TABLE",
    "INDEX": "TABLE",
    "DOMAIN": "TYPE",
    "SHELL TYPE": "TYPE",
    "PROCEDURE": "FUNCTION",
    "AGGREGATE": "FUNCTION",
    "FK CONSTRAINT": "CONSTRAINT",
    "CHECK CONSTRAINT": "CONSTRAINT",
    "INDEX ATTACH": "TABLE ATTACH",
}
TWO_PART_NAMES = frozenset({"CONSTRAINT", "TRIGGER", "RULE", "DEFAULT"})
ALWAYS_RERUNNABLE = frozenset({"SEQUENCE OWNED BY", "COMMENT"})
"""Entries that are plain ALTER/COMMENT statements: harmless to repeat."""
NEVER = frozenset({"ACL", "DEFAULT ACL"})


def exists_on_target(conn: psycopg.Connection, entry: TocEntry) -> bool:
    check = SAME_CHECK.get(entry.kind, entry.kind)
    if check not in EXISTS_SQL:
        return False
    if check in TWO_PART_NAMES:
        table, name = entry.table_and_name
        params = {"schema": entry.schema, "table": table, "name": name}
    else:
        params = {"schema": entry.schema, "table": "", "name": entry.name}
    return bool(query(conn, EXISTS_SQL[check], params))


def primary_keys(conn: psycopg.Connection) -> set[tuple[str, str, str]]:
    rows = query(
        conn,
        "SELECT n.nspname, c.relname, k.conname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'p'",
    )
    return {(r[0], r[1], r[2]) for r in rows}


@dataclasses.dataclass(frozen=True)
class SchemaPlan:
    """What one phase restores and what it skips because it is already there."""

    phase: Phase
    restore: tuple[TocEntry, ...]
    already_present: tuple[TocEntry, ...]

    def summary(self) -> dict[str, object]:
        return {
            "phase": self.phase.value,
            "restored": [f"{e.kind} {e.schema}.{e.name}" for e in self.restore],
            "already_present": len(self.already_present),
        }


def dump(source_dsn: str, path: Path, schemas: tuple[str, ...]) -> None:
    args = ["--format=custom", "--schema-only", "--no-owner", "--no-privileges", f"--file={path}"]
    args += [f"--schema={s}" for s in schemas]
    pgtools.run("pg_dump", args, source_dsn, "source")


def plan(phase: Phase, archive: Path, source: psycopg.Connection, target: psycopg.Connection) -> SchemaPlan:
    listing = {
        section: parse_toc(pgtools.run("pg_restore", ["--list", f"--section={section}", str(archive)], "", "archive"))
        for section in ("pre-data", "post-data")
    }
    pks = primary_keys(source)

    def is_pk(entry: TocEntry) -> bool:
        return entry.kind == "CONSTRAINT" and (entry.schema, *entry.table_and_name) in pks

    if phase is Phase.PRE_DATA:
        wanted = [*listing["pre-data"], *(e for e in listing["post-data"] if is_pk(e))]
    else:
        wanted = [e for e in listing["post-data"] if not is_pk(e)]
    restore, present = [], []
    for entry in wanted:
        if entry.kind in NEVER:
            continue
        if entry.kind not in ALWAYS_RERUNNABLE and exists_on_target(target, entry):
            present.append(entry)
        else:
            restore.append(entry)
    if restore and all(e.kind in ALWAYS_RERUNNABLE for e in restore):
        restore = []  # nothing new: do not repeat comments on their own
    return SchemaPlan(phase, tuple(restore), tuple(present))


def apply(plan_: SchemaPlan, archive: Path, target_dsn: str) -> None:
    """Restore the planned entries in one transaction; any error rolls the phase back."""
    if not plan_.restore:
        return
    with tempfile.TemporaryDirectory(prefix="migrationctl-") as tmp:
        listfile = Path(tmp) / "restore.list"
        listfile.write_text("\n".join(e.line for e in plan_.restore) + "\n", encoding="utf-8")  # archive order = dependency order
        # Host, user and password reach pg_restore through the environment (pgtools.libpq_env), never argv.
        dbname = pgtools.libpq_env(target_dsn).get("PGDATABASE", "postgres")
        args = [
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--use-list={listfile}",
            f"--dbname={dbname}",
            str(archive),
        ]
        pgtools.run("pg_restore", args, target_dsn, "target")
