"""Argument types and the arguments several commands share (the DSN positionals), for the concerns' parsers."""

from __future__ import annotations

import argparse
from typing import Any

from inventory_migration.migrationctl.db import SOURCE_ENV, TARGET_ENV

SubParsers = Any
"""What ``ArgumentParser.add_subparsers()`` returns (argparse keeps its class private)."""


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {value}")
    return number


def comma_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def source_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source_dsn",
        nargs="?",
        metavar="SOURCE_DSN",
        help=f"source connection string (default: ${SOURCE_ENV}, then libpq's environment)",
    )


def both_args(parser: argparse.ArgumentParser) -> None:
    source_arg(parser)
    parser.add_argument("target_dsn", nargs="?", metavar="TARGET_DSN", help=f"target connection string (default: ${TARGET_ENV})")


def state_arg(parser: argparse.ArgumentParser, what: str) -> None:
    """``--state`` (alias ``--state-dir``): a local directory or ``s3://bucket/prefix`` (:mod:`.state`)."""
    from inventory_migration.migrationctl.records import STATE_DIR

    parser.add_argument(
        "--state",
        "--state-dir",
        dest="state",
        default=str(STATE_DIR),
        help=f"{what}: a directory, or s3://BUCKET/PREFIX (the stack's state_bucket_name; journals and records "
        f"shared, one run at a time) (default: {STATE_DIR})",
    )
