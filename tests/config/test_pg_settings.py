"""The setting types the configuration validates ``aurora.source_parameters`` against: generated from a real server,
and matched the way PostgreSQL matches them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from inventory_migration.config.pg_settings import parameter_value_problem

ROOT = Path(__file__).resolve().parents[2]


def test_the_checked_in_types_are_what_postgresql_16_reports() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import generate_pg_settings as generator
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    from harness.postgres import bindir_for

    if bindir_for(generator.MAJOR) is None:
        message = f"PostgreSQL {generator.MAJOR} from npm not installed (npm ci)"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    expected = generator.format_module(generator.generate())
    assert generator.MODULE.read_text(encoding="utf-8") == expected, "stale: run scripts/generate_pg_settings.py"


@pytest.mark.parametrize("value", ["TLSv1.2", "tlsv1.2", "TLSV1.3", " TLSv1.3 "])
def test_an_enum_value_matches_in_any_case(value: str) -> None:
    assert parameter_value_problem("ssl_min_protocol_version", value) is None


def test_an_enum_value_outside_the_set_is_refused_with_the_allowed_ones() -> None:
    assert parameter_value_problem("ssl_min_protocol_version", "TLSv1.4") == "allowed: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("autovacuum", "on", None),
        ("autovacuum", "maybe", "a boolean parameter: on/off (or 1/0)"),
        ("work_mem", "65536", None),
        ("work_mem", "64MB", "an integer parameter: a whole number in the setting's base unit"),
        ("random_page_cost", "1.1", None),
        ("random_page_cost", "fast", "a numeric parameter: a number"),
        ("shared_buffers", "{DBInstanceClassMemory/32768}", None),
        ("rds.logical_replication", "1", None),
        ("apg_plan_mgmt.capture_plan_baselines", "anything", None),
    ],
)
def test_values_by_type(name: str, value: str, problem: str | None) -> None:
    assert parameter_value_problem(name, value) == problem
