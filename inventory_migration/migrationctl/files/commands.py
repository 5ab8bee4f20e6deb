"""``migrationctl files plan`` and ``migrationctl files verify``: their arguments, and their results through the one
output path.

``plan`` reads only the tree; ``verify`` reads the tree (or a manifest) and the bucket and writes nothing but its
own record in the state directory (``files-verify-last.json``, which ``cutover --require-files-verify`` reads).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import IO

from inventory_migration.config import FilesConfig, load_config
from inventory_migration.migrationctl.arguments import SubParsers, positive_int, state_arg
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.files import compare, listing, tree
from inventory_migration.migrationctl.files import plan as plan_mod
from inventory_migration.migrationctl.files import report as report_mod
from inventory_migration.migrationctl.files import verify as verify_mod
from inventory_migration.migrationctl.records import FILES_VERIFY_PROGRESS, FILES_VERIFY_RECORD

DEFAULT_READ_FRACTION = 0.1
"""``files plan --read-fraction``: share of the large images' bytes read in a month."""
DEFAULT_JOBS = 16
"""``--jobs`` of both commands: directories listed, objects requested at once."""


def _files_config(env: str | None) -> FilesConfig:
    return load_config(env).files


def cmd_plan(ctx: Context) -> ExitCode:
    a = ctx.args
    files = _files_config(a.env)
    bandwidth = files.bandwidth_limit_mbps if a.bandwidth_mbps is None else a.bandwidth_mbps
    prefix = files.s3_prefix if a.prefix is None else a.prefix
    info = tree.Walk()
    entries = tree.iter_walk(a.root, a.jobs, info)
    if a.manifest:  # written in the same pass as the plan, entry by entry
        with a.manifest.open("w", encoding="utf-8") as handle:
            manifest = tree.ManifestWriter(handle, a.root, a.manifest_checksum)
            plan = plan_mod.make_plan(a.root, entries, info, prefix, bandwidth, a.read_fraction, on_entry=manifest.write)
        ctx.err.write(f"manifest: {manifest.count:,} entries in {a.manifest}\n")
    else:
        plan = plan_mod.make_plan(a.root, entries, info, prefix, bandwidth, a.read_fraction)
    ctx.emit(plan.to_json(), plan_mod.render_plan(plan))
    return ExitCode.FINDINGS if plan.blocking else ExitCode.OK


def cmd_verify(ctx: Context) -> ExitCode:
    a = ctx.args
    if not a.source.exists():
        raise UsageError(f"{a.source}: no such directory or manifest")
    if a.resume and not a.checksum:
        raise UsageError("--resume resumes a --checksum run")
    from botocore.config import Config

    config = Config(max_pool_connections=a.jobs * 2, retries={"mode": "adaptive"})
    s3 = ctx.client("s3", botocore_session=listing.listing_session(), config=config)
    with ctx.state() as state_dir:
        options = compare.VerifyOptions(
            mtime=compare.MtimeMode(a.mtime),
            mtime_tolerance_s=a.mtime_tolerance,
            checksum=a.checksum,
            follow_symlinks=a.follow_symlinks,
            jobs=a.jobs,
            resume=a.resume,
            progress_file=state_dir / FILES_VERIFY_PROGRESS,
        )
        with contextlib.ExitStack() as stack:
            spill = None
            if a.report:
                handle = stack.enter_context(_open_report(a.report))

                def spill(difference: report_mod.Difference) -> None:
                    handle.write(json.dumps(report_mod.difference_json(difference)) + "\n")

            bar = stack.enter_context(ctx.progress("objects", unit="obj"))
            report = verify_mod.verify(s3, a.source, a.url, options, progress=bar.update, on_difference=spill)
        verify_mod.write_record(state_dir / FILES_VERIFY_RECORD, report, options)
    ctx.emit(report_mod.to_json(report), report_mod.render(report))
    return ExitCode.OK if report.equal else ExitCode.FINDINGS


def _open_report(path: Path) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--report {path}: {error.strerror}") from None


def register(sub: SubParsers) -> None:
    """``files plan`` and ``files verify``."""
    files = sub.add_parser("files", help="the product images: plan the move, verify the bucket").add_subparsers(
        dest="files_command", required=True, metavar="SUBCOMMAND"
    )
    p = files.add_parser("plan", help="walk the image tree: sizes, depth, names S3 cannot take, transfer time, storage cost")
    p.add_argument("root", type=Path, metavar="ROOT", help="the image tree (the mounted export)")
    p.add_argument("--env", help="environment whose [files] settings apply (default: $MIGRATION_ENV, then dev)")
    p.add_argument("--prefix", help="key prefix in the bucket (default: the environment's files.s3_prefix)")
    p.add_argument("--bandwidth-mbps", type=int, help="for the transfer time (default: files.bandwidth_limit_mbps)")
    p.add_argument(
        "--read-fraction",
        type=float,
        default=DEFAULT_READ_FRACTION,
        help=f"share of the large images' bytes read in a month, for the lifecycle cost (default: {DEFAULT_READ_FRACTION})",
    )
    p.add_argument("--manifest", type=Path, help="also write (path, size, mtime, mode) per entry to this file (JSON lines)")
    p.add_argument("--manifest-checksum", action="store_true", help="add each file's SHA-256 to the manifest (reads every file)")
    p.add_argument(
        "--jobs", type=positive_int, default=DEFAULT_JOBS, help=f"directories listed at once (default: {DEFAULT_JOBS})"
    )
    p.set_defaults(handler=cmd_plan)

    v = files.add_parser("verify", help="every file is one object with the same key, size and mtime (and content)")
    v.add_argument("source", type=Path, metavar="ROOT", help="the image tree, or a manifest written by `files plan --manifest`")
    v.add_argument("url", metavar="S3_URL", help="s3://BUCKET/PREFIX")
    v.add_argument(
        "--mtime",
        choices=[m.value for m in compare.MtimeMode],
        default=compare.MtimeMode.EXACT.value,
        help="exact: the mtime DataSync keeps on each object (one HEAD each); listing: only 'not modified since its "
        "object was written' (no per-object request: the fast gate); ignore (default: exact)",
    )
    v.add_argument(
        "--mtime-tolerance",
        type=float,
        default=compare.DEFAULT_MTIME_TOLERANCE_S,
        help=f"seconds of mtime difference still equal (default: {compare.DEFAULT_MTIME_TOLERANCE_S:g})",
    )
    v.add_argument("--checksum", action="store_true", help="compare content too (object checksum, else a streamed hash)")
    v.add_argument("--resume", action="store_true", help="skip what an interrupted --checksum run already proved")
    v.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="expect a link's target content (`aws s3 sync`) instead of DataSync's link object",
    )
    v.add_argument(
        "--jobs",
        type=positive_int,
        default=DEFAULT_JOBS,
        help=f"threads for walk, listing and object requests (default: {DEFAULT_JOBS})",
    )
    v.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help=f"write every difference to FILE as it is found, one JSON object per line (the output keeps the first "
        f"{report_mod.DIFFERENCES_KEPT:,}; every one is counted)",
    )
    state_arg(v, "where the verdict the cutover's gate reads is recorded")
    v.set_defaults(handler=cmd_verify)
