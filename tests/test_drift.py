"""One fact, one definition: where two places must agree, a test that fails when they drift.

* a config section is its construct's settings, declared once: no construct's wiring declares a setting again or a
  default, every configuration field reaches the stack, and every optional field documents its default;
* the stack's outputs are the :class:`StackOutput` enum, and every output migrationctl reads exists in the phases it
  runs in;
* the reverse slot name, the cutover's gate defaults and the state records are defined once and shown by argparse;
* the shared plumbing behaves as its callers rely on (durable atomic JSON, the poll's deadline, the journal's step
  names, the user-schema filter in SQL and in Python).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import os
import pkgutil
import re
import typing
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.config.base import field_default
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.devtools.config_doc import field_docs as attribute_docs
from inventory_migration.migrationctl import records

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ROOT / "inventory_migration"

# ----------------------------------------------------------------------------- config sections are the constructs' settings


def stated_default(doc: str | None) -> str | None:
    """The value a docstring's ``Default: …`` states: up to the first parenthesis, comma, semicolon or full stop."""
    match = re.search(r"Default: (.*)$", doc or "")
    if match is None:
        return None
    return re.split(r" \(|;|,|\.$|\. ", match.group(1).replace("``", ""))[0].strip().lower()


def settings_constructs() -> dict[str, tuple[type, type]]:
    """Every construct that takes a configuration section as its settings: name -> (settings type, wiring type)."""
    found = {}
    for cls in _classes_of("inventory_migration.constructs"):
        init = vars(cls).get("__init__")
        hints = typing.get_type_hints(init) if init is not None else {}
        if "settings" in hints and "wiring" in hints:
            found[cls.__name__] = (hints["settings"], hints["wiring"])
    return found


def redeclared(settings: type, wiring: type) -> list[str]:
    """What a wiring type declares that its settings already say: a field of the same name (or a property's name),
    and any default (wiring is references from other constructs and the phase's facts: the stack names each)."""
    said = {f.name for f in dataclasses.fields(settings)} | {
        n for n in dir(settings) if isinstance(getattr(settings, n), property)
    }
    problems = []
    for f in dataclasses.fields(wiring):
        if f.name in said:
            problems.append(f"{wiring.__name__}.{f.name}: {settings.__name__} declares it")
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            problems.append(f"{wiring.__name__}.{f.name}: has a default")
    return problems


def test_each_config_section_is_a_constructs_settings() -> None:
    pairs = {name: (s.__name__, w.__name__) for name, (s, w) in settings_constructs().items()}
    assert pairs == {
        "Network": ("NetworkConfig", "NetworkWiring"),
        "AuroraCluster": ("AuroraConfig", "AuroraWiring"),
        "DmsReplication": ("DmsConfig", "DmsWiring"),
        "ImageStorage": ("StorageConfig", "ImageStorageWiring"),
        "BlueGreenApplication": ("ApplicationConfig", "BlueGreenApplicationWiring"),
        "ImageTransfer": ("FilesConfig", "ImageTransferWiring"),
        "EncryptionKeys": ("KmsConfig", "EncryptionKeysWiring"),
    }


def test_no_wiring_declares_a_setting_again_or_a_default() -> None:
    assert [problem for settings, wiring in settings_constructs().values() for problem in redeclared(settings, wiring)] == []


def test_the_redeclaration_check_sees_a_copy_and_a_default() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Section:
        size: int = 64
        """Size. Default: 64."""

        @property
        def doubled(self) -> int:
            return self.size * 2

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Wiring:
        size: int
        doubled: int
        key_arn: str = ""

    assert redeclared(Section, Wiring) == [
        "Wiring.size: Section declares it",
        "Wiring.doubled: Section declares it",
        "Wiring.key_arn: has a default",
    ]


def config_field_names() -> set[str]:
    from inventory_migration.config import MigrationConfig

    names = set()
    for f in dataclasses.fields(MigrationConfig):
        if isinstance(f.default_factory, type) and dataclasses.is_dataclass(f.default_factory):
            names |= {g.name for g in dataclasses.fields(f.default_factory)}
    return names


def defaults_shadowing_config(classes: list[type], config_names: set[str]) -> list[str]:
    """Fields of construct types that carry a default under a name a config section declares: a second default for
    what reads as the same setting."""
    return [
        f"{cls.__name__}.{f.name}"
        for cls in classes
        for f in dataclasses.fields(cls)
        if f.name in config_names and (f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING)
    ]


def test_no_construct_type_gives_a_config_setting_a_second_default() -> None:
    """Every props and wiring type of every construct: none repeats a setting's name with a default of its own."""
    assert defaults_shadowing_config(_dataclasses_of("inventory_migration.constructs"), config_field_names()) == []


