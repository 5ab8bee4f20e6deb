"""``migrationctl secret fill``: a DMS endpoint's (or the application's) secret filled from a working connection.

The command's arguments (:func:`register`) and its plumbing (:func:`run`); the work is in the modules it calls."""

from __future__ import annotations

from pathlib import Path

from inventory_migration.contracts.environment import Variable
from inventory_migration.migrationctl.arguments import SubParsers
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.database import dms_secrets
from inventory_migration.migrationctl.db import SOURCE_ENV, TARGET_ENV, resolve_dsn
from inventory_migration.migrationctl.errors import ExitCode, UsageError

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


def run(ctx: Context) -> ExitCode:
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
    p.set_defaults(handler=run)
