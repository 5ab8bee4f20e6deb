"""``migrationctl roles copy``: roles, memberships, grants and default privileges carried to Aurora.

The command's arguments (:func:`register`) and its plumbing (:func:`run`); the work is in the modules it calls."""

from __future__ import annotations

from inventory_migration.migrationctl.arguments import SubParsers, both_args, comma_list
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.database import roles as roles_mod
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.errors import ExitCode


def run(ctx: Context) -> ExitCode:
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


def register(sub: SubParsers) -> None:
    roles = sub.add_parser("roles", help="roles and grants").add_subparsers(dest="roles_command", required=True, metavar="ACTION")
    p = roles.add_parser(
        "copy",
        help="roles, memberships, grants and default privileges of the user's schemas, source to target "
        "(without --apply: compare, exit 1 while the target lacks something)",
    )
    both_args(p)
    p.add_argument("--app-roles", type=comma_list, help="the application's roles: read-only on the target until the cutover")
    p.add_argument("--apply", action="store_true", help="carry what the target lacks (default: only list it)")
    p.set_defaults(handler=run)
