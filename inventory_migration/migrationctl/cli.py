"""migrationctl: the database side of the migration, as one command-line tool.

Conventions follow the AWS CLI: global ``--profile``, ``--region``, ``--endpoint-url``, ``--output table|json``, before
or after the command. Connection strings come from the positional arguments, else ``MIGRATION_SOURCE_DSN`` /
``MIGRATION_TARGET_DSN``, else libpq's own environment (``PGHOST``, ``PGUSER``, ``~/.pgpass``, ...); they are never
printed. Exit codes: 0 OK, 1 findings
(blockers, differences, lag over the limit; cutover/rollback: a gate refused), 2 usage or connection error, 3 aborted
(cutover/rollback: the side being left is writable again), 4 switched with differences at the switch point.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import psycopg

from inventory_migration.migrationctl.context import PROGRESS_LINE_SECONDS, Context
from inventory_migration.migrationctl.cutover import commands as cutover_commands
from inventory_migration.migrationctl.database import commands as database_commands
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.files import commands as files_commands
from inventory_migration.migrationctl.network import commands as network_commands
from inventory_migration.migrationctl.output import OutputFormat, plain
from inventory_migration.migrationctl.overview import commands as overview_commands

PROG = "migrationctl"
CONCERNS = (
    database_commands.register,
    cutover_commands.register,
    files_commands.register,
    network_commands.register,
    overview_commands.register,
)
"""Each concern registers its own commands; the order is the order of ``--help``."""


GLOBALS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--profile",), {"help": "AWS profile (default: boto3's: AWS_PROFILE, then the default profile)"}),
    (("--region",), {"help": "AWS region (default: the profile's, then AWS_REGION)"}),
    (
        ("--endpoint-url",),
        {"help": "AWS endpoint for every service (default: boto3's AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>)"},
    ),
    (
        ("--output",),
        {"choices": [f.value for f in OutputFormat], "default": "table", "help": "output format (default: table)"},
    ),
    (
        ("--no-progress",),
        {
            "action": "store_true",
            "help": "no progress (a bar on a terminal; otherwise a plain line every "
            f"{PROGRESS_LINE_SECONDS:g} s, for logs and CI)",
        },
    ),
    (
        ("--source-secret",),
        {"help": "Secrets Manager secret with the source's username, password, host, port (and dbname)"},
    ),
    (
        ("--target-secret",),
        {"help": "Secrets Manager secret with the target's username, password, host, port (and dbname)"},
    ),
    (("--target-iam-auth",), {"action": "store_true", "help": "connect to Aurora with an RDS IAM authentication token"}),
)
"""Options every command takes, before or after its name (as the AWS CLI's)."""


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser of a command (the ones without subcommands of their own)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [parser]
    return [leaf for action in subs for child in dict.fromkeys(action.choices.values()) for leaf in _leaves(child)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=plain(__doc__ or ""), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for flags, options in GLOBALS:
        parser.add_argument(*flags, **options)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in CONCERNS:
        register(sub)
    for leaf in _leaves(parser):
        group = leaf.add_argument_group("global options (also before the command)")
        for flags, options in GLOBALS:
            group.add_argument(*flags, **{**options, "default": argparse.SUPPRESS})
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