def test_the_shadow_check_sees_a_second_default() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Props:
        force_destroy: bool = True
        namer: str

    assert defaults_shadowing_config([Props], {"force_destroy"}) == ["Props.force_destroy"]


UNREAD = {
    "SourceDatabaseConfig.engine_major": "nothing yet (found by this test): validated, then unread; kept so files that set "
    "it still load, until it is either used or retired",
}
"""Configuration fields nothing reads, and why they stay."""


def config_fields(config: Any) -> set[str]:
    """``Class.field`` of every field of the configuration and its sections (internal fields left out)."""
    found = set()
    for f in dataclasses.fields(config):
        if f.metadata.get("internal"):
            continue
        found.add(f"{type(config).__name__}.{f.name}")
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            found |= config_fields(value)
    return found


def test_every_config_field_reaches_the_stack(config_reads: dict[str, Any]) -> None:
    """Built in every environment and phase, with the branches the shipped files leave untaken (a Transit Gateway,
    on-prem DNS, an SMB share and its agent), the stack reads every configuration field but those read before it."""
    from inventory_migration.config import MigrationConfig
    from inventory_migration.devtools.config_doc import READ_BEFORE_THE_STACK

    before = {f"MigrationConfig.{name}" for name in READ_BEFORE_THE_STACK}
    assert sorted(config_fields(MigrationConfig()) - set(config_reads) - before - set(UNREAD)) == []


def test_the_reach_check_records_a_field_read() -> None:
    from inventory_migration.config import StorageConfig
    from inventory_migration.devtools.config_doc import recording

    seen: set[str] = set()
    active = [False]
    section = recording(StorageConfig(), seen, active)
    assert seen == set()  # construction (validation) is not a read
    active[0] = True
    assert section.force_destroy is True
    assert seen == {"StorageConfig.force_destroy"}


def _classes_of(package: str) -> list[type]:
    module = importlib.import_module(package)
    found = []
    for info in pkgutil.iter_modules(module.__path__):
        child = importlib.import_module(f"{package}.{info.name}")
        found += [obj for obj in vars(child).values() if isinstance(obj, type) and obj.__module__ == child.__name__]
    return found


def _dataclasses_of(package: str) -> list[type]:
    return [cls for cls in _classes_of(package) if dataclasses.is_dataclass(cls)]


def test_every_optional_field_documents_its_default() -> None:
    missing = []
    for cls in _dataclasses_of("inventory_migration.config") + _dataclasses_of("inventory_migration.constructs"):
        docs = attribute_docs(cls)
        for f in dataclasses.fields(cls):
            has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            if has_default and stated_default(docs.get(f.name)) is None:
                missing.append(f"{cls.__name__}.{f.name}")
    assert missing == []


# ----------------------------------------------------------------------------- stack outputs vs their readers


def _outputs(synth: dict[str, Any]) -> set[str]:
    return set(synth.get("output", {}))


def test_every_output_of_every_phase_is_a_stack_output_member(phase_synth: Any) -> None:
    from inventory_migration.contracts.phases import MigrationPhase
    from inventory_migration.stacks.migration import MigrationStack, stack_name
    from inventory_migration.synth.cdk import Testing
    from tests.conftest import phase_config

    seen: set[str] = set()
    for environment in ("dev", "prod"):
        for phase in MigrationPhase:
            outputs = _outputs(phase_synth(environment, phase))
            assert outputs <= {o.value for o in StackOutput}, (environment, phase)
            seen |= outputs
    # The second pass of the first deploy: the DataSync agent configured, its task exists.
    config = phase_config("dev", MigrationPhase.CDC)
    config = dataclasses.replace(
        config,
        files=dataclasses.replace(
            config.files, agent_arn="arn:aws:datasync:us-east-1:210987654321:agent/agent-0a1b2c3d4e5f6a7b8"
        ),
    )
    seen |= _outputs(json.loads(Testing.synth(MigrationStack(Testing.app(), stack_name(config), config=config))))
    assert seen == {o.value for o in StackOutput}, "a StackOutput member no phase declares"


READS = {
    "cutover": ("cdc", ("dms_reverse_task_arn",)),
    "rollback": ("cutover", ()),
}
"""migrationctl operation -> (the phase it runs from, outputs it reads that need not exist yet there)."""


