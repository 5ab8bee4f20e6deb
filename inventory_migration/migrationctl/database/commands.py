"""The database commands' plumbing: their arguments, and their results rendered through the one output path."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from inventory_migration.contracts.environment import Variable
from inventory_migration.contracts.names import task_resource_id
from inventory_migration.contracts.outputs import DMS_TASK_OUTPUTS, StackOutput
from inventory_migration.migrationctl.arguments import SubParsers, both_args, comma_list, positive_int, source_arg, state_arg
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.database import dms_connections, dms_data, dms_secrets, dms_task, post_data
from inventory_migration.migrationctl.database import params as params_mod
from inventory_migration.migrationctl.database import preflight as preflight_mod
from inventory_migration.migrationctl.database import roles as roles_mod
from inventory_migration.migrationctl.database import schema as schema_mod
from inventory_migration.migrationctl.database import verify as verify_mod
from inventory_migration.migrationctl.db import SOURCE_ENV, TARGET_ENV, connection, resolve_dsn
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.output import table
from inventory_migration.migrationctl.pg import fence, identities, privileges
from inventory_migration.migrationctl.pg import lag as lag_mod
from inventory_migration.migrationctl.pg import sequences as sequences_mod
from inventory_migration.migrationctl.pg.chunks import DEFAULT_CHUNK_ROWS, Table
from inventory_migration.migrationctl.pg.fence import FENCE
from inventory_migration.migrationctl.pg.objects import user_schemas
from inventory_migration.migrationctl.records import VERIFY_RECORD

"""The tasks ``preflight --dms`` tests the endpoints of, by the stack output that names each."""


def cmd_preflight(ctx: Context) -> ExitCode:
    a = ctx.args
    if a.skip_source and not a.dms:
        raise UsageError("--skip-source leaves nothing to check without --dms")
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


def cmd_params_export(ctx: Context) -> ExitCode:
    with connection(ctx.source(), "source", read_only=True) as conn:
        result = params_mod.export(conn, ctx.args.target_major)
    text = result.to_toml()
    if ctx.args.write:
        Path(ctx.args.write).write_text(text, encoding="utf-8")
        text = f"wrote {len(result.parameters)} parameter(s), {len(result.skipped)} skipped, to {ctx.args.write}"
    payload = {
        "target_major": result.target_major,
        "parameters": {p.name: p.value for p in result.parameters},
        "skipped": [{"name": s.name, "value": s.value, "reason": s.reason} for s in result.skipped],
    }
    ctx.emit(payload, text)
    return ExitCode.OK


def cmd_schema(ctx: Context) -> ExitCode:
    phase = schema_mod.Phase(ctx.args.phase)
    source_dsn, target_dsn = ctx.source(), ctx.target()
    with connection(source_dsn, "source", read_only=True) as source, connection(target_dsn, "target") as target:
        schemas = tuple(ctx.args.schemas) if ctx.args.schemas else tuple(user_schemas(source))
        with tempfile.TemporaryDirectory(prefix="migrationctl-") as tmp:
            archive = Path(tmp) / "schema.dump"
            schema_mod.dump(source_dsn, archive, schemas)
            plan = schema_mod.plan(phase, archive, source, target)
            if phase is schema_mod.Phase.POST_DATA:
                return _post_data(ctx, plan, post_data.objects(plan, archive, source, target), target_dsn)
            if not ctx.args.dry_run:
                schema_mod.apply(plan, archive, target_dsn)
        pre_data = phase is schema_mod.Phase.PRE_DATA
        fences = _fence_tables(source_dsn, target, dry_run=ctx.args.dry_run) if pre_data else []
        handed = _identities_to_replication(source_dsn, target, dry_run=ctx.args.dry_run) if pre_data else []
    summary = plan.summary() | {
        "dry_run": ctx.args.dry_run,
        "fence_created_on": fences,
        "identity_by_default_on_target": [str(c) for c in handed],
    }
    verb = "would restore" if ctx.args.dry_run else "restored"
    lines = [f"{phase.value}: {verb} {len(plan.restore)} object(s); {len(plan.already_present)} already on the target"]
    if fences:
        lines.append(
            f"  the cutover's fence table {FENCE}: {'would be ' if ctx.args.dry_run else ''}created on the {' and '.join(fences)}"
        )
    if handed:
        lines.append(
            f"  {len(handed)} GENERATED ALWAYS identity column(s) {'would be ' if ctx.args.dry_run else ''}GENERATED BY "
            "DEFAULT on the target until the cutover (DMS writes their values): " + ", ".join(map(str, handed))
        )
    lines += [f"  {item}" for item in summary["restored"]]  # type: ignore[attr-defined]
    ctx.emit(summary, "\n".join(lines))
    return ExitCode.OK


def _post_data(ctx: Context, plan: schema_mod.SchemaPlan, work: list[post_data.PostDataObject], target_dsn: str) -> ExitCode:
    """Post-data by object, ``--jobs`` at a time (:mod:`.post_data`); exit 1 naming what failed or conflicts."""
    if ctx.args.dry_run:
        outcomes = [post_data.Outcome(label=o.label, action=o.action, seconds=0.0) for o in work]
    else:

        def report(progress: post_data.Progress) -> None:
            if not ctx.args.no_progress:
                ctx.err.write(progress.line() + "\n")
                ctx.err.flush()

        outcomes = post_data.Runner(target_dsn, ctx.args.jobs, report).run(work)
    payload, text = post_data.summary(outcomes, jobs=ctx.args.jobs, dry_run=ctx.args.dry_run)
    ctx.emit(payload, text)
    return ExitCode.FINDINGS if payload["failed"] else ExitCode.OK


def _fence_tables(source_dsn: str, target: psycopg.Connection, *, dry_run: bool) -> list[str]:
    """The cutover's fence table (:mod:`..pg.fence`) on both sides, before the load starts (DMS picks up the tables
    that exist when its task starts); the sides it was (or would be) created on."""
    with connection(source_dsn, "source") as source:
        sides = {"source": source, "target": target}
        if dry_run:
            return [side for side, conn in sides.items() if not fence.exists(conn)]
        return [side for side, conn in sides.items() if fence.ensure(conn)]


def _identities_to_replication(source_dsn: str, target: psycopg.Connection, *, dry_run: bool) -> list[identities.Column]:
    """The target is written by DMS until the cutover: its GENERATED ALWAYS identity columns become BY DEFAULT
    (:mod:`.identities`); the columns concerned."""
    with connection(source_dsn, "source", read_only=dry_run) as source:
        if dry_run:
            on_target = identities.identity_columns(target)
            return sorted(
                c for c, kind in identities.identity_columns(source).items() if kind == identities.ALWAYS and c in on_target
            )
        return identities.hand_over(writer=source, replica=target)


def cmd_sequences_sync(ctx: Context) -> ExitCode:
    with connection(ctx.source(), "source", read_only=True) as source, connection(ctx.target(), "target") as target:
        plan = sequences_mod.plan_sync(sequences_mod.positions(source), sequences_mod.positions(target), ctx.args.gap)
        if not ctx.args.dry_run:
            sequences_mod.apply_sync(target, plan)
    rows = [
        {"sequence": p.sequence, "source": p.source_value, "target": p.target_value, "new": p.new_value, "action": p.action}
        for p in plan
    ]
    missing = [p for p in plan if p.action == sequences_mod.MISSING]
    text = table(rows, ["sequence", "source", "target", "new", "action"])
    if ctx.args.dry_run:
        text += "\n(dry run: nothing changed)"
    ctx.emit({"sequences": rows, "dry_run": ctx.args.dry_run}, text)
    return ExitCode.FINDINGS if missing else ExitCode.OK


def _settle(source_dsn: str, target_dsn: str, timeout: float) -> Callable[[], None]:
    """``verify --live``: a fence row on the source, waited for on the target (:mod:`..pg.fence`)."""

    def settle() -> None:
        token = f"verify@{time.time():.6f}"
        with connection(source_dsn, "source") as source, connection(target_dsn, "target", read_only=True) as target:
            fence.write(source, token, "source")
            try:
                fence.wait_visible(target, token, timeout)
            except fence.FenceTimeout:
                raise UsageError(
                    f"--live: replication did not apply a fence row within {timeout:.0f} s: is it running? (`migrationctl lag`)"
                ) from None

    return settle


def cmd_verify(ctx: Context) -> ExitCode:
    a = ctx.args
    source_dsn, target_dsn = ctx.source(), ctx.target()
    request = verify_mod.VerifyRequest(
        source_dsn=source_dsn,
        target_dsn=target_dsn,
        schemas=a.schemas or (),
        tables=a.tables or (),
        schema_only=a.schema_only,
        data_only=a.data_only,
        chunk_rows=a.chunk_rows,
        jobs=a.jobs,
        settle=_settle(source_dsn, target_dsn, a.settle_timeout) if a.live else None,
        rounds=a.rounds,
        app_roles=a.app_roles or (),
    )

    with ctx.state() as state_dir:

        def checkpoint_for(tables: list[Table]) -> Path:
            path = (
                Path(a.state_file)
                if a.state_file
                else state_dir / verify_mod.checkpoint_name(request.source_dsn, request.target_dsn, tables)
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            if a.restart:
                path.unlink(missing_ok=True)
            return path

        with ctx.progress("verify", unit="segment", total=0) as bar:

            def planned(total: int) -> None:
                bar.total = total
                bar.refresh()

            report = verify_mod.run(request, checkpoint_for=checkpoint_for, progress=bar.update, on_planned=planned)
        if request.full:
            verify_mod.write_record(state_dir / VERIFY_RECORD, report, request.source_dsn, request.target_dsn)
    ctx.emit(report.to_dict(), verify_mod.render(report, schema_checked=not a.data_only, data_checked=not a.schema_only))
    return ExitCode.OK if report.equal else ExitCode.FINDINGS


def cmd_lag(ctx: Context) -> ExitCode:
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


def cmd_resume_changes(ctx: Context) -> ExitCode:
    try:
        task_resource_id(ctx.args.task_arn)
    except ValueError as error:
        raise UsageError(str(error)) from None
    result = dms_task.resume(ctx.client("dms"), ctx.args.task_arn)
    ctx.emit(dataclasses.asdict(result), result.line())
    return ExitCode.OK


def cmd_roles_copy(ctx: Context) -> ExitCode:
    a = ctx.args
    with connection(ctx.source(), "source", read_only=True) as source, connection(ctx.target(), "target") as target:
        plan = roles_mod.plan(
            roles_mod.read(source), roles_mod.read(target), roles_mod.read_objects(target), app_roles=a.app_roles or ()
        )
        text_lines = [s.as_string(target) for s in roles_mod.statements(plan)]
        failed = roles_mod.apply(target, plan) if a.apply and not plan.empty else []
    counts = (
        f"{len(plan.roles)} role(s), {len(plan.memberships)} membership(s), {len(plan.grants)} grant(s), "
        f"{len(plan.defaults)} default privilege(s)"
    )
    if a.apply:
        head = f"roles copy: carried {counts}" + (f"; {len(failed)} statement(s) failed" if failed else "")
    else:
        head = f"roles copy: the target lacks {counts}" + (" (run with --apply to carry them)" if not plan.empty else "")
    lines = [head, *(f"  {line}" for line in text_lines)]
    lines += [f"  FAILED {statement}: {error}" for statement, error in failed]
    if plan.held_back:
        lines.append(f"held back until the cutover opens Aurora (the application's table writes): {len(plan.held_back)}")
    if plan.not_carried:
        lines.append("not carried (Aurora gives them to no one): " + "; ".join(plan.not_carried))
    logins = [r.name for r in plan.roles if r.login]
    if logins:
        lines.append(
            "created without a password: set one (ALTER ROLE ... PASSWORD) or GRANT rds_iam for IAM authentication: "
            + ", ".join(logins)
        )
    payload = plan.to_dict() | {"applied": a.apply, "failed": [{"statement": s_, "error": e} for s_, e in failed]}
    ctx.emit(payload, "\n".join(lines))
    return ExitCode.FINDINGS if failed or (not a.apply and not plan.empty) else ExitCode.OK


REVERSE_ENV = Variable.MIGRATION_REVERSE_DSN
"""``secret fill reverse-target``'s default DSN: the on-prem role the way back writes as."""
APP_ENV = Variable.MIGRATION_APP_DSN
"""``secret fill app``'s default DSN: the application role's connection to Aurora."""
DSN_ENV = {
    dms_secrets.Endpoint.SOURCE: SOURCE_ENV,
    dms_secrets.Endpoint.TARGET: TARGET_ENV,
    dms_secrets.Endpoint.REVERSE_TARGET: REVERSE_ENV,
    dms_secrets.Endpoint.APP: APP_ENV,
}


