"""Logical replication slots and WAL positions: where a side's WAL is, where a slot stands, moving and dropping one.

Both directions read from a slot on the side being copied (the forward task on-prem, the way back on Aurora); the
drain reads a slot only as a secondary signal (the fence, :mod:`.fence`, is the proof).
"""

from __future__ import annotations

import time

import psycopg

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.polling import poll

FORWARD_NAME = "migration_forward"
"""Publication, subscription and slot of the native forward replication (on-prem -> Aurora)."""
REVERSE_NAME = "migration_reverse"
"""Publication and subscription of the native way back (Aurora -> on-prem)."""


def lsn_value(lsn: str) -> int:
    """``16/B374D848`` -> an integer that orders like the LSN."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def current_lsn(conn: psycopg.Connection) -> str:
    """The WAL *write* position: with ``synchronous_commit = off`` it can trail commits already made (use
    :func:`sync_point` for a position that covers them)."""
    return str(query(conn, "SELECT pg_current_wal_lsn()::text")[0][0])


def insert_position(conn: psycopg.Connection) -> str:
    """Where the next WAL record goes: after every commit made so far (which may not be flushed yet)."""
    return str(query(conn, "SELECT pg_current_wal_insert_lsn()::text")[0][0])


def sync_point(conn: psycopg.Connection, *, timeout: float = 10.0) -> str:
    """A position that covers every commit made so far, once it is flushed: the *insert* position (after every commit
    record so far), returned when WAL has been flushed past it (:func:`wait_flushed`).

    ``pg_current_wal_lsn()`` is where WAL has been *written*; commits made with ``synchronous_commit = off`` (common on
    busy on-prem servers, and the default of every logical replication apply worker) can still sit in WAL buffers
    beyond it. A WAL sender only sends flushed WAL, and ``pg_replication_slot_advance`` clamps its target to the flush
    position: a slot advanced to an unflushed position stops short of commits already made, and sends them again
    later. (A transaction that writes nothing but its commit record is never a synchronous commit, so "commit once with
    ``synchronous_commit = on``" does not force the flush; waiting for the WAL writer does, within
    ``3 x wal_writer_delay``.) No message or table write: DMS and pgoutput see nothing.
    """
    insert, block = query(conn, "SELECT pg_current_wal_insert_lsn()::text, current_setting('wal_block_size')::int")[0]
    position = covered(str(insert), int(block))
    wait_flushed(conn, position, timeout)
    return position


LONG_PAGE_HEADER = 40
"""Bytes of the largest WAL page header (``SizeOfXLogLongPHD``; the short one is 24)."""


def covered(insert: str, block_size: int) -> str:
    """The position that covers every record inserted before ``insert``. Just past a page boundary there is only the
    page's header, which is not flushed until a record follows it: the boundary itself covers everything then."""
    value = lsn_value(insert)
    offset = value % block_size
    if 0 < offset <= LONG_PAGE_HEADER:
        value -= offset
        return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"
    return insert


NUDGE_AFTER_SECONDS = 1.0
"""How long :func:`wait_flushed` waits for the WAL writer before it asks for the flush itself."""


def wait_flushed(conn: psycopg.Connection, position: str, timeout: float = 10.0) -> None:
    """Wait until the server has flushed WAL up to ``position``.

    The WAL writer flushes asynchronous commits, but not a record that is no commit (the background writer's
    running-transactions record, every 15 s) while nothing else asks for a flush: on a frozen, idle source such a
    record can sit in WAL buffers for as long as nobody commits. After :data:`NUDGE_AFTER_SECONDS` (once) an empty
    transaction that takes a transaction id commits asynchronously *after* ``position`` and so has the WAL writer
    flush through it. Logical decoding sees an empty transaction (pgoutput skips it; test_decoding, DMS's plugin, sends
    BEGIN/COMMIT with nothing between).
    """
    target = lsn_value(position)
    flushed = ""
    started = time.monotonic()
    nudged = False

    def done() -> bool:
        nonlocal flushed, nudged
        flushed = str(query(conn, "SELECT pg_current_wal_flush_lsn()::text")[0][0])
        if lsn_value(flushed) >= target:
            return True
        if not nudged and time.monotonic() - started >= NUDGE_AFTER_SECONDS and conn.autocommit:
            query(conn, "SELECT txid_current()")  # its own transaction: an xid, an asynchronous commit past the target
            nudged = True
        return False

    poll(
        done,
        timeout=timeout,
        interval=0.01,
        timed_out=lambda: UsageError(f"WAL flushed only to {flushed} after {timeout:.0f} s; needed {position}"),
    )


def slot_position(conn: psycopg.Connection, slot: str) -> tuple[str | None, bool] | None:
    """(confirmed_flush_lsn, active) of a logical slot, or ``None`` if there is no such slot."""
    rows = query(
        conn,
        "SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = %s AND slot_type = 'logical'",
        (slot,),
    )
    return (rows[0][0], bool(rows[0][1])) if rows else None


def _in_use(slot: str, timeout: float) -> UsageError:
    return UsageError(f"slot {slot!r} is still in use {timeout:.0f} s after its replication was stopped")


def advance_slot(conn: psycopg.Connection, slot: str, lsn: str | None = None, *, timeout: float = 30.0) -> str:
    """Move a slot to ``lsn`` (default: the current WAL end) without sending what it skips. The slot's reader must
    have stopped; its WAL sender may take a moment to notice, so this waits up to ``timeout`` for the slot to be free."""
    target = lsn or current_lsn(conn)
    reached: str | None = None

    def free_or_reached() -> bool:
        nonlocal reached
        position = slot_position(conn, slot)
        if position is None:
            raise UsageError(f"no logical replication slot {slot!r} to advance")
        if position[0] is not None and lsn_value(position[0]) >= lsn_value(target):
            reached = position[0]
            return True
        return not position[1]

    poll(free_or_reached, timeout=timeout, interval=0.02, timed_out=lambda: _in_use(slot, timeout))
    if reached is not None:
        return reached
    wait_flushed(conn, target)  # the advance stops at the flush position, short of what it was asked to skip
    end = str(query(conn, "SELECT end_lsn::text FROM pg_replication_slot_advance(%s, %s::pg_lsn)", (slot, target))[0][0])
    if lsn_value(end) < lsn_value(target):
        raise UsageError(f"slot {slot!r} advanced only to {end}, short of {target}: its changes would be sent again")
    return end


def confirmed_position(conn: psycopg.Connection, slot: str) -> str:
    position = slot_position(conn, slot)
    if position is None:
        raise UsageError(f"no logical replication slot {slot!r} to resume from")
    return str(position[0])


def create_slot(conn: psycopg.Connection, slot: str, plugin: str) -> str:
    """Create a logical slot if missing; its consistent point (or, if it existed, its confirmed position)."""
    position = slot_position(conn, slot)
    if position is not None:
        return str(position[0])
    return str(query(conn, "SELECT lsn::text FROM pg_create_logical_replication_slot(%s, %s)", (slot, plugin))[0][0])


def drop_slot(conn: psycopg.Connection, slot: str, *, timeout: float = 30.0) -> None:
    """Drop a slot if it exists, once its reader has let go of it."""

    def released() -> bool:
        position = slot_position(conn, slot)
        return position is None or not position[1]

    poll(released, timeout=timeout, interval=0.02, timed_out=lambda: _in_use(slot, timeout))
    if slot_position(conn, slot) is not None:
        query(conn, "SELECT pg_drop_replication_slot(%s)", (slot,))
