"""WAL positions and slots (migrationctl/pg/slots.py)."""

from __future__ import annotations

import psycopg
import pytest

from inventory_migration.migrationctl.pg import slots
from inventory_migration.migrationctl.pg.slots import lsn_value, sync_point


def test_lsn_order() -> None:
    assert lsn_value("0/0") == 0
    assert lsn_value("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert lsn_value("1/0") > lsn_value("0/FFFFFFFF")


@pytest.mark.parametrize(
    ("insert", "expected"),
    [
        ("0/3876018", "0/3876000"),
        ("1/28", "1/0"),
        ("0/3876041", "0/3876041"),
        ("0/3876000", "0/3876000"),
        ("16/B374D848", "16/B374D848"),
    ],
)
def test_a_position_just_past_a_page_header_is_covered_by_the_page_boundary(insert: str, expected: str) -> None:
    """Only a page header lies between the boundary and the insert position: it is not flushed until a record
    follows, and nothing committed lies there."""
    assert slots.covered(insert, 8192) == expected


def test_a_sync_point_is_flushed_past_asynchronous_commits(empty_db: str) -> None:
    """Apply workers commit asynchronously: a slot advanced to an unflushed position stops short of their commits
    (``pg_replication_slot_advance`` clamps to the flush position) and sends them again later."""
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
        conn.execute("SET synchronous_commit = off")
        conn.execute("INSERT INTO t SELECT generate_series(1, 1000)")
        committed = str(conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0])  # type: ignore[index]
        position = sync_point(conn)
        flushed = str(conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()[0])  # type: ignore[index]
    assert lsn_value(committed) <= lsn_value(position) <= lsn_value(flushed)
