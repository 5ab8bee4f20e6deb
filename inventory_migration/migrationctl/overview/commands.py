"""``status`` and ``cleanup``: arguments, and the wiring of :mod:`.status` and :mod:`.cleanup` to the databases,
DMS and the state."""

from __future__ import annotations

import time
from pathlib import Path

from inventory_migration.contracts.outputs import DMS_TASK_OUTPUTS, StackOutput
from inventory_migration.migrationctl.arguments import SubParsers, both_args, state_arg
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.overview import cleanup as cleanup_mod
from inventory_migration.migrationctl.overview import status as status_mod
from inventory_migration.migrationctl.records import FILES_VERIFY_RECORD, VERIFY_RECORD

RUNNING = ("running", "starting", "resuming")


def cmd_status(ctx: Context) -> ExitCode:
    outputs = ctx.stack_outputs()
    parts = [status_mod.phase(outputs)]
    tasks = [(label, str(outputs[o.value])) for label, o in DMS_TASK_OUTPUTS if outputs.get(o.value)]
    if tasks:
        dms, cloudwatch = ctx.client("dms"), ctx.client("cloudwatch")
        parts += [status_mod.dms_task(dms, cloudwatch, label, arn) for label, arn in tasks]
    source = ctx.source()
    if source or ctx.args.source_dsn:
        parts.append(status_mod.slots(source))
        if ctx.args.publish_metrics:
            forward = str(outputs.get(StackOutput.DMS_TASK_ARN.value) or "")
            parts.append(status_mod.publish_slot_wal(ctx.client("cloudwatch"), forward, parts[-1]))
    elif ctx.args.publish_metrics:
        raise UsageError("--publish-metrics needs the source (SOURCE or --source-dsn): it publishes the WAL its slots keep")
    with ctx.state() as state:
        parts.append(status_mod.record(state, VERIFY_RECORD, "verify", time.time))
        parts.append(status_mod.record(state, FILES_VERIFY_RECORD, "files verify", time.time))
        parts.append(status_mod.journals(state))
        parts.append(status_mod.holders(state, time.time))
    ctx.emit(
        {"parts": [{"name": p.name, "ok": p.ok, "text": p.text, **p.data} for p in parts]},
        "\n".join(("  " if p.ok is not False else "! ") + p.text for p in parts),
    )
    return ExitCode.FINDINGS if any(p.ok is False for p in parts) else ExitCode.OK


def cmd_cleanup(ctx: Context) -> ExitCode:
    a = ctx.args
    outputs = ctx.stack_outputs()
    arns = [str(outputs[o.value]) for _label, o in DMS_TASK_OUTPUTS if outputs.get(o.value)] + list(a.task_arn or ())
    if a.apply and arns:
        dms = ctx.client("dms")
        for arn in arns:
            found = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])
            running = [t["ReplicationTaskIdentifier"] for t in found.get("ReplicationTasks", []) if t["Status"] in RUNNING]
            if running:
                raise UsageError(f"DMS task {running[0]} is still running: stop it (phase decommission) before cleanup --apply")
    from inventory_migration.migrationctl.db import connection

    slots = tuple(a.slot or ())
    actions, left = [], []
    for side, dsn in (("source", ctx.source()), ("target", ctx.target())):
        with connection(dsn, side) as conn:
            found = cleanup_mod.plan(conn, side, slots=slots)
            left += [f"{side}: {slot}" for slot in cleanup_mod.others(conn, slots=slots)]
            if a.apply:
                cleanup_mod.apply(conn, found)
            actions += found
    verb = "dropped" if a.apply else "would drop (dry run; --apply to act)"
    objects = list(dict.fromkeys((x.side, x.what) for x in actions))
    lines = [f"{verb}: {len(objects)} object(s)"] + [f"  {side}: {what}" for side, what in objects]
    if left:
        lines.append("left alone (not named as the migration's; --slot NAME to drop): " + "; ".join(left))
    ctx.emit(
        {"applied": a.apply, "objects": [{"side": side, "what": what} for side, what in objects], "left_alone": left},
        "\n".join(lines),
    )
    return ExitCode.OK


def register(sub: SubParsers) -> None:
    """``status`` and ``cleanup``."""
    p = sub.add_parser("status", help="one screen: phase, DMS tasks and tables, lag, verify records, journals")
    both_args(p)
    p.add_argument("--stack-outputs", type=Path, help="`terraform output -json` (phase, DMS tasks)")
    state_arg(p, "where the records and journals are")
    p.add_argument(
        "--publish-metrics",
        action="store_true",
        help="publish the WAL the source's slots keep to CloudWatch (the stack's source-slot-wal alarm); "
        "run it every minute during the rollback window",
    )
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("cleanup", help="after decommission: drop the migration's slots, publications, fence and DMS objects")
    both_args(p)
    p.add_argument("--stack-outputs", type=Path, help="`terraform output -json` (to refuse while a DMS task runs)")
    p.add_argument("--task-arn", action="append", help="a DMS task that must not be running (repeatable)")
    p.add_argument("--slot", action="append", help="another slot that is the migration's (DMS's own, as status lists it)")
    p.add_argument("--apply", action="store_true", help="drop them (default: a dry run that lists them)")
    p.set_defaults(handler=cmd_cleanup)
