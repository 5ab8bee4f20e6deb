"""migrationctl: the database side of the migration, as one command-line tool.

Conventions follow the AWS CLI: global ``--profile``, ``--region``, ``--output table|json``. Connection strings
come from the positional arguments, else ``MIGRATION_SOURCE_DSN`` / ``MIGRATION_TARGET_DSN``, else libpq's own
environment (``PGHOST``, ``PGUSER``, ``~/.pgpass``, ...); they are never printed. Exit codes: 0 OK, 1 findings
(blockers, differences, lag over the limit), 2 usage or connection error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import psycopg

from inventory_migration.dms_settings import task_resource_id
from inventory_migration.migrationctl import files_commands, switch_commands
from inventory_migration.migrationctl import lag as lag_mod
from inventory_migration.migrationctl import params as params_mod
from inventory_migration.migrationctl import preflight as preflight_mod
from inventory_migration.migrationctl import schema as schema_mod
from inventory_migration.migrationctl import sequences as sequences_mod
from inventory_migration.migrationctl import verify as verify_mod
from inventory_migration.migrationctl.db import SOURCE_ENV, TARGET_ENV, connection, resolve_dsn
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.output import OutputFormat, emit, table

PROG = "migrationctl"
STATE_DIR = Path(".migrationctl")


class Context:
    """What every command gets: parsed arguments, output format and streams."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.fmt = OutputFormat(args.output)
        self.progress_enabled = not args.no_progress and err.isatty()

    def source(self) -> str:
        return resolve_dsn(getattr(self.args, "source_dsn", None), SOURCE_ENV)

    def target(self) -> str:
        return resolve_dsn(getattr(self.args, "target_dsn", None), TARGET_ENV)

    def progress(self, description: str) -> Any:
        from tqdm import tqdm

        return tqdm(total=0, desc=description, unit="segment", file=self.err, disable=not self.progress_enabled, leave=False)

    def boto3_session(self) -> Any:
        import boto3

        return boto3.Session(profile_name=self.args.profile, region_name=self.args.region)


# --------------------------------------------------------------------------------------------- commands


def cmd_preflight(ctx: Context) -> ExitCode:
    supported = preflight_mod.load_extension_list(ctx.args.supported_extensions)
    with connection(ctx.source(), "source", read_only=True) as conn:
        findings = preflight_mod.run_preflight(conn, supported)
    blockers = [f for f in findings if f.severity is preflight_mod.Severity.BLOCKER]
    warnings = [f for f in findings if f.severity is preflight_mod.Severity.WARNING]
    lines = [
        table([f.to_dict() | {"details": len(f.details) or ""} for f in findings], ["severity", "check", "message", "details"])
    ]
    for f in findings:
        if f.details and f.severity is not preflight_mod.Severity.INFO:
            lines.append(f"\n{f.check}:")
            lines += [f"  - {d}" for d in f.details]
    verdict = "NOT READY" if blockers else ("READY with warnings" if warnings else "READY")
    lines.append(f"\n{verdict}: {len(blockers)} blocker(s), {len(warnings)} warning(s)")
    emit(ctx.fmt, {"ready": not blockers, "findings": [f.to_dict() for f in findings]}, "\n".join(lines), ctx.out)
    failing = blockers or (warnings if ctx.args.fail_on == "warning" else [])
    return ExitCode.FINDINGS if failing else ExitCode.OK


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
    emit(ctx.fmt, payload, text, ctx.out)
    return ExitCode.OK


def cmd_schema(ctx: Context) -> ExitCode:
    phase = schema_mod.Phase(ctx.args.phase)
    source_dsn, target_dsn = ctx.source(), ctx.target()
    with connection(source_dsn, "source", read_only=True) as source, connection(target_dsn, "target") as target:
        schemas = tuple(ctx.args.schemas) if ctx.args.schemas else tuple(verify_mod.user_schemas(source))
        with tempfile.TemporaryDirectory(prefix="migrationctl-") as tmp:
            archive = Path(tmp) / "schema.dump"
            schema_mod.dump(source_dsn, archive, schemas)
            plan = schema_mod.plan(phase, archive, source, target)
            if not ctx.args.dry_run:
                schema_mod.apply(plan, archive, target_dsn)
    summary = plan.summary() | {"dry_run": ctx.args.dry_run}
    verb = "would restore" if ctx.args.dry_run else "restored"
    lines = [f"{phase.value}: {verb} {len(plan.restore)} object(s); {len(plan.already_present)} already on the target"]
    lines += [f"  {item}" for item in summary["restored"]]  # type: ignore[attr-defined]
    emit(ctx.fmt, summary, "\n".join(lines), ctx.out)
    return ExitCode.OK


