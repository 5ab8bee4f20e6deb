"""``migrationctl sequences sync``: the target's sequences set past the source's.

The command's arguments (:func:`register`) and its plumbing (:func:`run`); the work is in the modules it calls."""

from __future__ import annotations

from inventory_migration.migrationctl.arguments import SubParsers, both_args
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.errors import ExitCode
from inventory_migration.migrationctl.output import table
from inventory_migration.migrationctl.pg import sequences as sequences_mod


def run(ctx: Context) -> ExitCode:
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


def register(sub: SubParsers) -> None:
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
    p.set_defaults(handler=run)