def cmd_secret_fill(ctx: Context) -> ExitCode:
    a = ctx.args
    endpoint = dms_secrets.Endpoint(a.endpoint)
    arn = a.secret_arn or ctx.stack_outputs().get(endpoint.output.value)
    if not arn:
        raise UsageError(
            f"the {endpoint.value} secret is not known: give --stack-outputs (output {endpoint.output.value}) or --secret-arn"
        )
    dsn = resolve_dsn(a.dsn, DSN_ENV[endpoint])
    values = dms_secrets.credentials(dsn, endpoint.value, host=a.host or "")
    if a.dry_run:
        filled = dms_secrets.Filled(endpoint, str(arn), values["username"], values["host"], values["port"])
    else:
        filled = dms_secrets.fill(ctx.client("secretsmanager"), endpoint, str(arn), values)
    verb = "would fill" if a.dry_run else "filled"
    ctx.emit(
        {
            "endpoint": endpoint.value,
            "secret_arn": filled.secret_arn,
            "username": filled.username,
            "host": filled.host,
            "port": filled.port,
            "dry_run": a.dry_run,
        },
        f"{verb} the {endpoint.value} secret {filled.secret_arn}: username {filled.username}, host {filled.host}, "
        f"port {filled.port} (the password the connection used; not shown)",
    )
    return ExitCode.OK