def cmd_sequences_sync(ctx: Context) -> ExitCode:
    with connection(ctx.source(), "source", read_only=True) as source, connection(ctx.target(), "target") as target:
        plan = sequences_mod.plan_sync(sequences_mod.positions(source), sequences_mod.positions(target), ctx.args.gap)
        if not ctx.args.dry_run:
            sequences_mod.apply_sync(target, plan)
    rows = [
        {"sequence": p.sequence, "source": p.source_value, "target": p.target_value, "new": p.new_value, "action": p.action}
        for p in plan
    ]
    missing = [p for p in plan if p.action == "missing on target"]
    text = table(rows, ["sequence", "source", "target", "new", "action"])
    if ctx.args.dry_run:
        text += "\n(dry run: nothing changed)"
    emit(ctx.fmt, {"sequences": rows, "dry_run": ctx.args.dry_run}, text, ctx.out)
    return ExitCode.FINDINGS if missing else ExitCode.OK


def cmd_verify(ctx: Context) -> ExitCode:
    a = ctx.args
    source_dsn, target_dsn = ctx.source(), ctx.target()
    started = time.perf_counter()
    with connection(source_dsn, "source", read_only=True) as source, connection(target_dsn, "target", read_only=True) as target:
        schemas = a.schemas or verify_mod.user_schemas(source)
        schema_diffs: list[verify_mod.SchemaDifference] = []
        if not a.data_only:
            schema_diffs = verify_mod.diff_schema(
                verify_mod.schema_snapshot(source, schemas), verify_mod.schema_snapshot(target, schemas)
            )
        source_tables = verify_mod.select_tables(verify_mod.list_tables(source, schemas), a.tables)
        target_tables = verify_mod.list_tables(target, schemas)
    if a.tables:
        wanted = {t.qualified for t in source_tables}
        schema_diffs = [d for d in schema_diffs if any(d.name == w or d.name.startswith(w + ".") for w in wanted)]
    results: list[verify_mod.TableResult] = []
    state_file = None
    if not a.schema_only:
        state_file = (
            Path(a.state_file)
            if a.state_file
            else STATE_DIR
            / (
                "verify-"
                + verify_mod.fingerprint(
                    verify_mod.source_dsn_fingerprint(source_dsn),
                    verify_mod.source_dsn_fingerprint(target_dsn),
                    sorted(t.qualified for t in source_tables),
                )
                + ".json"
            )
        )
        state_file.parent.mkdir(parents=True, exist_ok=True)
        if a.restart:
            state_file.unlink(missing_ok=True)
        options = verify_mod.DataParityOptions(chunk_rows=a.chunk_rows, jobs=a.jobs, state_file=state_file)
        with ctx.progress("verify") as bar:

            def planned(total: int) -> None:
                bar.total = total
                bar.refresh()

            results = verify_mod.data_parity(
                source_dsn, target_dsn, source_tables, target_tables, options, progress=bar.update, on_planned=planned
            )
    on_target = {t.qualified: t for t in target_tables}
    report = verify_mod.VerifyReport(
        schema_diffs,
        results,
        bytes_compared=sum(
            t.heap_bytes + (on_target[t.qualified].heap_bytes if t.qualified in on_target else 0) for t in source_tables
        ),
        rows_compared=sum(r.source_rows + r.target_rows for r in results),
        seconds=time.perf_counter() - started,
    )
    if report.equal and state_file is not None:
        state_file.unlink(missing_ok=True)
    if not (a.tables or a.schema_only or a.data_only):  # a full verify: the record `cutover`'s gate reads
        verify_mod.write_record(STATE_DIR / verify_mod.RECORD_FILE, report, source_dsn, target_dsn)
    emit(
        ctx.fmt, report.to_dict(), render_verify(report, schema_checked=not a.data_only, data_checked=not a.schema_only), ctx.out
    )
    return ExitCode.OK if report.equal else ExitCode.FINDINGS


def render_verify(report: verify_mod.VerifyReport, *, schema_checked: bool, data_checked: bool) -> str:
    lines = []
    if schema_checked:
        lines.append(f"schema: {len(report.schema)} difference(s)")
        for d in report.schema:
            lines.append(f"  {d.kind:<11} {d.name}: {d.problem}")
            if d.problem == "differs":
                lines.append(f"      source: {d.source[:200]}")
                lines.append(f"      target: {d.target[:200]}")
    if data_checked:
        rows = [
            {
                "table": r.table,
                "source_rows": r.source_rows,
                "target_rows": r.target_rows,
                "missing": r.missing_on_target,
                "extra": r.extra_on_target,
                "changed": r.changed,
                "status": "equal" if r.equal else "DIFFERENT",
            }
            for r in report.tables
        ]
        lines.append("")
        lines.append(table(rows, ["table", "source_rows", "target_rows", "missing", "extra", "changed", "status"]))
        for r in report.tables:
            if r.note:
                lines.append(f"  {r.table}: {r.note}")
            if r.differing_ranges:
                lines.append(f"  {r.table}: differing key ranges: {'; '.join(r.differing_ranges[:20])}")
        if report.seconds > 0:
            mb = report.bytes_compared / 1024**2
            lines.append(
                f"\nthroughput: {mb / report.seconds:.1f} MB/s, {report.rows_compared / report.seconds:,.0f} rows/s "
                f"({mb:.0f} MB, {report.rows_compared:,} rows in {report.seconds:.1f} s)"
            )
    lines.append("RESULT: target equals source" if report.equal else "RESULT: DIFFERENCES FOUND")
    return "\n".join(lines)


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
        session = ctx.boto3_session()
        result = lag_mod.dms_lag(session.client("cloudwatch"), session.client("dms"), a.task_arn)
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
    emit(ctx.fmt, payload, "\n".join(lines), ctx.out)
    return ExitCode.FINDINGS if over else ExitCode.OK


