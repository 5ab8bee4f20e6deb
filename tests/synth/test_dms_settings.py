"""DMS table mappings and task settings built from typed Python; the task resource id."""

from __future__ import annotations

import json

import pytest

from inventory_migration.contracts.names import CONTROL_SCHEMA, task_resource_id
from inventory_migration.synth.dms_settings import LogSeverity, TableMappings, TargetTablePrepMode, TaskSettings, table_ref


def test_table_mappings_select_each_schema_and_exclude_tables() -> None:
    mappings = TableMappings(schemas=("inventory", "catalog"), excluded_tables=(("inventory", "awsdms_heartbeat"),))
    rules = json.loads(mappings.to_json())["rules"]
    assert [(r["rule-id"], r["rule-action"], r["object-locator"]) for r in rules] == [
        ("1", "include", {"schema-name": "inventory", "table-name": "%"}),
        ("2", "include", {"schema-name": "catalog", "table-name": "%"}),
        ("3", "include", {"schema-name": CONTROL_SCHEMA, "table-name": "%"}),
        ("4", "exclude", {"schema-name": "inventory", "table-name": "awsdms_heartbeat"}),
    ]


def test_table_mappings_carry_the_fence_once_even_when_listed() -> None:
    rules = TableMappings(schemas=(CONTROL_SCHEMA, "inventory")).to_dict()["rules"]
    assert [r["object-locator"]["schema-name"] for r in rules] == [CONTROL_SCHEMA, "inventory"]


def test_a_full_lob_table_gets_a_table_settings_rule_in_full_lob_mode() -> None:
    rules = TableMappings(schemas=("inventory",), full_lob_tables=(("inventory", "note"),)).to_dict()["rules"]
    assert rules[-1] == {
        "rule-type": "table-settings",
        "rule-id": "3",
        "rule-name": "full-lob-inventory-note",
        "object-locator": {"schema-name": "inventory", "table-name": "note"},
        "lob-settings": {"mode": "unlimited", "bulk-max-size": "0"},
    }


def test_table_mappings_read_back_are_the_same() -> None:
    mappings = TableMappings(
        schemas=("inventory", "catalog"), excluded_tables=(("inventory", "reading"),), full_lob_tables=(("catalog", "doc"),)
    )
    assert TableMappings.from_json(mappings.to_json()) == mappings


def test_an_excluded_table_is_not_selected() -> None:
    mappings = TableMappings(schemas=("inventory",), excluded_tables=(("inventory", "reading"),))
    assert mappings.selects("inventory", "item") and not mappings.selects("inventory", "reading")
    assert not mappings.selects("other", "item")


@pytest.mark.parametrize("text", ["note", "inventory.", ".note", "inventory.note.x", "inventory.%"])
def test_a_table_reference_is_schema_dot_table(text: str) -> None:
    with pytest.raises(ValueError, match=r"must be schema\.table"):
        table_ref(text)


def test_task_settings() -> None:
    settings = json.loads(TaskSettings(lob_max_size_kb=128, max_full_load_subtasks=16, log_severity=LogSeverity.DEBUG).to_json())
    assert settings["TargetMetadata"]["LobMaxSize"] == 128 and settings["TargetMetadata"]["FullLobMode"] is False
    assert settings["FullLoadSettings"]["MaxFullLoadSubTasks"] == 16
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == TargetTablePrepMode.DO_NOTHING.value
    assert {c["Severity"] for c in settings["Logging"]["LogComponents"]} == {"LOGGER_SEVERITY_DEBUG"}
    assert settings["ErrorBehavior"]["DataErrorEscalationPolicy"] == "SUSPEND_TABLE"


def test_task_settings_validation() -> None:
    with pytest.raises(ValueError) as info:
        TaskSettings(lob_max_size_kb=0, max_full_load_subtasks=50, validation_threads=0)
    assert all(s in str(info.value) for s in ("lob_max_size_kb = 0", "max_full_load_subtasks = 50", "validation_threads = 0"))


def test_task_resource_id_is_the_arn_tail() -> None:
    assert task_resource_id("arn:aws:dms:us-east-1:123456789012:task:ABCDEF1234567890") == "ABCDEF1234567890"


@pytest.mark.parametrize(
    "arn", ["dms-task-full-load-cdc-dev-inv", "arn:aws:dms:us-east-1:1:rep:ABC", "arn:aws:dms:us-east-1:1:task:"]
)
def test_task_resource_id_rejects_names_and_other_arns(arn: str) -> None:
    with pytest.raises(ValueError, match="not a DMS task ARN"):
        task_resource_id(arn)


def test_no_data_or_apply_error_is_only_logged_or_skipped() -> None:
    """A row DMS cannot convert, truncates or cannot apply stops its table (visible), never diverges silently."""
    errors = json.loads(TaskSettings(lob_max_size_kb=64).to_json())["ErrorBehavior"]
    policies = {k: v for k, v in errors.items() if k.endswith("Policy")}
    assert set(policies) >= {
        "DataErrorPolicy",
        "DataTruncationErrorPolicy",
        "ApplyErrorInsertPolicy",
        "ApplyErrorUpdatePolicy",
        "ApplyErrorDeletePolicy",
    }
    assert all(v in ("SUSPEND_TABLE", "STOP_TASK") for v in policies.values()), policies
