"""``migrationctl cutover`` and ``migrationctl rollback``: arguments, and the wiring of :mod:`.cutover` to the databases,
the replication backend and AWS.

Everything AWS comes from ``terraform output -json`` of the deployed stack (``--stack-outputs``), each value
overridable by its own flag; boto3 takes its endpoint from ``AWS_ENDPOINT_URL`` when set (the rehearsal's emulator).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from inventory_migration.migrationctl import cutover as cutover_mod
from inventory_migration.migrationctl import sequences as sequences_mod
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.journal import ABORTED, DONE
from inventory_migration.migrationctl.replication import DmsReplication, NativeReplication, ReplicationBackend
from inventory_migration.migrationctl.switch import Listener

OUTPUT_FLAGS = {
    "listener_arn": "https_listener_arn",
    "blue_target_group_arn": "blue_target_group_arn",
    "green_target_group_arn": "green_target_group_arn",
    "forward_task_arn": "dms_task_arn",
    "reverse_task_arn": "dms_reverse_task_arn",
    "cutover_alarm": "cutover_blocked_alarm_name",
    "topic_arn": "alarm_topic_arn",
}
"""Flag -> the stack output it defaults to."""


def load_stack_outputs(path: Path) -> dict[str, Any]:
    """``terraform output -json`` (``{"name": {"value": …}}``) or a flat ``{"name": value}`` file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read --stack-outputs {path}: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--stack-outputs {path}: expected a JSON object")
    return {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in data.items()}


def _values(args: argparse.Namespace) -> dict[str, str]:
    outputs = load_stack_outputs(args.stack_outputs) if args.stack_outputs else {}
    return {flag: str(getattr(args, flag) or outputs.get(output) or "") for flag, output in OUTPUT_FLAGS.items()}


def build_settings(ctx: Any, *, say: Any) -> cutover_mod.Settings:
    """The cutover/rollback settings from the parsed arguments."""
    a = ctx.args
    values = _values(a)
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
    needs_aws = listener is not None or a.backend == "dms" or values["cutover_alarm"] or values["topic_arn"]
    session = ctx.boto3_session() if needs_aws else None
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
        assert session is not None
        backend = DmsReplication(
            dms=session.client("dms"),
            cloudwatch=session.client("cloudwatch"),
            forward_task_arn=values["forward_task_arn"],
            reverse_task_arn=values["reverse_task_arn"],
            forward_slot=a.forward_slot or "",
            reverse_slot=a.reverse_slot,
        )
    return cutover_mod.Settings(
        source_dsn=source_dsn,
        target_dsn=target_dsn,
        app_roles=tuple(a.app_roles),
        backend=backend,
        state_dir=Path(a.state_dir),
        listener=listener,
        elbv2=session.client("elbv2") if session is not None and listener is not None else None,
        cloudwatch=session.client("cloudwatch") if session is not None and values["cutover_alarm"] else None,
        cutover_alarm=values["cutover_alarm"],
        sns=session.client("sns") if session is not None and values["topic_arn"] else None,
        topic_arn=values["topic_arn"],
        drain_timeout=a.drain_timeout,
        max_lag_bytes=a.max_lag_bytes,
        max_lag_seconds=a.max_lag_seconds,
        verify_max_age_hours=a.verify_max_age_hours,
        require_files_verify=a.require_files_verify,
        sequence_gap=a.gap,
        verify_jobs=a.jobs,
        schemas=tuple(a.schemas or ()),
        say=say,
    )


def _summary(journal: Any) -> dict[str, Any]:
    return {
        "operation": journal.operation,
        "status": journal.status,
        "journal": str(journal.path),
        "steps": journal.data["steps"],
        "facts": journal.facts,
    }


def _run(ctx: Any, operation: str) -> ExitCode:
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if ctx.fmt.value == "table":
            ctx.out.write(line + "\n")
            ctx.out.flush()

    settings = build_settings(ctx, say=say)
    run = cutover_mod.cutover if operation == "cutover" else cutover_mod.rollback
    try:
        journal = run(settings, dry_run=ctx.args.dry_run)
    except cutover_mod.GatesFailed as failed:
        if ctx.fmt.value == "json":
            ctx.out.write(
                json.dumps({"operation": operation, "status": "gates failed", "failed": str(failed), "log": lines}) + "\n"
            )
        else:
            ctx.out.write(f"{operation}: NOT STARTED, gate(s) failed: {failed}. Nothing changed.\n")
        return ExitCode.FINDINGS
    except cutover_mod.CutoverAborted as aborted:
        if ctx.fmt.value == "json":
            ctx.out.write(json.dumps({"operation": operation, "status": ABORTED, "reason": str(aborted), "log": lines}) + "\n")
        else:
            ctx.out.write(f"{operation}: ABORTED: {aborted}\n")
        return ExitCode.FINDINGS
    if ctx.fmt.value == "json":
        ctx.out.write(json.dumps(_summary(journal) | {"log": lines, "dry_run": ctx.args.dry_run}, default=str) + "\n")
    verify = journal.data["steps"].get("verify", {}).get("result", {})
    if journal.status == DONE and verify.get("equal") is False:
        return ExitCode.FINDINGS
    return ExitCode.OK