# --------------------------------------------------------------------------------------------- parser


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {value}")
    return number


def comma_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", help="AWS profile for the commands that call AWS (lag)")
    parser.add_argument("--region", help="AWS region (default: the profile's, then AWS_REGION)")
    parser.add_argument(
        "--output", choices=[f.value for f in OutputFormat], default="table", help="output format (default: table)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (they only show on a terminal anyway)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def source_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "source_dsn",
            nargs="?",
            metavar="SOURCE_DSN",
            help=f"source connection string (default: ${SOURCE_ENV}, then libpq's environment)",
        )

    def both_args(p: argparse.ArgumentParser) -> None:
        source_arg(p)
        p.add_argument("target_dsn", nargs="?", metavar="TARGET_DSN", help=f"target connection string (default: ${TARGET_ENV})")

    p = sub.add_parser("preflight", help="is the source ready for DMS full load + CDC?")
    source_arg(p)
    p.add_argument("--supported-extensions", type=Path, help="file listing the extensions the target supports, one per line")
    p.add_argument(
        "--fail-on", choices=["blocker", "warning"], default="blocker", help="which findings exit 1 (default: blocker)"
    )
    p.set_defaults(handler=cmd_preflight)

    params = sub.add_parser("params", help="source parameters").add_subparsers(
        dest="params_command", required=True, metavar="ACTION"
    )
    p = params.add_parser("export", help="write the Aurora cluster parameters that mirror the source")
    source_arg(p)
    p.add_argument("--target-major", type=int, default=16, help="Aurora PostgreSQL major of the target (default: 16)")
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
    p.add_argument("--tables", type=comma_list, help="only these tables (schema.table, comma-separated)")
    p.add_argument("--schemas", type=comma_list, help="schemas to compare (default: every user schema of the source)")
    p.add_argument("--jobs", type=positive_int, default=max(1, (os.cpu_count() or 2) // 2), help="segments compared at once")
    p.add_argument("--chunk-rows", type=positive_int, default=verify_mod.DEFAULT_CHUNK_ROWS, help="rows per hashed chunk")
    p.add_argument("--state-file", help=f"checkpoint file for resuming (default: under {STATE_DIR}/)")
    p.add_argument("--restart", action="store_true", help="ignore the checkpoint and compare everything again")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--schema-only", action="store_true", help="compare the schema only")
    mode.add_argument("--data-only", action="store_true", help="compare the data only")
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("lag", help="replication lag: source slot and DMS CloudWatch metrics")
    source_arg(p)
    p.add_argument("--task-arn", help="DMS task ARN (its last segment is the CloudWatch task dimension)")
    p.add_argument("--skip-source", action="store_true", help="only read DMS metrics")
    p.add_argument("--max-seconds", type=float, help="exit 1 if DMS total latency exceeds this")
    p.add_argument("--max-bytes", type=int, help="exit 1 if a slot's confirmed lag exceeds this")
    p.set_defaults(handler=cmd_lag)

    switch_commands.add_parsers(sub, both_args, comma_list, positive_int, STATE_DIR)
    files_commands.add_parsers(sub, positive_int, STATE_DIR)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    handler: Callable[[Context], ExitCode] = args.handler
    try:
        return int(handler(Context(args, out, err)))
    except UsageError as error:
        err.write(f"{PROG}: error: {error}\n")
    except psycopg.errors.InsufficientPrivilege as error:
        err.write(f"{PROG}: error: missing privilege: {str(error).strip().splitlines()[0]}\n")
    except psycopg.Error as error:
        err.write(
            f"{PROG}: error: database error: {str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}\n"
        )
    except KeyboardInterrupt:
        err.write(f"{PROG}: interrupted; run the same command again to resume\n")
        return 130
    except Exception as error:  # botocore and friends: one line, no traceback
        if type(error).__module__.startswith(("botocore", "boto3")):
            err.write(f"{PROG}: error: AWS: {error}\n")
        else:
            raise
    return int(ExitCode.USAGE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
