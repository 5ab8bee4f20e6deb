"""``migrationctl resume-changes``: the forward task applies the changes it cached after post-data.

The command's arguments (:func:`register`) and its plumbing (:func:`run`); the work is in the modules it calls."""

from __future__ import annotations

import dataclasses

from inventory_migration.contracts.names import task_resource_id
from inventory_migration.migrationctl.arguments import SubParsers
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.database import dms_task
from inventory_migration.migrationctl.errors import ExitCode, UsageError


def run(ctx: Context) -> ExitCode:
    try:
        task_resource_id(ctx.args.task_arn)
    except ValueError as error:
        raise UsageError(str(error)) from None
    result = dms_task.resume(ctx.client("dms"), ctx.args.task_arn)
    ctx.emit(dataclasses.asdict(result), result.line())
    return ExitCode.OK


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "resume-changes", help="after schema post-data: the forward DMS task applies the changes cached since its full load"
    )
    p.add_argument("--task-arn", required=True, help="the forward DMS task's ARN (stack output dms_task_arn)")
    p.set_defaults(handler=run)