def cmd_cutover(ctx: Any) -> ExitCode:
    return _run(ctx, "cutover")


def cmd_rollback(ctx: Any) -> ExitCode:
    return _run(ctx, "rollback")


def add_parsers(sub: Any, both_args: Any, comma_list: Any, positive_int: Any, state_dir: Path) -> None:
    """Register ``cutover`` and ``rollback``."""
    for name, help_text, handler in (
        (
            "cutover",
            "switch the applications to Aurora: gates, freeze, drain, sequences, way back, switch, verify (resumable)",
            cmd_cutover,
        ),
        (
            "rollback",
            "switch back to on-prem: freeze green, drain the way back, sequences, weights to blue, resume forward",
            cmd_rollback,
        ),
    ):
        p = sub.add_parser(name, help=help_text)
        both_args(p)
        p.add_argument("--app-roles", type=comma_list, required=True, help="database roles of the applications, comma-separated")
        p.add_argument("--dry-run", action="store_true", help="print the plan and every gate's result; change nothing")
        p.add_argument(
            "--backend",
            choices=["dms", "native"],
            default="dms",
            help="replication in both directions: AWS DMS tasks, or PostgreSQL publication/subscription (default: dms)",
        )
        p.add_argument("--stack-outputs", type=Path, help="`terraform output -json` of the deployed stack")
        p.add_argument("--listener-arn", help="HTTPS listener (default: stack output https_listener_arn)")
        p.add_argument("--blue-target-group-arn", help="blue target group (default: stack output)")
        p.add_argument("--green-target-group-arn", help="green target group (default: stack output)")
        p.add_argument("--no-load-balancer", action="store_true", help="switch the databases only (weights are moved by hand)")
        p.add_argument("--forward-task-arn", help="DMS full-load-and-CDC task (default: stack output dms_task_arn)")
        p.add_argument("--reverse-task-arn", help="DMS reverse task (default: stack output dms_reverse_task_arn)")
        p.add_argument("--forward-slot", help="DMS's replication slot on the source (default: the one test_decoding slot)")
        p.add_argument(
            "--reverse-slot",
            default="migration_way_back",
            help="slot on the target the reverse DMS task reads (config dms.reverse_slot_name; default: migration_way_back)",
        )
        p.add_argument("--source-dsn-for-target", help="native: how the target server reaches the source (default: SOURCE_DSN)")
        p.add_argument("--target-dsn-for-source", help="native: how the source server reaches the target (default: TARGET_DSN)")
        p.add_argument(
            "--cutover-alarm", help="composite alarm that must be OK (default: stack output cutover_blocked_alarm_name)"
        )
        p.add_argument(
            "--topic-arn", help="SNS topic told about a switch-point difference (default: stack output alarm_topic_arn)"
        )
        p.add_argument("--drain-timeout", type=float, default=60.0, help="seconds to wait for replication to drain (default: 60)")
        p.add_argument("--max-lag-bytes", type=int, default=64 * 1024 * 1024, help="gate: forward slot lag (default: 64 MiB)")
        p.add_argument("--max-lag-seconds", type=float, default=30.0, help="gate: DMS CDC latency (default: 30)")
        p.add_argument(
            "--verify-max-age-hours", type=float, default=24.0, help="gate: age of the last clean verify (default: 24)"
        )
        p.add_argument("--require-files-verify", action="store_true", help="gate: a clean `files verify` is required too")
        p.add_argument("--gap", type=int, default=sequences_mod.DEFAULT_GAP, help="sequence safety gap (default: 1000)")
        p.add_argument("--jobs", type=positive_int, default=2, help="switch-point verify: segments compared at once (default: 2)")
        p.add_argument("--schemas", type=comma_list, help="schemas to verify (default: every user schema)")
        p.add_argument("--state-dir", default=str(state_dir), help=f"journal and verify records (default: {state_dir})")
        p.set_defaults(handler=handler)
