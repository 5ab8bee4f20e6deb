"""``migrationctl lag``: how far replication trails (the source's slots, DMS's CloudWatch latency).

The command's arguments (:func:`register`) and its plumbing (:func:`run`); the work is in the modules it calls."""

from __future__ import annotations

from typing import Any

from inventory_migration.contracts.names import task_resource_id
from inventory_migration.migrationctl.arguments import SubParsers, source_arg
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.output import table
from inventory_migration.migrationctl.pg import lag as lag_mod


def run(ctx: Context) -> ExitCode:
    a = ctx.args
    payload: dict[str, Any] = {}
    lines: list[str] = []
    over = False
    if not a.skip_source:
        with connection(ctx.source(), "source", read_only=True) as conn:
            slots = lag_mod.slot_lag(conn)
        payload["slots"] = [vars(s) for s in slots]
        lines.append(table([vars(s) for s in slots], ["slot", "plugin", "active", "confirmed_lag_bytes", "retained_wal_bytes"]))
        over |= a.max_bytes is not None and any(s.confirmed_lag_bytes > a.max_bytes for s in slots)
    if a.task_arn:
        try:
            task_resource_id(a.task_arn)
        except ValueError as error:
            raise UsageError(str(error)) from None
        result = lag_mod.dms_lag(ctx.client("cloudwatch"), ctx.client("dms"), a.task_arn)
        payload["dms"] = vars(result) | {"total_seconds": result.total_seconds}
        lines.append(
            f"DMS task {result.task_resource_id} on {result.instance_identifier}: "
            f"CDCLatencySource {result.source_seconds} s, CDCLatencyTarget {result.target_seconds} s, "
            f"total {result.total_seconds} s (at {result.at or 'no datapoints in the last 10 minutes'})"
        )
        total = result.total_seconds
        over |= a.max_seconds is not None and (total is None or total > a.max_seconds)
    if not payload:
        raise UsageError("nothing to measure: give a SOURCE_DSN and/or --task-arn")
    ctx.emit(payload, "\n".join(lines))
    return ExitCode.FINDINGS if over else ExitCode.OK


def register(sub: SubParsers) -> None:
    p = sub.add_parser("lag", help="replication lag: source slot and DMS CloudWatch metrics")
    source_arg(p)
    p.add_argument("--task-arn", help="DMS task ARN (its last segment is the CloudWatch task dimension)")
    p.add_argument("--skip-source", action="store_true", help="only read DMS metrics")
    p.add_argument("--max-seconds", type=float, help="exit 1 if DMS total latency exceeds this")
    p.add_argument("--max-bytes", type=int, help="exit 1 if a slot's confirmed lag exceeds this")
    p.set_defaults(handler=run)