def register(sub: SubParsers) -> None:
    """``preflight``, ``secret fill``, ``params export``, ``schema pre-data|post-data``, ``sequences sync``, ``verify``,
    ``lag``."""
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
    p.add_argument("--dms-timeout", type=float, default=600.0, help="with --dms: seconds to wait for the tests (default: 600)")
    p.add_argument("--skip-source", action="store_true", help="with --dms: only the DMS tests, no source checks")
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
    p.set_defaults(handler=cmd_preflight)

    secret = sub.add_parser("secret", help="DMS endpoint secrets").add_subparsers(
        dest="secret_command", required=True, metavar="ACTION"
    )
    p = secret.add_parser(
        "fill", help="put a working connection's credentials into a DMS endpoint's secret (or the application's: app)"
    )
    p.add_argument("endpoint", choices=[e.value for e in dms_secrets.Endpoint], help="whose secret")
    p.add_argument(
        "dsn",
        nargs="?",
        metavar="DSN",
        help=f"connection string (default: ${SOURCE_ENV}, ${TARGET_ENV} or ${REVERSE_ENV}, by endpoint)",
    )
    p.add_argument("--stack-outputs", type=Path, help="`terraform output -json` naming the secret")
    p.add_argument("--secret-arn", help="the secret (default: its stack output)")
    p.add_argument("--host", help="the host DMS should use, when it differs from this machine's (default: the DSN's)")
    p.add_argument("--dry-run", action="store_true", help="connect and show what would be written; write nothing")
    p.set_defaults(handler=cmd_secret_fill)

    params = sub.add_parser("params", help="source parameters").add_subparsers(
        dest="params_command", required=True, metavar="ACTION"
    )
    p = params.add_parser("export", help="write the Aurora cluster parameters that mirror the source")
    source_arg(p)
    p.add_argument(
        "--target-major",
        type=int,
        default=params_mod.DEFAULT_TARGET_MAJOR,
        help=f"Aurora PostgreSQL major of the target (default: {params_mod.DEFAULT_TARGET_MAJOR})",
    )
    p.add_argument("--write", metavar="FILE", help="write the TOML fragment to FILE instead of standard output")
    p.set_defaults(handler=cmd_params_export)

    schema = sub.add_parser("schema", help="copy the schema around the DMS full load").add_subparsers(
        dest="phase", required=True, metavar="PHASE"
    )
    for phase, help_text in (
        ("pre-data", "before the load: types, tables, primary keys, functions, procedures, views"),
        ("post-data", "after the load: secondary indexes, constraints, triggers"),
    ):
        p = schema.add_parser(phase, help=help_text)
        both_args(p)
        p.add_argument("--schemas", type=comma_list, help="schemas to copy (default: every user schema)")
        p.add_argument("--dry-run", action="store_true", help="show what would be restored")
        if phase == "post-data":
            p.add_argument(
                "--jobs",
                type=positive_int,
                default=post_data.DEFAULT_JOBS,
                help="sessions building indexes and validating keys at once, one object per transaction "
                f"(default: {post_data.DEFAULT_JOBS})",
            )
        p.set_defaults(handler=cmd_schema)

    seqs = sub.add_parser("sequences", help="sequence positions").add_subparsers(
        dest="seq_command", required=True, metavar="ACTION"
    )
    p = seqs.add_parser("sync", help="set target sequences to the source position plus a gap (at cutover)")
    both_args(p)
    p.add_argument(
        "--gap",
        type=int,
        default=sequences_mod.DEFAULT_GAP,
        help=f"safety gap added to each position (default: {sequences_mod.DEFAULT_GAP})",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be set")
    p.set_defaults(handler=cmd_sequences_sync)

    p = sub.add_parser("verify", help="prove target = source: schema and data parity")
    both_args(p)
    p.add_argument(
        "--app-roles",
        type=comma_list,
        help="the application's roles (as given to roles copy): their table writes held back on the target until the "
        "cutover are not differences",
    )
    p.add_argument("--tables", type=comma_list, help="only these tables (schema.table, comma-separated)")
    p.add_argument("--schemas", type=comma_list, help="schemas to compare (default: every user schema of the source)")
    p.add_argument("--jobs", type=positive_int, default=max(1, (os.cpu_count() or 2) // 2), help="segments compared at once")
    p.add_argument("--chunk-rows", type=positive_int, default=DEFAULT_CHUNK_ROWS, help="rows per hashed chunk")
    p.add_argument("--state-file", help="checkpoint file for resuming (default: in the local state directory)")
    state_arg(p, "where the verdict the cutover's gate reads is recorded")
    p.add_argument("--restart", action="store_true", help="ignore the checkpoint and compare everything again")
    p.add_argument(
        "--live",
        action="store_true",
        help="both databases are live under replication: rows that differ are looked at again once the target has "
        "applied a fence row written on the source (needs INSERT on migration_control.fence there)",
    )
    p.add_argument(
        "--rounds", type=positive_int, default=3, help="with --live: re-checks before a difference stands (default: 3)"
    )
    p.add_argument(
        "--settle-timeout", type=float, default=120.0, help="with --live: seconds to wait for each fence row (default: 120)"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--schema-only", action="store_true", help="compare the schema only")
    mode.add_argument("--data-only", action="store_true", help="compare the data only")
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser(
        "resume-changes", help="after schema post-data: the forward DMS task applies the changes cached since its full load"
    )
    p.add_argument("--task-arn", required=True, help="the forward DMS task's ARN (stack output dms_task_arn)")
    p.set_defaults(handler=cmd_resume_changes)

    roles = sub.add_parser("roles", help="roles and grants").add_subparsers(dest="roles_command", required=True, metavar="ACTION")
    p = roles.add_parser(
        "copy",
        help="roles, memberships, grants and default privileges of the user's schemas, source to target "
        "(without --apply: compare, exit 1 while the target lacks something)",
    )
    both_args(p)
    p.add_argument("--app-roles", type=comma_list, help="the application's roles: read-only on the target until the cutover")
    p.add_argument("--apply", action="store_true", help="carry what the target lacks (default: only list it)")
    p.set_defaults(handler=cmd_roles_copy)

    p = sub.add_parser("lag", help="replication lag: source slot and DMS CloudWatch metrics")
    source_arg(p)
    p.add_argument("--task-arn", help="DMS task ARN (its last segment is the CloudWatch task dimension)")
    p.add_argument("--skip-source", action="store_true", help="only read DMS metrics")
    p.add_argument("--max-seconds", type=float, help="exit 1 if DMS total latency exceeds this")
    p.add_argument("--max-bytes", type=int, help="exit 1 if a slot's confirmed lag exceeds this")
    p.set_defaults(handler=cmd_lag)
