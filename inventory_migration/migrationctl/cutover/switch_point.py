"""The cutover's last step: both sides compared *as of the switch*, from the snapshots held since the way-back step,
while green already takes writes. A difference pages the alarm topic and names the rollback decision; no table
compared is no verdict ("equal" over nothing is not equal)."""

from __future__ import annotations

import time
from typing import Any

import psycopg

from inventory_migration.migrationctl.cutover.settings import Settings
from inventory_migration.migrationctl.pg import chunks, data_parity
from inventory_migration.migrationctl.pg.objects import user_schemas

CUTOVER_ALARM = (
    "Cutover: data differs at the switch point",
    "migrationctl cutover: Aurora differs from on-prem as of the switch in {tables}. Green has served since the switch; "
    "its writes are replicated back to on-prem. Decide now: `migrationctl rollback` returns to blue without losing them.",
)
ROLLBACK_ALARM = (
    "Rollback: data differs at the switch back",
    "migrationctl rollback: on-prem differs from Aurora as of the switch back in {tables}. Blue has served since; "
    "Aurora is frozen and keeps its rows. Compare the named tables (`migrationctl verify --tables …`) and repair "
    "on-prem from Aurora before the next cutover.",
)


def compare(
    s: Settings,
    source: psycopg.Connection,
    target: psycopg.Connection,
    held: dict[str, str],
    *,
    alarm: tuple[str, str] = CUTOVER_ALARM,
) -> dict[str, Any]:
    """Compare every table of the compared schemas in the snapshots ``held`` (side -> snapshot id); the step's result.
    A difference notifies the alarm topic with ``alarm`` (subject, message with ``{tables}``)."""
    schemas = list(s.schemas) or user_schemas(source)
    tables_s, tables_t = chunks.list_tables(source, schemas), chunks.list_tables(target, schemas)
    started = time.monotonic()
    results = data_parity.data_parity(
        s.source_dsn,
        s.target_dsn,
        tables_s,
        tables_t,
        data_parity.DataParityOptions(jobs=s.verify_jobs, source_snapshot=held["source"], target_snapshot=held["target"]),
    )
    equal = bool(results) and all(r.equal for r in results)  # equal over no table is no verdict
    differing = [r.table for r in results if not r.equal] or ([] if results else ["(no table compared)"])
    seconds = time.monotonic() - started
    s.say(f"verify at the switch point: {'equal' if equal else 'DIFFERENT: ' + ', '.join(differing)} ({seconds:.1f} s)")
    if not equal and s.sns is not None and s.topic_arn:
        subject, message = alarm
        s.sns.publish(TopicArn=s.topic_arn, Subject=subject, Message=message.format(tables=", ".join(differing)))
    return {
        "equal": equal,
        "differing_tables": differing,
        "tables": len(results),
        "rows": sum(r.source_rows for r in results),
        "seconds": round(seconds, 3),
    }
