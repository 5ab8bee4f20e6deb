"""``migrationctl verify``: target = source, schema and data (``--live`` under replication).

The command's arguments (:func:`register`) and its plumbing (:func:`run`); the work is in the modules it calls."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from inventory_migration.migrationctl.arguments import SubParsers, both_args, comma_list, positive_int, state_arg
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.database import verify as verify_mod
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.pg import fence
from inventory_migration.migrationctl.pg.chunks import DEFAULT_CHUNK_ROWS, Table
from inventory_migration.migrationctl.records import VERIFY_RECORD


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


def run(ctx: Context) -> ExitCode:
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


def register(sub: SubParsers) -> None:
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
    p.set_defaults(handler=run)
