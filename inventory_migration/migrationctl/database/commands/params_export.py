"""``migrationctl params export``: the Aurora cluster parameters that mirror the source.

The command's arguments (:func:`register`) and its plumbing (:func:`run`); the work is in the modules it calls."""

from __future__ import annotations

from pathlib import Path

from inventory_migration.migrationctl.arguments import SubParsers, source_arg
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.database import params as params_mod
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.errors import ExitCode


def run(ctx: Context) -> ExitCode:
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


def register(sub: SubParsers) -> None:
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
    p.set_defaults(handler=run)