@pytest.mark.parametrize("operation", sorted(READS))
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_migrationctl_reads_only_outputs_the_stack_has(phase_synth: Any, operation: str, environment: str) -> None:
    from inventory_migration.contracts.phases import MigrationPhase
    from inventory_migration.migrationctl.cutover.commands import OUTPUT_FLAGS

    phase_name, optional = READS[operation]
    phases = [MigrationPhase(phase_name)] + ([MigrationPhase.ROLLBACK_WINDOW] if operation == "rollback" else [])
    for phase in phases:
        outputs = _outputs(phase_synth(environment, phase))
        missing = [o.value for o in OUTPUT_FLAGS.values() if o.value not in outputs and o.value not in optional]
        assert missing == [], f"{operation} in {phase.value}: the stack has no output {missing}"


def test_the_cutover_flags_name_their_stack_outputs() -> None:
    from inventory_migration.migrationctl.cli import build_parser

    parser = build_parser()
    cutover = next(a for a in parser._actions if a.dest == "command").choices["cutover"]  # type: ignore[union-attr]
    helps = {action.dest: action.help or "" for action in cutover._actions}
    from inventory_migration.migrationctl.cutover.commands import OUTPUT_FLAGS

    assert [dest for dest, output in OUTPUT_FLAGS.items() if output.value not in helps[dest]] == []


# ----------------------------------------------------------------------------- names and defaults defined once


def test_the_reverse_slot_name_is_one_definition() -> None:
    from inventory_migration.config import DmsConfig
    from inventory_migration.contracts.names import REVERSE_SLOT_NAME
    from inventory_migration.migrationctl.cli import build_parser
    from inventory_migration.migrationctl.cutover.replication import DmsReplication

    args = build_parser().parse_args(["rollback", "--app-roles", "app"])
    assert {
        field_default(DmsConfig, "reverse_slot_name"),
        field_default(DmsReplication, "reverse_slot"),
        args.reverse_slot,
    } == {REVERSE_SLOT_NAME}


def test_dms_heartbeats_come_more_often_than_the_drain_gives_up() -> None:
    """The slot (the drain's secondary signal) moves on a frozen source only with DMS's heartbeat: the heartbeat
    interval (the construct takes it from the config) is shorter than the drain's default timeout."""
    from inventory_migration.config.dms import DmsConfig
    from inventory_migration.migrationctl.cutover.settings import Settings

    assert field_default(DmsConfig, "heartbeat_frequency_minutes") * 60 < field_default(Settings, "drain_timeout")


GATE_FLAGS = {
    "drain_timeout": "drain_timeout",
    "max_lag_bytes": "max_lag_bytes",
    "max_lag_seconds": "max_lag_seconds",
    "verify_max_age_hours": "verify_max_age_hours",
    "gap": "sequence_gap",
    "jobs": "verify_jobs",
}
"""argparse destination of cutover/rollback -> the Settings field whose default it shows."""


@pytest.mark.parametrize("operation", ["cutover", "rollback"])
def test_gate_defaults_come_from_the_settings(operation: str) -> None:
    from inventory_migration.migrationctl.cli import build_parser
    from inventory_migration.migrationctl.cutover.settings import Settings

    parser = build_parser()
    args = parser.parse_args([operation, "--app-roles", "app"])
    sub = next(a for a in parser._actions if a.dest == "command").choices[operation]  # type: ignore[union-attr]
    helps = {action.dest: action.help or "" for action in sub._actions}
    for dest, field in GATE_FLAGS.items():
        default = field_default(Settings, field)
        assert getattr(args, dest) == default, dest
        shown = f"{default // 1024**2} MiB" if dest == "max_lag_bytes" else f"{default:g}"
        assert f"(default: {shown})" in helps[dest], (dest, helps[dest])


def test_the_sequence_gap_is_one_definition() -> None:
    from inventory_migration.migrationctl.cli import build_parser
    from inventory_migration.migrationctl.cutover.settings import Settings
    from inventory_migration.migrationctl.pg.sequences import DEFAULT_GAP

    args = build_parser().parse_args(["sequences", "sync"])
    assert args.gap == field_default(Settings, "sequence_gap") == DEFAULT_GAP


RECORD_NAMES = (records.VERIFY_RECORD, records.FILES_VERIFY_RECORD, records.FILES_VERIFY_PROGRESS)


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_each_record_name_is_written_once_in_the_product(name: str) -> None:
    where = [str(p.relative_to(ROOT)) for p in PRODUCT.rglob("*.py") if f'"{name}"' in p.read_text(encoding="utf-8")]
    assert where == ["inventory_migration/migrationctl/records.py"]


def test_no_module_of_the_product_imports_the_harness_or_dev_only_packages() -> None:
    dev_only = ("harness", "moto", "matplotlib", "pytest", "cryptography")
    offenders = []
    for path in PRODUCT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in dev_only]
    assert offenders == []


# ----------------------------------------------------------------------------- the shared plumbing


