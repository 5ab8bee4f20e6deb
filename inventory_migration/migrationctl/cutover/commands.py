"""``migrationctl cutover`` and ``migrationctl rollback``: arguments, and the wiring of :mod:`.steps` to the databases,
the replication backend and AWS.

Everything AWS comes from ``terraform output -json`` of the deployed stack (``--stack-outputs``), each value
overridable by its own flag; boto3 takes its endpoint from ``AWS_ENDPOINT_URL`` when set (the rehearsal's emulator).
Every default shown here is :class:`.settings.Settings`'s (or the stack's, for the reverse slot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inventory_migration.config.base import field_default
from inventory_migration.contracts.names import REVERSE_SLOT_NAME
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.arguments import SubParsers, both_args, comma_list, positive_int, state_arg
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.cutover import operations, steps
from inventory_migration.migrationctl.cutover.journal import ABORTED, DONE, Journal
from inventory_migration.migrationctl.cutover.replication import DmsReplication, NativeReplication, ReplicationBackend
from inventory_migration.migrationctl.cutover.settings import CutoverAborted, GatesFailed, PostconditionFailed, Settings
from inventory_migration.migrationctl.cutover.switch import Listener
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.state import DEFAULT_LEASE_SECONDS, LockHeld

OUTPUT_FLAGS: dict[str, StackOutput] = {
    "listener_arn": StackOutput.HTTPS_LISTENER_ARN,
    "blue_target_group_arn": StackOutput.BLUE_TARGET_GROUP_ARN,
    "green_target_group_arn": StackOutput.GREEN_TARGET_GROUP_ARN,
    "forward_task_arn": StackOutput.DMS_TASK_ARN,
    "reverse_task_arn": StackOutput.DMS_REVERSE_TASK_ARN,
    "cutover_alarm": StackOutput.CUTOVER_BLOCKED_ALARM_NAME,
    "topic_arn": StackOutput.ALARM_TOPIC_ARN,
}
"""Flag (its argparse destination) -> the stack output it defaults to."""


def _default(name: str) -> Any:
    return field_default(Settings, name)


def _values(ctx: Context) -> dict[str, str]:
    a = ctx.args
    outputs = ctx.stack_outputs()
    return {flag: str(getattr(a, flag) or outputs.get(output.value) or "") for flag, output in OUTPUT_FLAGS.items()}


def _dms_user(ctx: Context, flag: str | None, secret: StackOutput) -> str:
    """A DMS task's database user: its flag, else the ``username`` of its endpoint's secret (``--stack-outputs``);
    the switches fence it (:mod:`.applier`)."""
    from inventory_migration.migrationctl.secrets import username

    if flag:
        return flag
    arn = str(ctx.stack_outputs().get(secret.value) or "")
    return username(ctx.client("secretsmanager"), arn) if arn else ""


def build_settings(ctx: Context, state_dir: Path | None = None) -> Settings:
    """The cutover/rollback settings from the parsed arguments; ``state_dir``: the local state (default: ``--state``)."""
    a = ctx.args
    values = _values(ctx)
    if not a.app_roles:
        raise UsageError("--app-roles is required: the database roles of the applications (frozen and opened)")
    listener_parts = (values["listener_arn"], values["blue_target_group_arn"], values["green_target_group_arn"])
    listener = None
    if all(listener_parts):
        listener = Listener(
            listener_arn=listener_parts[0], blue_target_group_arn=listener_parts[1], green_target_group_arn=listener_parts[2]
        )
    elif not a.no_load_balancer:
        raise UsageError(
            "the load balancer is not known: give --stack-outputs (terraform output -json) or --listener-arn, "
            "--blue-target-group-arn and --green-target-group-arn (or --no-load-balancer to switch only the databases)"
        )
    source_dsn, target_dsn = ctx.source(), ctx.target()
    backend: ReplicationBackend
    if a.backend == "native":
        backend = NativeReplication(
            source_dsn=source_dsn,
            target_dsn=target_dsn,
            source_dsn_for_target=a.source_dsn_for_target or "",
            target_dsn_for_source=a.target_dsn_for_source or "",
        )
    else:
        if not values["forward_task_arn"]:
            raise UsageError("--backend dms needs the forward task: --stack-outputs or --forward-task-arn")
        backend = DmsReplication(
            dms=ctx.client("dms"),
            cloudwatch=ctx.client("cloudwatch"),
            forward_task_arn=values["forward_task_arn"],
            reverse_task_arn=values["reverse_task_arn"],
            forward_slot=a.forward_slot or "",
            reverse_slot=a.reverse_slot,
        )
    dms = isinstance(backend, DmsReplication)
    return Settings(
        source_dsn=source_dsn,
        target_dsn=target_dsn,
        app_roles=tuple(a.app_roles),
        freeze_roles=tuple(a.freeze_roles or ()),
        exempt_roles=tuple(a.exempt_roles or ()),
        reverse_user=_dms_user(ctx, a.reverse_user, StackOutput.DMS_REVERSE_TARGET_SECRET_ARN) if dms else a.reverse_user or "",
        dms_target_user=_dms_user(ctx, a.dms_target_user, StackOutput.DMS_TARGET_SECRET_ARN) if dms else a.dms_target_user or "",
        backend=backend,
        state_dir=state_dir or Path(a.state),
        listener=listener,
        elbv2=ctx.client("elbv2") if listener is not None else None,
        cloudwatch=ctx.client("cloudwatch") if values["cutover_alarm"] else None,
        cutover_alarm=values["cutover_alarm"],
        sns=ctx.client("sns") if values["topic_arn"] else None,
        topic_arn=values["topic_arn"],
        drain_timeout=a.drain_timeout,
        catch_up_timeout=a.catch_up_timeout,
        max_lag_bytes=a.max_lag_bytes,
        max_lag_seconds=a.max_lag_seconds,
        verify_max_age_hours=a.verify_max_age_hours,
        require_files_verify=a.require_files_verify,
        sequence_gap=a.gap,
        verify_jobs=a.jobs,
        schemas=tuple(a.schemas or ()),
        say=ctx.say,
    )


def _summary(journal: Journal) -> dict[str, Any]:
    return {
        "operation": journal.operation,
        "status": journal.status,
        "journal": str(journal.path),
        "steps": journal.data["steps"],
        "facts": journal.facts,
    }


def _run(ctx: Context, operation: str) -> ExitCode:
    run = operations.cutover if operation == "cutover" else operations.rollback
    try:
        with ctx.state(lock_for="" if ctx.args.dry_run else operation) as state_dir:
            journal = run(build_settings(ctx, state_dir), dry_run=ctx.args.dry_run)
    except LockHeld as held:
        ctx.emit(
            {"operation": operation, "status": "refused", "failed": str(held), "log": ctx.log},
            f"{operation}: NOT STARTED, another run holds the state: {held}. Nothing changed.",
        )
        return ExitCode.FINDINGS
    except GatesFailed as failed:
        text = (
            f"{operation}: NOT RESUMED, gate(s) failed: {failed}. This run changed nothing; the {operation} stays where it "
            f"stopped (next: {failed.resumed_at}): clear the gate and run the same command again, or roll back."
            if failed.resumed_at
            else f"{operation}: NOT STARTED, gate(s) failed: {failed}. Nothing changed."
        )
        ctx.emit({"operation": operation, "status": "gates failed", "failed": str(failed), "log": ctx.log}, text)
        return ExitCode.FINDINGS
    except PostconditionFailed as stopped:
        ctx.emit(
            {"operation": operation, "status": "stopped", "failed": str(stopped), "log": ctx.log},
            f"{operation}: STOPPED: {stopped}. Nothing further changed: run the same command again to retry that step.",
        )
        return ExitCode.FINDINGS
    except CutoverAborted as aborted:
        ctx.emit(
            {"operation": operation, "status": ABORTED, "reason": str(aborted), "log": ctx.log},
            f"{operation}: ABORTED: {aborted}",
        )
        return ExitCode.ABORTED
    if ctx.json:
        ctx.emit(_summary(journal) | {"log": ctx.log, "dry_run": ctx.args.dry_run}, "")
    return exit_code(journal)


def exit_code(journal: Journal) -> ExitCode:
    """A finished operation's exit code: a cutover, or a rollback that switched back, is a success only when its
    switch-point verify said equal (an undo of a cutover that never switched has no verify)."""
    if journal.status != DONE:
        return ExitCode.OK
    steps_run = journal.data["steps"]
    verified = journal.operation == "cutover" or (journal.operation == "rollback" and "verify" in steps_run)
    if verified and steps_run.get("verify", {}).get("result", {}).get("equal") is not True:
        return ExitCode.SWITCHED_WITH_DIFFERENCES
    return ExitCode.OK


def cmd_cutover(ctx: Context) -> ExitCode:
    return _run(ctx, "cutover")


def cmd_rollback(ctx: Context) -> ExitCode:
    return _run(ctx, "rollback")


def register(sub: SubParsers) -> None:
    """``cutover`` and ``rollback``."""
    for name, help_text, handler in (
        (
            "cutover",
            "switch the applications to Aurora: " + ", ".join(steps.CUTOVER_STEPS) + " (resumable)",
            cmd_cutover,
        ),
        (
            "rollback",
            "switch back to on-prem: " + ", ".join(steps.ROLLBACK_STEPS) + " (resumable)",
            cmd_rollback,
        ),
    ):
        p = sub.add_parser(name, help=help_text)
        both_args(p)
        p.add_argument("--app-roles", type=comma_list, required=True, help="database roles of the applications, comma-separated")
        p.add_argument(
            "--freeze-roles",
            type=comma_list,
            help="other roles that write user tables (batch, cron): frozen with the applications, not opened on the other side",
        )
        p.add_argument(
            "--exempt-roles",
            type=comma_list,
            help="roles that write user tables and keep writing (a DBA superuser; the reverse DMS user on-prem)",
        )
        p.add_argument(
            "--reverse-user",
            help="the on-prem role the reverse DMS task writes as: its privileges (writes, session_replication_role) "
            "are a gate (default: not checked)",
        )
        p.add_argument(
            "--dms-target-user",
            help="the Aurora role the forward DMS task writes as and the reverse task reads as (the target endpoint's "
            "secret): its privileges are a gate (default: not checked)",
        )
        p.add_argument("--dry-run", action="store_true", help="print the plan and every gate's result; change nothing")
        p.add_argument(
            "--backend",
            choices=["dms", "native"],
            default="dms",
            help="replication in both directions: AWS DMS tasks, or PostgreSQL publication/subscription (default: dms)",
        )
        p.add_argument("--stack-outputs", type=Path, help="`terraform output -json` of the deployed stack")
        for flag, output, what in (
            ("--listener-arn", StackOutput.HTTPS_LISTENER_ARN, "HTTPS listener"),
            ("--blue-target-group-arn", StackOutput.BLUE_TARGET_GROUP_ARN, "blue target group"),
            ("--green-target-group-arn", StackOutput.GREEN_TARGET_GROUP_ARN, "green target group"),
        ):
            p.add_argument(flag, help=f"{what} (default: stack output {output.value})")
        p.add_argument("--no-load-balancer", action="store_true", help="switch the databases only (weights are moved by hand)")
        p.add_argument(
            "--forward-task-arn", help=f"DMS full-load-and-CDC task (default: stack output {StackOutput.DMS_TASK_ARN.value})"
        )
        p.add_argument(
            "--reverse-task-arn", help=f"DMS reverse task (default: stack output {StackOutput.DMS_REVERSE_TASK_ARN.value})"
        )
        p.add_argument("--forward-slot", help="DMS's replication slot on the source (default: the one test_decoding slot)")
        p.add_argument(
            "--reverse-slot",
            default=REVERSE_SLOT_NAME,
            help=f"slot on the target the reverse DMS task reads (config dms.reverse_slot_name; default: {REVERSE_SLOT_NAME})",
        )
        p.add_argument("--source-dsn-for-target", help="native: how the target server reaches the source (default: SOURCE_DSN)")
        p.add_argument("--target-dsn-for-source", help="native: how the source server reaches the target (default: TARGET_DSN)")
        p.add_argument(
            "--cutover-alarm",
            help=f"composite alarm that must be OK (default: stack output {StackOutput.CUTOVER_BLOCKED_ALARM_NAME.value})",
        )
        p.add_argument(
            "--topic-arn",
            help=f"SNS topic told about a switch-point difference (default: stack output {StackOutput.ALARM_TOPIC_ARN.value})",
        )
        p.add_argument(
            "--drain-timeout",
            type=float,
            default=_default("drain_timeout"),
            help=f"seconds to wait for replication to drain (default: {_default('drain_timeout'):g})",
        )
        p.add_argument(
            "--catch-up-timeout",
            type=float,
            default=_default("catch_up_timeout"),
            help="seconds to wait, before the freeze (writes flowing), for replication to apply a fence row "
            f"(default: {_default('catch_up_timeout'):g}; 0: none); nothing is frozen if it does not",
        )
        p.add_argument(
            "--max-lag-bytes",
            type=int,
            default=_default("max_lag_bytes"),
            help=f"gate: forward slot lag (default: {_default('max_lag_bytes') // 1024**2} MiB)",
        )
        p.add_argument(
            "--max-lag-seconds",
            type=float,
            default=_default("max_lag_seconds"),
            help=f"gate: DMS CDC latency (default: {_default('max_lag_seconds'):g})",
        )
        p.add_argument(
            "--verify-max-age-hours",
            type=float,
            default=_default("verify_max_age_hours"),
            help=f"gate: age of the last clean verify (default: {_default('verify_max_age_hours'):g})",
        )
        p.add_argument("--require-files-verify", action="store_true", help="gate: a clean `files verify` is required too")
        p.add_argument(
            "--gap", type=int, default=_default("sequence_gap"), help=f"sequence safety gap (default: {_default('sequence_gap')})"
        )
        p.add_argument(
            "--jobs",
            type=positive_int,
            default=_default("verify_jobs"),
            help=f"switch-point verify: segments compared at once (default: {_default('verify_jobs')})",
        )
        p.add_argument("--schemas", type=comma_list, help="schemas to verify (default: every user schema)")
        state_arg(p, "journals and the verify records the gates read")
        p.add_argument(
            "--lock-lease",
            type=float,
            default=DEFAULT_LEASE_SECONDS,
            help=f"with --state s3://: seconds after which a lock its run stopped renewing is taken over "
            f"(default: {DEFAULT_LEASE_SECONDS:g})",
        )
        p.set_defaults(handler=handler)
