"""``migrationctl preflight``: is the source ready for DMS full load + CDC, and (``--dms``) can DMS reach every endpoint?

The command's arguments (:func:`register`) and its plumbing (:func:`run`); the work is in the modules it calls."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from inventory_migration.config import load_config
from inventory_migration.contracts.outputs import DMS_TASK_OUTPUTS, StackOutput
from inventory_migration.migrationctl.arguments import SubParsers, positive_int, source_arg
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.database import account_roles, dms_connections, dms_data, dms_secrets
from inventory_migration.migrationctl.database import preflight as preflight_mod
from inventory_migration.migrationctl.db import TARGET_ENV, connection
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.output import table
from inventory_migration.migrationctl.pg import privileges


def run(ctx: Context) -> ExitCode:
    a = ctx.args
    if a.skip_source and not (a.dms or a.account_roles):
        raise UsageError("--skip-source leaves nothing to check without --dms or --account-roles")
    payload: dict[str, Any] = {}
    lines: list[str] = []
    failing = False
    if not a.skip_source:
        supported = preflight_mod.load_extension_list(a.supported_extensions)
        rules = _task_rules(ctx)
        lines.append(f"DMS task rules from {rules.source}: limited LOB size {rules.lob_max_size_kb} KB")
        with connection(ctx.source(), "source", read_only=True) as conn:
            findings = preflight_mod.run_preflight(conn, supported)
            findings += dms_data.run_data_checks(conn, rules=rules, lob_sizes=not a.skip_lob_sizes)
        findings.sort(key=lambda f: list(preflight_mod.Severity).index(f.severity))
        blockers = [f for f in findings if f.severity is preflight_mod.Severity.BLOCKER]
        warnings = [f for f in findings if f.severity is preflight_mod.Severity.WARNING]
        lines.append(
            table(
                [f.to_dict() | {"details": len(f.details) or ""} for f in findings], ["severity", "check", "message", "details"]
            )
        )
        for f in findings:
            if f.details and f.severity is not preflight_mod.Severity.INFO:
                lines.append(f"\n{f.check}:")
                lines += [f"  - {d}" for d in f.details]
        verdict = "NOT READY" if blockers else ("READY with warnings" if warnings else "READY")
        lines.append(f"\n{verdict}: {len(blockers)} blocker(s), {len(warnings)} warning(s)")
        payload.update({"ready": not blockers, "findings": [f.to_dict() for f in findings]})
        failing = bool(blockers or (warnings if a.fail_on == "warning" else []))
    if a.privileges:
        found, unnamed = _privileges(ctx)
        rows = [
            {"side": f.need.side, "user": f"{f.need.who} {f.role}", "needs": f.need.what, "ok": "yes" if f.ok else "NO"}
            for f in found
        ]
        lines.append("\nprivileges (docs/migrationctl.md, 'What the switch needs'):")
        lines.append(table(rows, ["side", "user", "needs", "ok"]))
        lines += [f"  missing: {f.line}" for f in found if not f.ok]
        if unnamed:
            lines.append("  not checked, named neither by a flag nor by a secret in --stack-outputs: " + "; ".join(unnamed))
        payload["privileges"] = [r | {"ok": f.ok, "why": f.need.why} for r, f in zip(rows, found, strict=True)]
        payload["privileges_not_checked"] = unnamed
        failing |= not all(f.ok for f in found)
    if a.account_roles:
        create = load_config(a.env).dms.create_account_roles
        found_roles = account_roles.check_account_roles(ctx.client("iam"), create=create)
        lines.append(f"\nDMS account roles (dms.create_account_roles = {str(create).lower()}):")
        lines += [f"  {f.severity.value}: {f.message}" for f in found_roles]
        payload["account_roles"] = [f.to_dict() for f in found_roles]
        failing |= any(f.severity is preflight_mod.Severity.BLOCKER for f in found_roles)
    if a.dms:
        results = _dms_connections(ctx)
        rows = [dataclasses.asdict(r) for r in results]
        lines.append("\nDMS connection tests (from the replication instance):")
        lines.append(table(rows, ["role", "endpoint", "engine", "status", "message"]))
        payload["dms_connections"] = rows
        failing |= not all(r.ok for r in results)
    ctx.emit(payload, "\n".join(lines))
    return ExitCode.FINDINGS if failing else ExitCode.OK


def _privileges(ctx: Context) -> tuple[list[privileges.Finding], list[str]]:
    """The privilege table's rows for the migration user (this connection) on both sides and for the DMS users: each
    named by its flag, else by the ``username`` in its endpoint's secret (``--stack-outputs``); a user named nowhere is
    not checked, and said so."""
    a = ctx.args
    outputs = ctx.stack_outputs()

    def user(flag: str | None, endpoint: dms_secrets.Endpoint) -> str:
        if flag:
            return flag
        arn = str(outputs.get(endpoint.output.value) or "")
        return dms_secrets.username(ctx.client("secretsmanager"), arn) if arn else ""

    forward_source = user(a.dms_source_user, dms_secrets.Endpoint.SOURCE)
    forward_target = user(a.dms_target_user, dms_secrets.Endpoint.TARGET)
    reverse = user(a.reverse_user, dms_secrets.Endpoint.REVERSE_TARGET)
    with connection(ctx.source(), "source", read_only=True) as conn:
        found = privileges.check(conn, "source", forward_user=forward_source, reverse_user=reverse)
    with connection(ctx.target(), "target", read_only=True) as conn:
        found += privileges.check(conn, "target", forward_user=forward_target)
    unnamed = [
        what
        for what, name in (
            ("the forward DMS user on the source (--dms-source-user)", forward_source),
            ("the forward DMS user on the target (--dms-target-user)", forward_target),
            ("the reverse DMS user (--reverse-user)", reverse),
        )
        if not name
    ]
    return found, unnamed


def _task_rules(ctx: Context) -> dms_data.TaskRules:
    """The forward task's own rules when the task is known (the stack outputs' forward task, else the first
    ``--task-arn``): the data is checked against what is deployed, not against a flag that may have drifted."""
    a = ctx.args
    outputs = ctx.stack_outputs()
    arn = str(outputs.get(StackOutput.DMS_TASK_ARN.value) or "") or next(iter(a.task_arn or []), "")
    if not arn:
        return dms_data.TaskRules(lob_max_size_kb=a.lob_max_size_kb, source="--lob-max-size-kb, every table taken")
    found = ctx.client("dms").describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])
    tasks = found.get("ReplicationTasks") or []
    if not tasks:
        raise UsageError(f"--task-arn/--stack-outputs: no DMS task {arn}")
    return dms_data.rules_of_task(tasks[0])


def _dms_connections(ctx: Context) -> list[dms_connections.ConnectionResult]:
    a = ctx.args
    outputs = ctx.stack_outputs()
    tasks = [(direction, str(outputs.get(output.value) or "")) for direction, output in DMS_TASK_OUTPUTS]
    tasks = [(direction, arn) for direction, arn in tasks if arn] + [("task", arn) for arn in a.task_arn or []]
    if not tasks:
        raise UsageError("--dms needs the tasks: --stack-outputs (terraform output -json) or --task-arn")
    dms = ctx.client("dms")
    return dms_connections.test_connections(dms, dms_connections.endpoints_of(dms, tasks), timeout=a.dms_timeout)


def register(sub: SubParsers) -> None:
    p = sub.add_parser("preflight", help="is the source ready for DMS full load + CDC? (--dms: can DMS reach every endpoint?)")
    source_arg(p)
    p.add_argument(
        "--dms",
        action="store_true",
        help="also have DMS test every endpoint of the tasks from its replication instance (TestConnection)",
    )
    p.add_argument(
        "--stack-outputs",
        type=Path,
        help="`terraform output -json` naming the tasks: the data is checked against the forward task's own LOB size "
        "and table mappings (and, with --dms, its endpoints tested)",
    )
    p.add_argument(
        "--task-arn",
        action="append",
        help="a task: the first one's LOB size and table mappings for the data checks; with --dms, endpoints to test "
        "(repeatable)",
    )
    p.add_argument(
        "--account-roles",
        action="store_true",
        help="before the first apply: do the account's dms-vpc-role and dms-cloudwatch-logs-role agree with "
        "dms.create_account_roles of --env (IAM GetRole)?",
    )
    p.add_argument("--env", help="with --account-roles: the environment file (default: $MIGRATION_ENV, then dev)")
    p.add_argument("--dms-timeout", type=float, default=600.0, help="with --dms: seconds to wait for the tests (default: 600)")
    p.add_argument("--skip-source", action="store_true", help="with --dms or --account-roles: only those, no source checks")
    p.add_argument("--supported-extensions", type=Path, help="file listing the extensions the target supports, one per line")
    p.add_argument(
        "--privileges",
        action="store_true",
        help="check the privilege table (docs/migrationctl.md) on both sides: this user, and the DMS users named by "
        "the flags below or by their endpoints' secrets (--stack-outputs); needs the target",
    )
    p.add_argument(
        "--target-dsn", metavar="TARGET_DSN", help=f"with --privileges: the target (default: ${TARGET_ENV}, then libpq's)"
    )
    p.add_argument("--dms-source-user", help="with --privileges: the forward task's on-prem user (default: from its secret)")
    p.add_argument("--dms-target-user", help="with --privileges: the forward task's Aurora user (default: from its secret)")
    p.add_argument("--reverse-user", help="with --privileges: the reverse task's on-prem user (default: from its secret)")
    p.add_argument(
        "--lob-max-size-kb",
        type=positive_int,
        default=dms_data.DEFAULT_LOB_MAX_SIZE_KB,
        help="without a task (--stack-outputs, --task-arn): the configured dms.lob_max_size_kb the largest LOB values are "
        f"held against (default: {dms_data.DEFAULT_LOB_MAX_SIZE_KB})",
    )
    p.add_argument(
        "--skip-lob-sizes", action="store_true", help="do not read the largest value of every LOB column (a scan per table)"
    )
    p.add_argument(
        "--fail-on", choices=["blocker", "warning"], default="blocker", help="which findings exit 1 (default: blocker)"
    )
    p.set_defaults(handler=run)
