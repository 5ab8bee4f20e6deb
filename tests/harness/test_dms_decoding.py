"""test_decoding's lines, read (harness/dms/decoding.py)."""

from __future__ import annotations

import pytest

from harness.dms.decoding import UNCHANGED, Column, DecodingError, Kind, change, transactions


def test_an_insert_with_quotes_nulls_and_bare_values() -> None:
    line = (
        "table public.t: INSERT: id[integer]:1 name[text]:'it''s \"q\" x' j[jsonb]:'{\"a\": [1, \"x\"]}' "
        "a[text[]]:'{a,\"b c\"}' n[numeric]:null f[double precision]:NaN"
    )
    c = change(line)
    assert (c.schema, c.table, c.kind) == ("public", "t", Kind.INSERT)
    assert c.new == (
        Column("id", "integer", "1"),
        Column("name", "text", 'it\'s "q" x'),
        Column("j", "jsonb", '{"a": [1, "x"]}'),
        Column("a", "text[]", '{a,"b c"}'),
        Column("n", "numeric", None),
        Column("f", "double precision", "NaN"),
    )


def test_an_update_that_changes_the_key_carries_the_old_key() -> None:
    c = change("table public.t: UPDATE: old-key: id[integer]:2 new-tuple: id[integer]:3 name[text]:null")
    assert c.old_key == (Column("id", "integer", "2"),) and c.new[0] == Column("id", "integer", "3")


def test_a_toasted_value_left_alone_is_marked_unchanged() -> None:
    c = change("table s.t: UPDATE: id[integer]:1 body[text]:unchanged-toast-datum")
    assert c.new[1].value is UNCHANGED


def test_quoted_identifiers() -> None:
    c = change('table "My Schema"."odd ""t""": DELETE: "the id"[integer]:7')
    assert c.relation == ("My Schema", 'odd "t"') and c.old_key == (Column("the id", "integer", "7"),)


def test_a_truncate_and_a_delete_without_a_key() -> None:
    assert change("table public.t: TRUNCATE: (no-flags)").kind is Kind.TRUNCATE
    assert change("table public.t: DELETE: (no-tuple-data)").old_key == ()


def test_transactions_group_changes_between_begin_and_commit() -> None:
    rows = [
        ("0/1", 7, "BEGIN 7"),
        ("0/1", 7, "table public.t: INSERT: id[integer]:1"),
        ("0/2", 7, "table public.t: INSERT: id[integer]:2"),
        ("0/3", 7, "COMMIT 7"),
        ("0/4", 8, "BEGIN 8"),
        ("0/5", 8, "COMMIT 8"),
    ]
    found = transactions(rows)
    assert [(t.xid, len(t.changes), t.commit_lsn) for t in found] == [(7, 2, "0/3"), (8, 0, "0/5")]


@pytest.mark.parametrize(
    "line",
    ["table public.t INSERT: id[integer]:1", "table public.t: INSERT: id[integer:1", "table public.t: INSERT: id[integer]:'x"],
)
def test_a_line_test_decoding_would_not_write_is_refused(line: str) -> None:
    with pytest.raises((DecodingError, ValueError)):
        change(line)
