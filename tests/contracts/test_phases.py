"""Phases as deployable states: the table, the transitions, and what each phase's synthesized stack really does."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.config import ConfigError, config_from_mapping
from inventory_migration.config.environment import REVERSE_LSN
from inventory_migration.contracts.phases import (
    ALLOWED_TRANSITIONS,
    PHASE_PLANS,
    Change,
    Component,
    Database,
    ImageSync,
    MigrationPhase,
    PhasePlan,
    TaskState,
    component_of,
    expected_changes,
    is_protected,
    transition_problem,
)
from inventory_migration.devtools.change_sets import Action, ResourceChange, path_of_logical_id, synth_changes, violations
from tests.conftest import DEV_EVERYDAY, ENVIRONMENTS, phase_config, resources_of

P = MigrationPhase

ALL = [(env, phase) for env in ENVIRONMENTS for phase in MigrationPhase]
TRANSITIONS = sorted(ALLOWED_TRANSITIONS, key=lambda t: (list(P).index(t[0]), list(P).index(t[1])))


# ----------------------------------------------------------------------------- the table


def test_every_phase_has_a_plan_and_the_order_is_the_runbook_order() -> None:
    assert set(PHASE_PLANS) == set(MigrationPhase)
    assert [p.value for p in MigrationPhase] == ["foundation", "full-load", "cdc", "cutover", "rollback-window", "decommission"]


def test_weights_per_phase() -> None:
    weights = {phase.value: (plan.blue_weight, plan.green_weight) for phase, plan in PHASE_PLANS.items()}
    assert weights == {
        "foundation": (100, 0),
        "full-load": (100, 0),
        "cdc": (100, 0),
        "cutover": (0, 100),
        "rollback-window": (0, 100),
        "decommission": (0, 100),
    }


def test_a_plan_refuses_inconsistent_states() -> None:
    with pytest.raises(ValueError) as info:
        PhasePlan(
            forward_task=TaskState.RUNNING,
            reverse_task=TaskState.ABSENT,
            blue_weight=50,
            green_weight=40,
            replication=False,
            blue_targets=False,
            image_sync=ImageSync.ABSENT,
        )
    text = str(info.value)
    assert "add up to 100" in text and "no target group" in text and "needs replication" in text


def test_transitions_forward_one_step_and_back_to_cdc_only() -> None:
    order = list(MigrationPhase)
    forward = set(itertools.pairwise(order))
    back = {(P.CUTOVER, P.CDC), (P.ROLLBACK_WINDOW, P.CDC)}
    assert forward | back == ALLOWED_TRANSITIONS
    for previous in MigrationPhase:
        for current in MigrationPhase:
            problem = transition_problem(previous, current)
            assert (problem is None) == (previous is current or (previous, current) in ALLOWED_TRANSITIONS)
            if problem:
                assert repr(previous.value) in problem and repr(current.value) in problem
    assert transition_problem(None, P.FOUNDATION) is None
    assert "previous_phase" in str(transition_problem(None, P.CDC))


@pytest.mark.parametrize(
    ("previous", "current"),
    [("foundation", "cutover"), ("decommission", "cdc"), ("cdc", "rollback-window"), ("full-load", "foundation")],
)
def test_config_rejects_a_transition_naming_both_phases(previous: str, current: str) -> None:
    data = {"migration_phase": current, "previous_phase": previous, "dms": {"reverse_cdc_start_position": REVERSE_LSN}}
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, source="t.toml")
    (problem,) = [p for p in info.value.problems if p.field == "migration_phase"]
    assert f"'{previous}' -> '{current}' is not allowed" in problem.message
    forced = config_from_mapping({**data, "force_phase_transition": True}, source="t.toml")
    assert forced.migration_phase.value == current


def test_config_accepts_allowed_transitions_and_needs_the_reverse_position() -> None:
    assert config_from_mapping({"migration_phase": "full-load", "previous_phase": "foundation"}).migration_phase is P.FULL_LOAD
    with pytest.raises(ConfigError, match=r"dms\.reverse_cdc_start_position"):
        config_from_mapping({"migration_phase": "cutover", "previous_phase": "cdc"})
    rollback = config_from_mapping(
        {"migration_phase": "cdc", "previous_phase": "rollback-window", "dms": {"reverse_cdc_start_position": "0/0"}}
    )
    assert rollback.previous_phase is P.ROLLBACK_WINDOW
    with pytest.raises(ConfigError, match="no previous_phase"):
        config_from_mapping({"migration_phase": "cdc"})


# ----------------------------------------------------------------------------- what each phase deploys


def listener_weights(synth: dict[str, Any]) -> dict[str, int]:
    """Colour -> weight of the HTTPS listener, read from the synthesized JSON."""
    listeners = {k: v for k, v in synth["resource"]["aws_lb_listener"].items() if v["protocol"] == "HTTPS"}
    (https,) = listeners.values()
    (action,) = https["default_action"]
    out = {}
    for group in action["forward"]["target_group"]:
        logical_id = group["arn"].split(".")[1]
        out[synth["resource"]["aws_lb_target_group"][logical_id]["tags"]["Colour"]] = group["weight"]
    return out


def task_states(synth: dict[str, Any]) -> tuple[TaskState, TaskState]:
    """(forward, reverse) as deployed: absent, or created/running by ``start_replication_task``."""
    tasks = {t["migration_type"]: t for t in resources_of(synth, "aws_dms_replication_task")}

    def state(task: dict[str, Any] | None) -> TaskState:
        if task is None:
            return TaskState.ABSENT
        return TaskState.RUNNING if task["start_replication_task"] else TaskState.CREATED

    return state(tasks.get("full-load-and-cdc")), state(tasks.get("cdc"))


@pytest.mark.parametrize(("environment", "phase"), ALL)
def test_never_two_writers(phase_synth: Any, environment: str, phase: MigrationPhase) -> None:
    """Weights, the forward task and the reverse task, together, from the JSON: one writer database per phase."""
    synth = phase_synth(environment, phase)
    weights = listener_weights(synth)
    forward, reverse = task_states(synth)
    writers = {db for db, colour in ((Database.ON_PREM, "blue"), (Database.AURORA, "green")) if weights.get(colour, 0) > 0}
    assert len(writers) == 1
    assert sum(weights.values()) == 100 and set(weights.values()) <= {0, 100}
    assert not (forward.running and reverse.running)
    if forward.running:
        assert writers == {Database.ON_PREM}  # DMS copies on-prem writes forward
    if reverse.running:
        assert writers == {Database.AURORA}  # DMS copies Aurora writes back
    plan = PHASE_PLANS[phase]
    assert writers == set(plan.writers)
    assert weights == ({"blue": plan.blue_weight, "green": plan.green_weight} if plan.blue_targets else {"green": 100})
    assert forward.running == plan.forward_task.running and forward.exists == plan.forward_task.exists
    assert reverse.running == plan.reverse_task.running and reverse.exists == plan.reverse_task.exists


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_reverse_replication_wiring(phase_synth: Any, environment: str) -> None:
    from inventory_migration.config import load_config

    config = load_config(environment)
    synth = phase_synth(environment, P.CUTOVER)
    endpoints = {e["endpoint_id"]: e for e in resources_of(synth, "aws_dms_endpoint")}
    tail = f"{config.environment}-{config.environment_suffix}"
    source, target = endpoints[f"dms-endpoint-reverse-source-{tail}"], endpoints[f"dms-endpoint-reverse-target-{tail}"]
    # Source = the Aurora writer, read by logical decoding from the slot migrationctl cutover creates.
    assert (source["endpoint_type"], source["engine_name"], source["database_name"]) == (
        "source",
        "aurora-postgresql",
        config.aurora.database_name,
    )
    assert source["postgres_settings"]["slot_name"] == config.dms.reverse_slot_name
    assert source["postgres_settings"]["plugin_name"] == "test_decoding"
    # Target = on-prem, its own secret, replica session so FKs and triggers do not fire twice.
    assert (target["endpoint_type"], target["engine_name"], target["database_name"]) == (
        "target",
        "postgres",
        config.source.database_name,
    )
    assert target["postgres_settings"]["after_connect_script"] == "SET session_replication_role = 'replica'"
    secrets = {s["name"]: k for k, s in synth["resource"]["aws_secretsmanager_secret"].items()}
    assert target["secrets_manager_arn"] == f"${{aws_secretsmanager_secret.{secrets[f'secret-dms-reverse-target-{tail}']}.arn}}"
    assert source["secrets_manager_arn"] == f"${{aws_secretsmanager_secret.{secrets[f'secret-dms-target-{tail}']}.arn}}"
    (task,) = [t for t in resources_of(synth, "aws_dms_replication_task") if t["migration_type"] == "cdc"]
    by_id = {v["endpoint_id"]: k for k, v in synth["resource"]["aws_dms_endpoint"].items()}
    assert task["source_endpoint_arn"] == f"${{aws_dms_endpoint.{by_id[source['endpoint_id']]}.endpoint_arn}}"
    assert task["target_endpoint_arn"] == f"${{aws_dms_endpoint.{by_id[target['endpoint_id']]}.endpoint_arn}}"
    assert task["cdc_start_position"] == REVERSE_LSN and task["start_replication_task"] is False
    assert json.loads(task["replication_task_settings"])["ValidationSettings"]["EnableValidation"] is False
    running = [t for t in resources_of(phase_synth(environment, P.ROLLBACK_WINDOW), "aws_dms_replication_task")]
    assert {t["migration_type"]: t["start_replication_task"] for t in running} == {"cdc": True, "full-load-and-cdc": False}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_decommission_removes_the_migration_only_resources(phase_synth: Any, environment: str) -> None:
    before, after = phase_synth(environment, P.ROLLBACK_WINDOW), phase_synth(environment, P.DECOMMISSION)
    dms_types = [t for t in after["resource"] if t.startswith("aws_dms_")]
    assert dms_types == []
    assert not [k for k in after["resource"]["aws_secretsmanager_secret"] if "dms" in k]
    colours = {g["tags"]["Colour"] for g in resources_of(after, "aws_lb_target_group")}
    assert colours == {"green"} and "aws_lb_target_group_attachment" not in after["resource"]
    assert listener_weights(after) == {"green": 100}
    assert "aws_datasync_task" not in after["resource"]
    # What stays: Aurora, the buckets, the network, monitoring, ECS, the keys, and the evidence log groups.
    for unchanged in ("aws_rds_cluster", "aws_s3_bucket", "aws_vpc", "aws_sns_topic", "aws_ecs_cluster", "aws_lb", "aws_kms_key"):
        assert after["resource"][unchanged] == before["resource"][unchanged]
    for rewired in ("aws_cloudwatch_dashboard", "aws_cloudwatch_composite_alarm"):
        assert after["resource"][rewired].keys() == before["resource"][rewired].keys()
    logs = {g["name"] for g in resources_of(after, "aws_cloudwatch_log_group")}
    assert any(name.startswith("dms-tasks-") for name in logs) and any("datasync" in name for name in logs)


@pytest.mark.parametrize("environment", DEV_EVERYDAY)
def test_image_sync_is_scheduled_until_the_window(agent_synth: Any, environment: str) -> None:
    schedules = {}
    for phase in MigrationPhase:
        tasks = resources_of(agent_synth(environment, phase), "aws_datasync_task")
        schedules[phase.value] = [bool(t.get("schedule")) for t in tasks]
    assert schedules == {
        "foundation": [True],
        "full-load": [True],
        "cdc": [True],
        "cutover": [False],
        "rollback-window": [False],
        "decommission": [],
    }


# ----------------------------------------------------------------------------- transitions


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize(("previous", "current"), TRANSITIONS, ids=[f"{a.value}->{b.value}" for a, b in TRANSITIONS])
def test_transition_changes_exactly_what_the_table_says(
    phase_synth: Any, environment: str, previous: MigrationPhase, current: MigrationPhase
) -> None:
    """Computed from the JSON of both phases: anything else — above all Aurora, the keys, the image bucket — fails."""
    changes = synth_changes(phase_synth(environment, previous), phase_synth(environment, current))
    agent = phase_config(environment, previous).files.agent_configured
    assert violations(changes, previous, current, image_agent=agent) == []
    assert not [c for c in changes if is_protected(c.path)]
    for change in changes:
        print(f"{environment} {previous.value} -> {current.value}: {change.action.value:<7} {change.address}")


@pytest.mark.parametrize(("previous", "current"), TRANSITIONS, ids=[f"{a.value}->{b.value}" for a, b in TRANSITIONS])
def test_transition_with_the_datasync_agent_changes_exactly_what_the_table_says(
    agent_synth: Any, previous: MigrationPhase, current: MigrationPhase
) -> None:
    """The second pass's stack (the agent configured): the image task changes with the phase too."""
    changes = synth_changes(agent_synth("dev", previous), agent_synth("dev", current))
    assert violations(changes, previous, current, image_agent=True) == []


