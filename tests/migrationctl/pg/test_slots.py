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


def test_a_sync_point_on_an_idle_server_is_not_held_up_by_a_record_nobody_flushes(empty_db: str) -> None:
    """A record that is no commit (the background writer's running-transactions record every 15 s on a frozen, idle
    source; here a non-transactional logical message) sits in WAL buffers until something asks for a flush. A cutover
    or rollback resumed after a delay met one: the sync point waited 10 s and failed the step. The sync point asks
    for the flush itself (an empty transaction whose asynchronous commit the WAL writer flushes)."""
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for _ in range(3):  # a few times: the WAL writer may have been asked to flush anyway by then
            conn.execute("SELECT pg_logical_emit_message(false, 'test-unflushed', 'x')")
            position = sync_point(conn, timeout=3.0)
            flushed = conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()
            assert flushed is not None and lsn_value(flushed[0]) >= lsn_value(position)


class StalledFlush:
    """A connection whose server flushes nothing past 0/10 until a transaction takes an id (what the WAL writer does
    with an idle server's non-commit record: it waits for an asynchronous commit to flush through)."""

    autocommit = True

    def __init__(self) -> None:
        self.statements: list[str] = []

    def cursor(self) -> StalledFlush:
        return self

    def __enter__(self) -> StalledFlush:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, statement: str, params: object = None) -> None:
        self.statements.append(statement)
        self.description = [("x",)]

    def fetchall(self) -> list[tuple[str]]:
        nudged = any("txid_current" in s for s in self.statements)
        return [("0/100" if nudged else "0/10",)]


def test_the_wait_asks_for_the_flush_when_nothing_else_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slots, "NUDGE_AFTER_SECONDS", 0.05)
    conn = StalledFlush()
    slots.wait_flushed(conn, "0/50", timeout=2.0)  # type: ignore[arg-type]
    assert sum("txid_current" in s for s in conn.statements) == 1


def test_without_the_nudge_the_wait_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory_migration.migrationctl.errors import UsageError

    monkeypatch.setattr(slots, "NUDGE_AFTER_SECONDS", 60.0)
    with pytest.raises(UsageError, match="WAL flushed only to 0/10 after 0 s; needed 0/50"):
        slots.wait_flushed(StalledFlush(), "0/50", timeout=0.2)  # type: ignore[arg-type]
