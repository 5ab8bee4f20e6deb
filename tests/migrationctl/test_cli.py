"""migrationctl follows the AWS CLI: global options before or after the command, ``--endpoint-url``, progress that a
log can read, credentials from Secrets Manager or an RDS IAM token."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import psycopg
import pytest
from botocore.stub import Stubber

from inventory_migration.migrationctl.cli import build_parser
from inventory_migration.migrationctl.context import Context, LineProgress
from inventory_migration.migrationctl.db import dsn_from_secret, with_iam_token
from inventory_migration.migrationctl.errors import UsageError


@pytest.mark.parametrize(
    "argv",
    [
        ["--output", "json", "--region", "eu-west-1", "preflight"],
        ["preflight", "--output", "json", "--region", "eu-west-1"],
        ["--region", "eu-west-1", "preflight", "--output", "json"],
    ],
)
def test_global_options_go_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.output, args.region) == ("json", "eu-west-1")


def test_global_options_keep_their_defaults_when_absent() -> None:
    args = build_parser().parse_args(["files", "plan", "/tmp"])
    assert (args.output, args.no_progress, args.endpoint_url) == ("table", False, None)


def test_every_command_takes_the_global_options() -> None:
    from inventory_migration.migrationctl.cli import _leaves

    for leaf in _leaves(build_parser()):
        assert {"--output", "--endpoint-url", "--profile"} <= set(leaf._option_string_actions), leaf.prog


def test_the_endpoint_url_reaches_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "t"), ("AWS_SECRET_ACCESS_KEY", "t"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args(["lag", "--endpoint-url", "http://127.0.0.1:9"])
    assert Context(args, io.StringIO(), io.StringIO()).client("dms").meta.endpoint_url == "http://127.0.0.1:9"


def test_progress_is_plain_lines_when_nobody_watches_a_terminal() -> None:
    err = io.StringIO()
    ctx = Context(build_parser().parse_args(["lag"]), io.StringIO(), err)
    progress = ctx.progress("verify", unit="segment", total=4)
    assert isinstance(progress, LineProgress)
    progress.every = 0
    with progress:
        progress.update(1)
    assert err.getvalue().splitlines()[0].startswith("verify: 1/4 segments (25 %), 0s, about")


def test_no_progress_silences_the_lines() -> None:
    err = io.StringIO()
    ctx = Context(build_parser().parse_args(["--no-progress", "lag"]), io.StringIO(), err)
    with ctx.progress("verify", unit="segment", total=4) as bar:
        bar.update(4)
    assert err.getvalue() == ""


def secrets(value: Any) -> Any:
    client = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1").client("secretsmanager")
    stub = Stubber(client)
    stub.add_response("get_secret_value", {"SecretString": json.dumps(value)}, {"SecretId": "s"})
    stub.activate()
    return client


def test_a_dsn_from_a_secret_in_the_rds_shape() -> None:
    value = {"username": "dms", "password": "p w'd", "host": "aurora.example", "port": 5432, "dbname": "inventory"}
    info = psycopg.conninfo.conninfo_to_dict(dsn_from_secret(secrets(value), "s", "sslmode=require"))
    assert info == {
        "user": "dms",
        "password": "p w'd",
        "host": "aurora.example",
        "port": "5432",
        "dbname": "inventory",
        "sslmode": "require",
    }


def test_a_secret_without_a_password_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no JSON with username and password"):
        dsn_from_secret(secrets({"username": "dms"}), "s")


def test_an_iam_token_becomes_the_password_over_tls() -> None:
    rds = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="t", region_name="us-east-1").client("rds")
    info = psycopg.conninfo.conninfo_to_dict(with_iam_token(rds, "host=aurora.example user=app dbname=inventory"))
    assert info["sslmode"] == "require" and "X-Amz-Signature=" in info["password"] and "aurora.example:5432" in info["password"]


def every_help(parser: Any, prefix: str = "migrationctl") -> dict[str, str]:
    """``--help`` of the parser and of every command under it, by command line."""
    import argparse

    out = {prefix: parser.format_help()}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.update(every_help(sub, f"{prefix} {name}"))
    return out


def test_help_is_plain_text() -> None:
    """No reStructuredText markup reaches a terminal: ``--help`` of every command is free of double backticks."""
    helps = every_help(build_parser())
    assert len(helps) > 20
    assert [command for command, text in helps.items() if "``" in text] == []
