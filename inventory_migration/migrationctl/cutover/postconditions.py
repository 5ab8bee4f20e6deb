"""What must be true after a step, asked of the system after the step's work — not whether the step did what it meant
to. Each function returns the problems it finds (empty: the promise holds); :func:`holds` stops the run on any."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from inventory_migration.migrationctl.cutover import freeze
from inventory_migration.migrationctl.cutover import switch as switch_mod
from inventory_migration.migrationctl.cutover.settings import PostconditionFailed, Settings
from inventory_migration.migrationctl.pg import identities
from inventory_migration.migrationctl.pg import sequences as sequences_mod


def holds(step: str, promise: str, problems: Sequence[str]) -> None:
    """A step's postcondition: ``problems`` empty, else the run stops here (:class:`.PostconditionFailed`)."""
    if problems:
        shown = "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
        raise PostconditionFailed(f"after {step}, {promise} does not hold: {shown}")


def sequences_behind(writer: psycopg.Connection, follower: psycopg.Connection) -> list[str]:
    """``follower``'s sequences that are not past ``writer``'s positions."""
    plan = sequences_mod.plan_sync(sequences_mod.positions(writer), sequences_mod.positions(follower), 0)
    return [
        f"{p.sequence} at {p.target_value}, the other side at {p.source_value}" for p in plan if p.action == sequences_mod.SET
    ]


def identities_misplaced(writer: psycopg.Connection, replica: psycopg.Connection) -> list[str]:
    """Identity columns not ALWAYS on the side the applications write, or not BY DEFAULT where replication writes."""
    on_writer, on_replica = identities.identity_columns(writer), identities.identity_columns(replica)
    concerned = {c for side in (on_writer, on_replica) for c, kind in side.items() if kind == identities.ALWAYS}
    return sorted(
        [f"{c} not ALWAYS where the applications write" for c in concerned if on_writer.get(c) != identities.ALWAYS]
        + [f"{c} not BY DEFAULT where replication writes" for c in concerned if on_replica.get(c) != identities.BY_DEFAULT]
    )


def apps_cannot_write(s: Settings, conn: psycopg.Connection) -> list[str]:
    """The application roles present here that cannot write a user table, by any path."""
    return [f"{role} cannot write" for role in switch_mod.existing_roles(conn, s.app_roles) if not freeze.can_write(conn, role)]


def weights_not(s: Settings, blue: int, green: int) -> list[str]:
    """The listener's weights, read back, when they are not ``blue``/``green`` (nothing when no listener is given)."""
    if s.elbv2 is None or s.listener is None:
        return []
    current = switch_mod.weights(s.elbv2, s.listener)
    return [] if current == {"blue": blue, "green": green} else [f"listener weights {current}"]


def writers_left(s: Settings, conn: psycopg.Connection) -> list[str]:
    """The freeze's: every way a login role but the exempt ones can still write here, and every prepared transaction."""
    return [p.line for p in freeze.residual(conn, s.exempt_roles)] + [
        f"prepared transaction {t}" for t in freeze.prepared_transactions(conn)
    ]
