"""What data parity compares, and in which pieces: the tables with their keys and columns, the row hash, and the
key ranges (segments and chunks) that cover each table's whole key space. The engine that runs the comparison is
:mod:`.data_parity`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import psycopg
from psycopg import sql

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.pg.objects import user_object

INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})
DEFAULT_CHUNK_ROWS = 10_000
DEFAULT_SEGMENT_ROWS = 10_000_000
DEFAULT_KEYED_SEGMENT_ROWS = 100_000
MAX_REPORTED_KEYS = 20

# --------------------------------------------------------------------------------------------- tables


@dataclasses.dataclass(frozen=True)
class Table:
    schema: str
    name: str
    pk_columns: tuple[str, ...]
    pk_types: tuple[str, ...]
    heap_bytes: int
    estimated_rows: int
    columns: tuple[tuple[str, str, str], ...] = ()
    """(name, type name, type kind) of every column, in column order."""
    not_null: frozenset[str] = frozenset()
    """Columns declared NOT NULL (on the side the table was read from: the source's drives both sides' hash)."""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def integer_key(self) -> bool:
        return len(self.pk_columns) == 1 and self.pk_types[0] in INTEGER_TYPES


TABLES_SQL = f"""
    SELECT n.nspname, c.relname,
           coalesce((SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_index i
                     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     WHERE i.indrelid = c.oid AND i.indisprimary), '{{}}'),
           coalesce((SELECT array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord) FROM pg_index i
                     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     WHERE i.indrelid = c.oid AND i.indisprimary), '{{}}'),
           pg_relation_size(c.oid), greatest(c.reltuples, 0)::bigint,
           (SELECT array_agg(ARRAY[a.attname::text, format_type(a.atttypid, a.atttypmod), t.typtype::text] ORDER BY a.attnum)
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
           coalesce((SELECT array_agg(a.attname::text) FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull), '{{}}')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname = ANY(%(schemas)s) AND {user_object("c.relname")}
    ORDER BY pg_relation_size(c.oid) DESC, 1, 2
"""


def list_tables(conn: psycopg.Connection, schemas: Sequence[str]) -> list[Table]:
    return [
        Table(
            r[0],
            r[1],
            tuple(r[2]),
            tuple(r[3]),
            int(r[4]),
            int(r[5]),
            tuple(tuple(col) for col in (r[6] or [])),
            frozenset(r[7] or ()),
        )
        for r in query(conn, TABLES_SQL, {"schemas": list(schemas)})
    ]


def select_tables(tables: list[Table], wanted: Sequence[str] | None) -> list[Table]:
    """``--tables``: each name as ``schema.table`` (or a bare table name when unambiguous)."""
    if not wanted:
        return tables
    by_name = {t.qualified: t for t in tables}
    chosen, unknown = [], []
    for name in wanted:
        if name in by_name:
            chosen.append(by_name[name])
            continue
        bare = [t for t in tables if t.name == name]
        if len(bare) == 1:
            chosen.append(bare[0])
        else:
            unknown.append(name)
    if unknown:
        raise UsageError(f"unknown table(s) in --tables: {', '.join(unknown)} (known: {', '.join(sorted(by_name)) or 'none'})")
    return chosen


# --------------------------------------------------------------------------------------------- row hash

VALUE_HASHES: dict[str, str] = {
    "smallint": "hashint2extended({c}, {s})",
    "integer": "hashint4extended({c}, {s})",
    "bigint": "hashint8extended({c}, {s})",
    "text": "hashtextextended({c}, {s})",
    "character varying": "hashtextextended({c}::text, {s})",
    "character": "hashbpcharextended({c}, {s})",
    "numeric": "hash_numeric_extended({c}, {s})",
    "boolean": "hashint4extended({c}::integer, {s})",
    # ±infinity cannot be subtracted; they hash as the two int4 extremes, which no finite date difference reaches.
    "date": "hashint4extended(CASE WHEN isfinite({c}) THEN {c} - date '2000-01-01' "
    "WHEN {c} > date '2000-01-01' THEN 2147483647 ELSE -2147483648 END, {s})",
    "timestamp without time zone": "timestamp_hash_extended({c}, {s})",
    # Shifted by a zero offset (timestamptz_izone: no time-zone lookup, ±infinity kept), the same instant gives the
    # same microseconds in any session's TimeZone; half the cost of the difference from the epoch this replaced.
    "timestamp with time zone": "timestamp_hash_extended({c} AT TIME ZONE INTERVAL '00:00', {s})",
    "time without time zone": "time_hash_extended({c}, {s})",
    "interval": "interval_hash_extended({c}, {s})",
    "double precision": "hashfloat8extended({c}, {s})",
    "real": "hashfloat4extended({c}, {s})",
    "uuid": "uuid_hash_extended({c}, {s})",
    "jsonb": "jsonb_hash_extended({c}, {s})",
}
"""Base type -> its value-based extended hash."""
TEXT_HASH = "hashtextextended({c}::text, {s})"


def base_type(type_name: str) -> str:
    """``numeric(12,2)`` -> ``numeric``; ``character varying(20)`` -> ``character varying``."""
    return type_name.split("(", 1)[0].strip()


def _template(type_name: str, kind: str) -> str:
    if kind != "b" or type_name.endswith("[]"):
        return TEXT_HASH
    return VALUE_HASHES.get(base_type(type_name), TEXT_HASH)


def row_hash(columns: Sequence[tuple[str, str, str]], not_null: frozenset[str] = frozenset()) -> sql.Composable:
    """One 64-bit hash of a row. The NOT NULL columns are chained, each column's hash seeded with the one before
    (one function call per column, no combining operator); every other column's hash, seeded with its position, is
    XORed in, a NULL counting as ``-position``. Both sides are hashed with the same expression (the source's NOT NULL
    set): a NULL the target has where the source cannot is a NULL hash, which the chunk's sum and count tell apart."""
    if not columns:
        return sql.SQL("0::bigint")
    chain: sql.Composable | None = None
    parts: list[sql.Composable] = []
    for position, (name, type_name, kind) in enumerate(columns, start=1):
        template = _template(type_name, kind)
        if name in not_null:
            chain = sql.SQL(template.format(c="{c}", s="{s}")).format(
                c=sql.Identifier(name), s=chain if chain is not None else sql.SQL(f"{position}::bigint")
            )
            continue
        expr = template.format(c="{c}", s=f"{position}::bigint")
        parts.append(sql.SQL("coalesce(" + expr + ", {n})").format(c=sql.Identifier(name), n=sql.Literal(-position)))
    return sql.SQL(" # ").join(([chain] if chain is not None else []) + parts)


# --------------------------------------------------------------------------------------------- chunks


@dataclasses.dataclass(frozen=True)
class Segment:
    """A key range ``(lower, upper]`` of one table; ``None`` is open."""

    index: int
    lower: tuple[str, ...] | None
    upper: tuple[str, ...] | None


def _key_expr(table: Table) -> sql.Composable:
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in table.pk_columns)
    return sql.SQL("({})").format(cols) if len(table.pk_columns) > 1 else cols


