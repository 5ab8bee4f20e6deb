"""Never two writers, proven from a per-write record.

Two records, both with times on the one clock the machine has:

* **the application's**: every acknowledged commit with the side that accepted it, when the COMMIT was sent and when
  it returned (:class:`harness.night.workload.Ack`);
* **the replication's**: every change a replication *applied* on each side, logged by an ``ALWAYS`` trigger on
  ``shop.orders`` that fires only in the apply worker (``session_replication_role = replica``) into an unlogged table
  (unlogged tables are never published, and the control schema is left out of every comparison).

Two checks:

* :func:`writer_changes`: in the order the application's commits definitely happened, the side that accepts writes
  changes at most once per operation of the night — a change back and forth within one would be two writers.
* :func:`stale_applies`: no replication applies a change on a side after that side accepted an application write,
  until the side is frozen again — a late apply on top of green's writes is exactly what the drain must prevent.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections.abc import Iterable, Sequence

import psycopg

from inventory_migration.contracts.names import CONTROL_SCHEMA

APPLY_LOG = f"{CONTROL_SCHEMA}.rehearsal_applied"
APPLY_LOG_SQL = f"""
CREATE SCHEMA IF NOT EXISTS {CONTROL_SCHEMA};
CREATE UNLOGGED TABLE IF NOT EXISTS {APPLY_LOG} (
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    op text NOT NULL,
    order_id bigint NOT NULL
);
CREATE OR REPLACE FUNCTION {CONTROL_SCHEMA}.rehearsal_log_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF current_setting('session_replication_role') = 'replica' THEN
        INSERT INTO {APPLY_LOG} (op, order_id) VALUES (TG_OP, coalesce(NEW.id, OLD.id));
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS rehearsal_applied ON shop.orders;
CREATE TRIGGER rehearsal_applied AFTER INSERT OR UPDATE OR DELETE ON shop.orders
    FOR EACH ROW EXECUTE FUNCTION {CONTROL_SCHEMA}.rehearsal_log_apply();
ALTER TABLE shop.orders ENABLE ALWAYS TRIGGER rehearsal_applied;
"""
"""The replication's record, installed on both sides once the schema is complete (the same trigger on both, so the
schema comparison stays equal)."""


@dataclasses.dataclass(frozen=True)
class Write:
    """One application commit: the side that accepted it, and when (it took effect between ``began`` and ``at``)."""

    side: str
    began: float
    at: float


@dataclasses.dataclass(frozen=True)
class Window:
    """One operation of the night, from its start to the next operation's start."""

    label: str
    start: float
    end: float


def applied(conn: psycopg.Connection) -> list[float]:
    """When the replication applied each change on ``conn``'s side (epoch seconds)."""
    return sorted(float(r[0]) for r in conn.execute(f"SELECT extract(epoch FROM at) FROM {APPLY_LOG}"))


def writer_changes(writes: Sequence[Write], windows: Sequence[Window]) -> list[str]:
    """Where the accepting side changed more than once within one operation's window, or before any operation.

    A change counts only where the order is certain: a write on the other side that *began* after the last write on
    the current side *returned*. Overlapping commits on both sides would be two writers too, and are reported."""
    problems: list[str] = []
    ordered = sorted(writes, key=lambda w: w.at)
    changes: dict[str, list[float]] = {}
    current: Write | None = None
    for write in ordered:
        if current is None or write.side == current.side:
            current = write
            continue
        if write.began < current.at:
            problems.append(
                f"{current.side} and {write.side} both committing at {write.began:.3f}-{current.at:.3f} (two writers)"
            )
        window = next((w.label for w in windows if w.start <= write.began < w.end), "before any operation")
        changes.setdefault(window, []).append(write.began)
        current = write
    problems += [f"{label}: the writing side changed {len(times)} times" for label, times in changes.items() if len(times) > 1]
    problems += [f"the writing side changed {len(changes.get('before any operation', []))} time(s) before any operation"] * (
        "before any operation" in changes
    )
    return problems


def stale_applies(
    side: str, applies: Iterable[float], writes: Sequence[Write], frozen_at: Iterable[float], *, show: int = 3
) -> list[str]:
    """Replicated changes applied on ``side`` after an application write there that no freeze of ``side`` followed.

    Only where the order is certain: the write returned before the apply, and *began* after the side's last freeze
    ended. A commit sent before the freeze and acknowledged after it (held by the freeze's session ending, or by a
    busy machine between the server's reply and the client's clock) took effect before the freeze: the drain carries
    it (the night's lost-writes check proves that), and it says nothing about the applies that follow."""
    mine = sorted((w for w in writes if w.side == side), key=lambda w: w.at)
    acks = [w.at for w in mine]
    latest_began = list(itertools.accumulate((w.began for w in mine), max))
    freezes = sorted(frozen_at)
    stale = []
    for t in applies:
        i = bisect.bisect_left(acks, t)
        if i == 0:
            continue
        last_write = latest_began[i - 1]
        j = bisect.bisect_left(freezes, t)
        last_freeze = freezes[j - 1] if j else float("-inf")
        if last_write > last_freeze:
            stale.append(f"{side}: a change applied at {t:.3f}, after the application wrote there at {last_write:.3f}")
    return stale[:show] + ([f"{side}: ... {len(stale) - show} more"] if len(stale) > show else [])