REFERENCE = re.compile(r"\$\{((?:aws|data\.aws)_[a-z0-9_]+\.[A-Za-z0-9_-]+)\.")


DATA_ONLY_REFERRERS = frozenset({"aws_cloudwatch_dashboard"})
"""Resources that only name others in a document AWS does not check (a dashboard's widgets)."""


def _resources(synth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{kind}.{name}": body for kind, items in synth.get("resource", {}).items() for name, body in items.items()}


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize(("previous", "current"), TRANSITIONS, ids=[f"{a.value}->{b.value}" for a, b in TRANSITIONS])
def test_a_deleted_resource_outlives_the_update_of_what_referenced_it(
    phase_synth: Any, environment: str, previous: MigrationPhase, current: MigrationPhase
) -> None:
    """Terraform deletes a resource *before* updating one that stops referencing it, unless the deleted one is
    create_before_destroy. AWS refuses such deletes (a target group in use by the listener, an alarm in a composite's
    rule): the deploy rehearsal's decommission failed on exactly this. Every such pair, in every transition."""
    before, after = _resources(phase_synth(environment, previous)), _resources(phase_synth(environment, current))
    deleted = before.keys() - after.keys()
    wrong = []
    for address in before.keys() & after.keys():
        if address.split(".")[0] in DATA_ONLY_REFERRERS:
            continue
        body = {k: v for k, v in before[address].items() if k != "depends_on"}
        for referenced in set(REFERENCE.findall(json.dumps(body))) & deleted:
            if not before[referenced].get("lifecycle", {}).get("create_before_destroy"):
                wrong.append(f"{referenced} (referenced by {address})")
    assert not wrong, f"deleted before their referrers change: {sorted(wrong)}"


def test_expected_changes_follow_the_table() -> None:
    assert expected_changes(P.FOUNDATION, P.FULL_LOAD) == {Component.FORWARD_TASK: Change.CHANGED}
    assert expected_changes(P.FULL_LOAD, P.CDC) == {}
    assert expected_changes(P.CDC, P.CUTOVER) == {
        Component.FORWARD_TASK: Change.CHANGED,
        Component.REVERSE_REPLICATION: Change.ADDED,
        Component.TRAFFIC: Change.CHANGED,
        Component.IMAGE_SYNC: Change.CHANGED,
    }
    assert expected_changes(P.ROLLBACK_WINDOW, P.DECOMMISSION)[Component.REPLICATION] is Change.REMOVED


def test_the_checker_catches_an_unintended_replacement_and_a_missing_change() -> None:
    aurora = ResourceChange("aws_rds_cluster.aurora_cluster_059EF40F", "aurora/cluster", Action.REPLACE)
    bucket = ResourceChange("aws_s3_bucket.storage_images_1", "storage/images", Action.UPDATE)
    replaced_sg = ResourceChange("aws_security_group.security-groups_app_1", "security-groups/app", Action.REPLACE)
    stray = ResourceChange("aws_vpc.network_vpc_1", "network/vpc", Action.UPDATE)
    retag = ResourceChange("aws_vpc.network_vpc_1", "network/vpc", Action.RETAG)
    forward = ResourceChange("aws_dms_replication_task.dms_task_1", "dms/task", Action.UPDATE)
    problems = violations([aurora, bucket, replaced_sg, stray, retag, forward], P.FOUNDATION, P.FULL_LOAD)
    assert problems == [
        "aws_rds_cluster.aurora_cluster_059EF40F: protected resource would be replaced",
        "aws_s3_bucket.storage_images_1: protected resource would be updated",
        "aws_security_group.security-groups_app_1: would be replaced",
        "aws_vpc.network_vpc_1: unintended update (no phase-dependent component)",
    ]
    assert violations([retag], P.FOUNDATION, P.FULL_LOAD) == ["forward-task: should be changed but nothing changed"]
    wrong_way = ResourceChange("aws_dms_replication_task.dms_reverse-task_1", "dms/reverse-task", Action.DELETE)
    assert violations([forward, wrong_way], P.FOUNDATION, P.FULL_LOAD) == [
        "aws_dms_replication_task.dms_reverse-task_1: unintended delete (component reverse-replication)"
    ]


def test_paths_and_components() -> None:
    assert path_of_logical_id("dms_reverse-task_C4127E0B") == "dms/reverse-task"
    assert component_of("dms/task") is Component.FORWARD_TASK and component_of("dms/task-logs") is None
    assert component_of("dms/dms-reverse-target-secret") is Component.REVERSE_REPLICATION
    assert component_of("files/logs") is None and component_of("files/task") is Component.IMAGE_SYNC
    assert is_protected("aurora/instance-2") and is_protected("kms/rds") and not is_protected("aurora/parameters")


def test_construct_ids_never_contain_underscores(synthesized: Any) -> None:
    """path_of_logical_id relies on it: cdktf joins construct ids with '_'."""
    ids = [logical_id for by_id in synthesized("prod")["resource"].values() for logical_id in by_id]
    assert all(logical_id.count("_") == path_of_logical_id(logical_id).count("/") + 1 for logical_id in ids)


# ----------------------------------------------------------------------------- the real provider, checkov, snapshots


@pytest.mark.parametrize(
    ("environment", "phase"),
    # dev's foundation in the everyday tier; the rest in `make check` (each is another real `terraform validate`).
    [
        pytest.param(e, p, marks=() if (e, p) == ("dev", MigrationPhase.FOUNDATION) else pytest.mark.wide, id=f"{e}-{p.value}")
        for e, p in ALL
    ],
)
def test_every_phase_validates(
    offline_terraform: Any, phase_synth: Any, environment: str, phase: MigrationPhase, tmp_path: Path
) -> None:
    result = offline_terraform.validate(phase_synth(environment, phase), tmp_path)
    assert result.ok, result.output[-3000:]


@pytest.mark.parametrize("environment", DEV_EVERYDAY)
def test_checkov_on_every_phase(phase_synth: Any, environment: str, tmp_path: Path) -> None:
    from inventory_migration.rules.checkov import checkov_view, skipped_checks
    from tests.test_checkov import run_checkov

    for phase in MigrationPhase:
        (tmp_path / phase.value).mkdir()
        (tmp_path / phase.value / "cdk.tf.json").write_text(json.dumps(checkov_view(phase_synth(environment, phase))))
    report = run_checkov(tmp_path, skipped_checks(environment))
    failed = [f"{f['check_id']} {f['file_path']} {f['resource']}" for f in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] > 1200


@pytest.mark.parametrize(("environment", "phase"), ALL, ids=[f"{e}-{p.value}" for e, p in ALL])
def test_every_phase_passes_every_rule(phase_synth: Any, environment: str, phase: MigrationPhase) -> None:
    from inventory_migration.rules import evaluate
    from tests.stacks.test_stack import context

    synth = phase_synth(environment, phase)
    assert evaluate(synth, context(environment, synth)) == []
    assert synth["provider"]["aws"][0]["default_tags"][0]["tags"]["MigrationPhase"] == phase.value


@pytest.mark.parametrize(("environment", "phase"), ALL, ids=[f"{e}-{p.value}" for e, p in ALL])
def test_phase_snapshot(phase_synth: Any, environment: str, phase: MigrationPhase, snapshot: Any) -> None:
    assert json.dumps(phase_synth(environment, phase), indent=2, sort_keys=True) == snapshot


def test_phase_output_records_the_deployed_phase(phase_synth: Any) -> None:
    for phase in MigrationPhase:
        assert phase_synth("dev", phase)["output"]["migration_phase"]["value"] == phase.value
