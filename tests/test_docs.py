"""The docs name only what exists: make targets, migrationctl commands and flags, cdktf commands, config keys — and the
generated phase tables are current."""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONFIG_SECTIONS = ("network", "source", "aurora", "dms", "storage", "monitoring", "kms", "backend", "app", "files")


def code_of(path: Path) -> Iterator[tuple[str, str]]:
    """(location, code) for every inline code span and every line of every fenced block."""
    text = path.read_text(encoding="utf-8")
    fenced = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
    for block in fenced.finditer(text):
        line_no = text[: block.start()].count("\n") + 2
        for i, line in enumerate(block.group(1).splitlines()):
            yield f"{path.name}:{line_no + i}", line
    prose = fenced.sub("", text)
    for span in re.finditer(r"`([^`\n]+)`", prose):
        yield f"{path.name}", span.group(1)


def all_code() -> list[tuple[str, str]]:
    return [item for path in DOCS for item in code_of(path)]


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))


def test_make_targets_exist() -> None:
    targets = make_targets()
    named = {(where, m) for where, code in all_code() for m in re.findall(r"\bmake ([a-z][a-z-]*)", code)}
    assert named, "the docs name make targets"
    assert [f"{where}: make {m}" for where, m in sorted(named) if m not in targets] == []


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {opt for action in parser._actions for opt in action.option_strings}


def migrationctl_problem(invocation: str) -> str | None:
    """Why ``migrationctl …`` (one command line) names something that does not exist."""
    from inventory_migration.migrationctl.cli import build_parser

    root = build_parser()
    parser = root
    tokens = invocation.split()
    if tokens and tokens[0] in ("…", "..."):
        return None  # prose: "migrationctl … (any command)"
    words = []
    for token in tokens:
        if token.startswith("-") or not re.fullmatch(r"[a-z][a-z-]*", token):
            break
        children = _subparsers(parser)
        if not children:
            break
        if token not in children:
            return f"no command {' '.join([*words, token])!r}"
        words.append(token)
        parser = children[token]
    if _subparsers(parser):
        return f"{' '.join(words) or 'migrationctl'} needs a subcommand"
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", invocation))
    unknown = flags - _options(parser) - _options(root)
    return f"unknown flag(s) {', '.join(sorted(unknown))} for {' '.join(words)!r}" if unknown else None


def test_migrationctl_commands_and_flags_exist() -> None:
    found = []
    for where, code in all_code():
        for match in re.finditer(r"\bmigrationctl((?: [^|;&]*)?)", code):
            found.append((where, match.group(1).strip()))
    assert len(found) > 10
    problems = [f"{where}: migrationctl {inv}: {p}" for where, inv in found if inv and (p := migrationctl_problem(inv))]
    assert problems == []


def test_the_checker_catches_what_does_not_exist() -> None:
    assert migrationctl_problem("verify --tables a.b") is None
    assert migrationctl_problem("verify --no-such-flag") == "unknown flag(s) --no-such-flag for 'verify'"
    assert migrationctl_problem("teleport now") == "no command 'teleport'"
    assert migrationctl_problem("schema") == "schema needs a subcommand"


@pytest.fixture(scope="module")
def cdktf_commands() -> set[str]:
    binary = ROOT / "node_modules" / ".bin" / "cdktf"
    if not binary.exists():
        pytest.fail("node_modules/.bin/cdktf missing: npm ci")
    help_text = subprocess.run(
        [str(binary), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"CHECKPOINT_DISABLE": "1", "PATH": str(binary.parent) + ":/usr/bin:/bin"},
    ).stdout
    commands = set(re.findall(r"^\s+cdktf ([a-z-]+)", help_text, re.M))
    aliases = {a.strip() for group in re.findall(r"\[aliases: ([^\]]+)\]", help_text) for a in group.split(",")}
    return commands | aliases


def test_cdktf_commands_exist(cdktf_commands: set[str]) -> None:
    assert {"deploy", "destroy", "synth", "diff", "output"} <= cdktf_commands
    named = {(where, m) for where, code in all_code() for m in re.findall(r"(?:^|npx )cdktf ([a-z][a-z-]*)", code.strip())}
    assert [f"{where}: cdktf {m}" for where, m in sorted(named) if m not in cdktf_commands] == []


def _fields(cls: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if not f.metadata.get("internal")}


def config_key_problem(dotted: str) -> str | None:
    from inventory_migration.config import MigrationConfig

    cls: Any = MigrationConfig
    for part in dotted.split("."):
        fields = _fields(cls)
        if part not in fields:
            return f"no config key {dotted!r}"
        cls = fields[part]
        if not dataclasses.is_dataclass(cls):
            return None
    return None


def test_config_keys_exist() -> None:
    section = "|".join(CONFIG_SECTIONS)
    named = set()
    for where, code in all_code():
        for match in re.finditer(rf"(?<![\w./])((?:{section})\.[a-z_]+(?:\.[a-z_]+)?)(?![\w(/-])", code):
            named.add((where, match.group(1)))
    for path in DOCS:  # keys inside ```toml blocks, under their [section]
        text = path.read_text(encoding="utf-8")
        for block in re.finditer(r"^```toml\n(.*?)^```", text, re.S | re.M):
            prefix = ""
            for line in block.group(1).splitlines():
                header = re.match(r"^\[([a-z_.]+)\]", line)
                if header:
                    prefix = header.group(1) + "."
                key = re.match(r"^#?\s*([a-z_]+)\s*=", line)
                if key:
                    named.add((path.name, prefix + key.group(1)))
    assert len(named) > 10
    assert [f"{where}: {key}: {p}" for where, key in sorted(named) if (p := config_key_problem(key))] == []


def test_config_key_checker() -> None:
    assert config_key_problem("dms.reverse_cdc_start_position") is None
    assert config_key_problem("monitoring.thresholds.aurora_connections") is None
    assert config_key_problem("app.colour") == "no config key 'app.colour'"


def test_generated_phase_tables_are_current(phase_synth: Any) -> None:
    from inventory_migration.phase_report import BEGIN, END, report
    from inventory_migration.phases import MigrationPhase

    text = (ROOT / "docs" / "phases.md").read_text(encoding="utf-8")
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    expected = report({env: {phase: phase_synth(env, phase) for phase in MigrationPhase} for env in ("dev", "prod")})
    assert current == expected, "docs/phases.md is stale: run `make phases` and paste its output"