def _key_literal(table: Table, values: tuple[str, ...]) -> sql.Composable:
    parts = sql.SQL(", ").join(
        sql.SQL("{}::{}").format(sql.Literal(v), sql.SQL(t)) for v, t in zip(values, table.pk_types, strict=True)
    )
    return sql.SQL("ROW({})").format(parts) if len(values) > 1 else parts


def range_predicate(table: Table, lower: tuple[str, ...] | None, upper: tuple[str, ...] | None) -> sql.Composable:
    key = _key_expr(table)
    terms: list[sql.Composable] = []
    if lower is not None:
        terms.append(sql.SQL("{} > {}").format(key, _key_literal(table, lower)))
    if upper is not None:
        terms.append(sql.SQL("{} <= {}").format(key, _key_literal(table, upper)))
    return sql.SQL(" AND ").join(terms) if terms else sql.SQL("true")


def plan_segments(conn: psycopg.Connection, table: Table, segment_rows: int) -> list[Segment]:
    """Key ranges of about ``segment_rows`` rows, computed on the source."""
    if not table.pk_columns:
        return [Segment(0, None, None)]
    if table.integer_key:
        row = query(conn, sql.SQL("SELECT min({k})::text, max({k})::text FROM {t}").format(k=_key_expr(table), t=table.ident))[0]
        if row[0] is None:
            return [Segment(0, None, None)]
        lo, hi = int(row[0]), int(row[1])
        rows = max(table.estimated_rows, 1)
        width = max(1, (hi - lo + 1) * segment_rows // rows)
        bounds: list[tuple[str, ...]] = [(str(b),) for b in range(lo - 1 + width, hi, width)]
    else:
        bounds = keyset_boundaries(conn, table, segment_rows)
    # Integer keys: a first segment for every key at or below the source's minimum (rows only the target has), then
    # segments from min - 1, so chunk arithmetic starts at 0 in each; the last one is open above, like every plan.
    edges: list[tuple[str, ...] | None] = [None, (str(lo - 1),), *bounds, None] if table.integer_key else [None, *bounds, None]
    return [Segment(i, edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def keyset_boundaries(conn: psycopg.Connection, table: Table, segment_rows: int) -> list[tuple[str, ...]]:
    """Every ``segment_rows``-th key, walking the primary key index: each step starts where the last ended."""
    cols = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in table.pk_columns)
    key_cols = sql.SQL(", ").join(sql.Identifier(c) for c in table.pk_columns)
    bounds: list[tuple[str, ...]] = []
    while True:
        # Cast outside the LIMIT: the skipped rows are not formatted.
        statement = sql.SQL(
            "SELECT {cols} FROM (SELECT {key_cols} FROM {t} WHERE {where} ORDER BY {key_cols} OFFSET {skip} LIMIT 1) s"
        ).format(
            cols=cols,
            t=table.ident,
            where=range_predicate(table, bounds[-1] if bounds else None, None),
            key_cols=key_cols,
            skip=sql.Literal(segment_rows - 1),
        )
        rows = query(conn, statement)
        if not rows:
            return bounds
        bounds.append(tuple(str(v) for v in rows[0]))


def segment_hash_query(table: Table, segment: Segment, chunk_rows: int) -> sql.Composed:
    """Per chunk of a segment: (chunk id, rows, sum of row hashes)."""
    where = range_predicate(table, segment.lower, segment.upper)
    if table.integer_key and segment.lower is not None:
        base = int(segment.lower[0])
        # Keys are > base within the segment, so integer division is the floor.
        bucket: sql.Composable = sql.SQL("(({k})::bigint - {b}::bigint) / {n}::bigint").format(
            k=_key_expr(table), b=sql.Literal(base), n=sql.Literal(chunk_rows)
        )
    else:
        bucket = sql.SQL("0")
    return sql.SQL(
        "SELECT {bucket} AS chunk, count(*), coalesce(sum({hash}), 0)::text FROM ONLY {table} AS t WHERE {where} GROUP BY 1"
    ).format(bucket=bucket, hash=row_hash(table.columns, table.not_null), table=table.ident, where=where)


def segment_sum_query(table: Table, segment: Segment) -> sql.Composed:
    """One (0, rows, sum of row hashes) for the whole segment: no grouping, the cheapest pass (a segment that differs
    is then hashed per chunk, :func:`segment_hash_query`)."""
    return sql.SQL("SELECT 0, count(*), coalesce(sum({hash}), 0)::text FROM ONLY {table} AS t WHERE {where}").format(
        hash=row_hash(table.columns, table.not_null),
        table=table.ident,
        where=range_predicate(table, segment.lower, segment.upper),
    )


def chunk_bounds(
    table: Table, segment: Segment, chunk: int, chunk_rows: int
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """Key range of one chunk of a segment (integer keys: the bucket's arithmetic range within the segment; a segment
    open below is one chunk)."""
    if not table.integer_key or segment.lower is None:
        return segment.lower, segment.upper
    base = int(segment.lower[0])
    lower = base + chunk * chunk_rows - 1
    upper = lower + chunk_rows
    if segment.lower:
        lower = max(lower, int(segment.lower[0]))
    if segment.upper:
        upper = min(upper, int(segment.upper[0]))
    return (str(lower),), (str(upper),)
