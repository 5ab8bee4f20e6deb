"""Shared fixtures.

Importing the provider bindings costs ~13 s and ~0.5 GB, so each shipped environment is synthesized once
per session (``synth``); per-construct tests build small fresh stacks from ``construct_stack``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.runtime import use_supported_node

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
    """Synthesize a shipped environment once per session: ``synthesized("dev")``."""
    from inventory_migration.app import build_app
    from inventory_migration.cdk import Testing

    cache: dict[str, dict[str, Any]] = {}

    def get(environment: str) -> dict[str, Any]:
        if environment not in cache:
            _app, stack, _config = build_app(environment=environment, environ={})
            cache[environment] = json.loads(Testing.synth(stack))
        return cache[environment]

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
    from inventory_migration.cdk import TerraformStack, Testing, aws

    app = Testing.app()
    stack = TerraformStack(app, "test")
    aws.provider.AwsProvider(stack, "aws", region="us-east-1")
    yield stack


def synth_of(stack: Any) -> dict[str, Any]:
    from inventory_migration.cdk import Testing

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
    from inventory_migration.terraform_cli import OfflineTerraform

    tf = OfflineTerraform.discover(tmp_path_factory.mktemp("terraform"))
    if tf is None:
        message = "terraform not on PATH or no hashicorp/aws 5.x filesystem mirror found: terraform checks skipped"
        if os.environ.get(REQUIRE_TERRAFORM_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return tf


CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
