"""Schema parity: the same tables, columns, indexes, constraints, functions and procedures, triggers, views, sequences
and types on both sides, compared by definition from the catalogs.

Definitions are normalized where a major deparses the same object differently (:func:`normalize_definition`), so a
13 source and a 16 target compare equal when the objects are.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import psycopg

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.pg.objects import user_object

SCHEMA_QUERIES: dict[str, str] = {
    "tables": f"""
        SELECT n.nspname || '.' || c.relname, c.relkind::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s) AND {user_object("c.relname")}""",
    "columns": f"""
        SELECT n.nspname || '.' || c.relname || '.' || a.attname,
               format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
               || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
          AND n.nspname = ANY(%(schemas)s) AND {user_object("c.relname")}""",
    "indexes": f"""
        SELECT n.nspname || '.' || ic.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
        JOIN pg_class tc ON tc.oid = i.indrelid
        WHERE n.nspname = ANY(%(schemas)s) AND {user_object("tc.relname")}""",
    "constraints": f"""
        SELECT n.nspname || '.' || c.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND {user_object("c.relname")}""",
    "functions": f"""
        SELECT n.nspname || '.' || p.proname || '(' || oidvectortypes(p.proargtypes) || ')', pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind IN ('f', 'p', 'w') AND n.nspname = ANY(%(schemas)s) AND {user_object("p.proname")}
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')""",
    "triggers": f"""
        SELECT n.nspname || '.' || c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND n.nspname = ANY(%(schemas)s) AND {user_object("t.tgname")}""",
    "views": f"""
        SELECT n.nspname || '.' || c.relname, pg_get_viewdef(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY(%(schemas)s) AND {user_object("c.relname")}""",
    "sequences": f"""
        SELECT schemaname || '.' || sequencename,
               format('%%s start %%s increment %%s min %%s max %%s cycle %%s', data_type, start_value, increment_by,
                      min_value, max_value, cycle)
        FROM pg_sequences WHERE schemaname = ANY(%(schemas)s) AND {user_object("sequencename")}""",
    "types": """
        SELECT n.nspname || '.' || t.typname,
               CASE t.typtype WHEN 'e' THEN 'enum ' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                                  FROM pg_enum e WHERE e.enumtypid = t.oid)
                              WHEN 'd' THEN 'domain ' || format_type(t.typbasetype, t.typtypmod)
                              ELSE 'type ' || t.typtype::text END
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype IN ('e', 'd', 'c', 'r') AND n.nspname = ANY(%(schemas)s)
          AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))""",
}
"""Per kind of object: (identity, definition) rows; definitions compare as text."""


def _argument_list(text: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at ``open_at`` (types such as ``numeric(10,2)`` nest)."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(text)


def _split_arguments(arguments: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(arguments):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(arguments[start:i].strip())
            start = i + 1
    parts.append(arguments[start:].strip())
    return [p for p in parts if p]


_SINGLE_FROM = re.compile(r"\bFROM (?:ONLY )?(?:\w+\.)?(\w+)(?: (?:AS )?(?!WHERE\b|GROUP\b|HAVING\b|ORDER\b|LIMIT\b)(\w+))?")


def _unqualified_single_relation(text: str) -> str:
    """A view's definition with its one relation's qualifier taken off its columns (``orders.id`` -> ``id``); views
    over more than one relation (a join, a subquery, a second FROM) are left as they are."""
    if text.count("FROM ") != 1 or " JOIN " in text or "FROM (" in text:
        return text
    found = _SINGLE_FROM.search(text)
    if found is None:
        return text
    qualifier = found.group(2) or found.group(1)
    return re.sub(rf"(?<![\w.\"]){re.escape(qualifier)}\.(?=\w)", "", text)


def normalize_definition(kind: str, definition: str) -> str:
    """A definition as text that is the same on every major for the same object.

    Known deparse differences between the source's and the target's majors (tested on 13 -> 16):

    * ``pg_get_functiondef`` of a PROCEDURE writes the argument mode ``IN`` explicitly from PostgreSQL 14 on
      (``restock(IN p_qty integer)``) and left it implicit before (``restock(p_qty integer)``).
    * ``pg_get_viewdef`` of a view over one relation qualifies its columns up to PostgreSQL 15 (``SELECT orders.id
      FROM shop.orders``) and not from 16 on (``SELECT id FROM shop.orders``): such a view is compared without them.
    """
    text = " ".join(definition.split())
    if kind == "views":
        text = _unqualified_single_relation(text)
    if kind == "functions" and text.startswith("CREATE OR REPLACE PROCEDURE "):
        open_at = text.find("(")
        close_at = _argument_list(text, open_at)
        arguments = [a.removeprefix("IN ") for a in _split_arguments(text[open_at + 1 : close_at])]
        text = text[: open_at + 1] + ", ".join(arguments) + text[close_at:]
    return text


def schema_snapshot(conn: psycopg.Connection, schemas: Sequence[str]) -> dict[str, dict[str, str]]:
    return {
        kind: {str(k): normalize_definition(kind, str(v)) for k, v in query(conn, statement, {"schemas": list(schemas)})}
        for kind, statement in SCHEMA_QUERIES.items()
    }


@dataclasses.dataclass(frozen=True)
class SchemaDifference:
    kind: str
    name: str
    problem: str
    """``missing on target``, ``extra on target`` or ``differs``."""
    source: str = ""
    target: str = ""


def diff_schema(source: dict[str, dict[str, str]], target: dict[str, dict[str, str]]) -> list[SchemaDifference]:
    out: list[SchemaDifference] = []
    for kind in SCHEMA_QUERIES:
        s, t = source.get(kind, {}), target.get(kind, {})
        out += [SchemaDifference(kind, k, "missing on target", s[k]) for k in sorted(s.keys() - t.keys())]
        out += [SchemaDifference(kind, k, "extra on target", "", t[k]) for k in sorted(t.keys() - s.keys())]
        out += [SchemaDifference(kind, k, "differs", s[k], t[k]) for k in sorted(s.keys() & t.keys()) if s[k] != t[k]]
    return out