def test_write_json_replaces_whole_and_syncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    path = tmp_path / "deep" / "record.json"
    records.write_json(path, {"b": 1, "a": [1, 2]})
    records.write_json(path, {"a": 2})
    assert records.read_json(path) == {"a": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["record.json"]  # no temporary file left
    assert len(synced) == 4  # the file and its directory, each time


def test_write_json_never_leaves_half_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "record.json"
    records.write_json(path, {"old": True})

    def crash(*_args: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        records.write_json(path, {"new": True})
    assert records.read_json(path) == {"old": True}


def test_poll_returns_the_first_true_value_and_gives_up_after_the_deadline() -> None:
    from inventory_migration.migrationctl.polling import poll

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    answers = iter([None, 0, "ready"])
    assert (
        poll(lambda: next(answers), timeout=10, interval=1, timed_out=RuntimeError, clock=lambda: now[0], sleep=sleep) == "ready"
    )
    assert slept == [1, 1]
    now[0], slept[:] = 0.0, []
    with pytest.raises(TimeoutError, match="never"):
        poll(lambda: False, timeout=3, interval=1, timed_out=lambda: TimeoutError("never"), clock=lambda: now[0], sleep=sleep)
    assert now[0] == 4  # checked at 0, 1, 2, 3 (the deadline) and 4, the first check past it: then it gave up


def test_the_journal_refuses_a_step_its_operation_does_not_have(tmp_path: Path) -> None:
    from inventory_migration.migrationctl.cutover.journal import Journal, UnknownStep
    from inventory_migration.migrationctl.cutover.steps import CUTOVER_STEPS, JOURNAL_STEPS, ROLLBACK_STEPS

    journal = Journal(tmp_path / "cutover.json", "cutover", CUTOVER_STEPS)
    with pytest.raises(UnknownStep, match="cutover has no step 'frezee'"), journal.step("frezee"):
        pass
    with pytest.raises(UnknownStep):
        journal.done("reverse-drain")
    assert not (tmp_path / "cutover.json").exists()  # refused before anything was written
    assert set(ROLLBACK_STEPS) <= set(JOURNAL_STEPS["rollback"])


def test_the_step_tables_are_the_names_everyone_uses() -> None:
    from inventory_migration.migrationctl.cutover import steps

    for table in (steps.CUTOVER, steps.ROLLBACK, steps.ABORT):
        names = [step.name for step in table]
        assert len(names) == len(set(names))
    assert steps.CUTOVER_STEPS == (
        "gates",
        "freeze",
        "drain",
        "fence-forward",
        "sequences",
        "way-back",
        "switch",
        "stop-forward",
        "start-reverse",
        "verify",
    )
    assert tuple(s.name for s in steps.CUTOVER) == steps.CUTOVER_STEPS


@pytest.mark.parametrize(
    ("name", "user"),
    [
        ("inventory", True),
        ("public", True),
        ("pg_catalog", False),
        ("information_schema", False),
        ("pg_toast", False),
        ("pg_toast_temp_3", False),
        ("pg_temp_3", False),
        ("pglogical", False),
        ("migration_control", False),
        ("pg_tempest", True),
    ],
)
def test_user_schema_in_python(name: str, user: bool) -> None:
    from inventory_migration.migrationctl.pg.objects import is_user_schema

    assert is_user_schema(name) is user


def test_user_schema_and_object_filters_agree_in_sql_and_python(empty_db: str) -> None:
    """On a real server: the SQL predicates select exactly what the Python twins accept."""
    import psycopg

    from inventory_migration.migrationctl.pg.objects import is_user_object, is_user_schema, user_object, user_schema

    names = [
        "inventory",
        "public",
        "pg_catalog",
        "pg_toast",
        "pglogical",
        "migration_control",
        "pg_temp_3",
        "pg_tempest",
        "awsdms_control",
        "a_b",
    ]
    objects = ["orders", "awsdms_heartbeat", "awsdms_heartbeat_hb_key_seq", "awsdmsx", "awsdms"]
    with psycopg.connect(empty_db, autocommit=True) as conn:
        schema_rows = conn.execute(
            f"SELECT n FROM unnest(%s::text[]) AS t(n) WHERE {user_schema('n')} ORDER BY 1", (names,)
        ).fetchall()
        object_rows = conn.execute(
            f"SELECT n FROM unnest(%s::text[]) AS t(n) WHERE {user_object('n')} ORDER BY 1", (objects,)
        ).fetchall()
    assert [r[0] for r in schema_rows] == sorted(n for n in names if is_user_schema(n))
    assert [r[0] for r in object_rows] == sorted(n for n in objects if is_user_object(n))
