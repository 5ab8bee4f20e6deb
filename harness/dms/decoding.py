"""``test_decoding``'s output, read: transactions of row changes, as DMS reads a PostgreSQL source's slot.

A change line is ``table <schema>.<table>: <INSERT|UPDATE|DELETE|TRUNCATE>: <column>[<type>]:<value> …``; an UPDATE
that changes the key starts with ``old-key: …`` then ``new-tuple: …``. A value is ``null``, a quoted literal (``''``
doubles a quote), ``unchanged-toast-datum`` (an UPDATE that left a TOASTed value alone) or a bare token (numbers,
booleans). Identifiers are quoted as ``quote_identifier`` quotes them.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from typing import NamedTuple


class Kind(Enum):
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    TRUNCATE = "TRUNCATE"


UNCHANGED = object()
"""A TOASTed value an UPDATE did not change (``unchanged-toast-datum``): not in the new row."""


class Column(NamedTuple):  # a tuple: made once per column of every change, the cheapest to build
    name: str
    type: str
    value: str | object | None
    """The value's text (as the type's input function reads it), ``None`` for NULL, or :data:`UNCHANGED`."""


@dataclasses.dataclass(frozen=True)
class Change:
    schema: str
    table: str
    kind: Kind
    new: tuple[Column, ...] = ()
    """INSERT/UPDATE: the new row (UPDATE: every column, the unchanged TOASTed ones marked)."""
    old_key: tuple[Column, ...] = ()
    """DELETE: the key of the row; UPDATE: the old key when the key changed."""

    @property
    def relation(self) -> tuple[str, str]:
        return self.schema, self.table


@dataclasses.dataclass
class Transaction:
    xid: int
    changes: list[Change] = dataclasses.field(default_factory=list)
    commit_lsn: str = ""


class DecodingError(ValueError):
    """A line ``test_decoding`` would not write."""


def _quoted(text: str, i: int, quote: str, what: str) -> tuple[str, int]:
    """The text quoted by ``quote`` at ``text[i]`` (a doubled quote is one quote); it and the index after it."""
    j = i + 1
    while True:
        j = text.find(quote, j)
        if j < 0:
            raise DecodingError(f"unterminated {what}: {text[i:]!r}")
        if text.startswith(quote * 2, j):
            j += 2
            continue
        return text[i + 1 : j].replace(quote * 2, quote), j + 1


def _identifier(text: str, i: int, stop: str) -> tuple[str, int]:
    """An identifier at ``text[i]`` (quoted or not) ending before ``stop``; the name and the index after it."""
    if text.startswith('"', i):
        return _quoted(text, i, '"', "identifier")
    j = text.find(stop, i)
    if j < 0:
        raise DecodingError(f"expected {stop!r} after {text[i:]!r}")
    return text[i:j], j


_COLUMN = re.compile(
    r"""(?:"((?:[^"]|"")*)"|([^"\[][^\[]*))"""  # the name, quoted or not
    r"""\[(.*?)\]:"""  # its type as format_type writes it (``integer[]``, ``character varying(20)``)
    r"""(?:'((?:[^']|'')*)'|([^ ']*))"""  # a quoted literal, or a bare token (null, unchanged-toast-datum, 42, true)
    r"""(?: (?=.)|$)""",
    re.DOTALL,
)
"""One column of a change line, in C (the regular expression engine): a line is read at the cost of a match per column."""


def _columns(text: str) -> tuple[Column, ...]:
    out, i, end = [], 0, len(text)
    while i < end:
        m = _COLUMN.match(text, i)
        if m is None:
            raise DecodingError(f"expected a column (name[type]:value) at {text[i:]!r}")
        quoted_name, name, type_name, literal, token = m.groups()
        value: str | object | None
        if literal is not None:
            value = literal.replace("''", "'")
        elif token == "null":
            value = None
        elif token == "unchanged-toast-datum":
            value = UNCHANGED
        elif token:
            value = token
        else:
            raise DecodingError(f"a column without a value: {text[i:]!r}")
        out.append(Column(quoted_name.replace('""', '"') if quoted_name is not None else name, type_name, value))
        i = m.end()
    return tuple(out)


def change(line: str) -> Change:
    """One ``table …`` line."""
    if not line.startswith("table "):
        raise DecodingError(f"not a change: {line!r}")
    schema, i = _identifier(line, 6, ".")
    table, i = _identifier(line, i + 1, ":")
    if not line.startswith(": ", i):
        raise DecodingError(f"expected ': ' after the table: {line!r}")
    kind_end = line.find(":", i + 2)
    kind = Kind(line[i + 2 : kind_end])
    rest = line[kind_end + 1 :].lstrip(" ")
    if kind is Kind.TRUNCATE:
        return Change(schema, table, kind)
    if kind is Kind.DELETE:
        return Change(schema, table, kind, old_key=() if rest == "(no-tuple-data)" else _columns(rest))
    if rest.startswith("old-key: "):
        old, _, new = rest.removeprefix("old-key: ").partition(" new-tuple: ")
        return Change(schema, table, kind, new=_columns(new), old_key=_columns(old))
    return Change(schema, table, kind, new=_columns(rest))


def transactions(rows: list[tuple[str, int, str]]) -> list[Transaction]:
    """``(lsn, xid, data)`` rows of ``pg_logical_slot_get_changes(…, 'include-xids', '1')`` as transactions in commit
    order (the order the slot returns them)."""
    out: list[Transaction] = []
    current: Transaction | None = None
    for lsn, xid, data in rows:
        if data.startswith("BEGIN"):
            current = Transaction(int(xid))
        elif data.startswith("COMMIT"):
            if current is None:
                raise DecodingError(f"COMMIT without BEGIN at {lsn}")
            current.commit_lsn = str(lsn)
            out.append(current)
            current = None
        elif current is not None:
            current.changes.append(change(data))
        else:
            raise DecodingError(f"a change outside a transaction at {lsn}: {data!r}")
    return out
