"""The docs name only what exists: make targets, migrationctl commands and flags, cdktf commands, config keys — and the
generated phase tables are current."""

from __future__ import annotations

import argparse
import ast
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
        for match in re.finditer(rf"(?<![\w./\"])((?:{section})\.[a-z_]+(?:\.[a-z_]+)?)(?![\w(/-])", code):
            if match.group(1).rsplit(".", 1)[-1] not in EXTENSIONS:  # app.py is a file, not a key
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
    from inventory_migration.contracts.phases import MigrationPhase
    from inventory_migration.devtools.phase_report import BEGIN, END, report

    text = (ROOT / "docs" / "phases.md").read_text(encoding="utf-8")
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    from tests.conftest import phase_config

    expected = report(
        {env: {phase: phase_synth(env, phase) for phase in MigrationPhase} for env in ("dev", "prod")},
        {env: phase_config(env, MigrationPhase.FOUNDATION).files.agent_configured for env in ("dev", "prod")},
    )
    assert current == expected, "docs/phases.md is stale: run `make phases` and paste its output"


# ----------------------------------------------------------------------------- every path and module named exists

CONFIG_FILES = sorted((ROOT / "config").glob("*.toml"))
KNOWN_DIRS = (
    ".ci/",
    "config/",
    "docs/",
    "examples/",
    "harness/",
    "inventory_migration/",
    "scripts/",
    "tests/",
    "constructs/",
    "stacks/",
    "rules/",
    "dashboards/",
    "migrationctl/",
    "node_modules/",
)
"""A token starting with one of these is a path (``blue/green`` in prose is not)."""
EXTENSIONS = ("py", "md", "toml", "json", "jsonl", "png", "sql", "lock", "yml", "yaml")
NOT_IN_THE_REPOSITORY = {
    "outputs.json": "an example: the operator's `terraform output -json`",
    "source.json": "an example: the secret value the operator writes",
    "params.toml": "an example: what `migrationctl params export --write` writes",
    "cdk.tf.json": "written by `cdktf synth`",
    "verify-last.json": "written by `migrationctl verify` into the state (records.VERIFY_RECORD)",
    "files-verify-last.json": "written by `migrationctl files verify` into the state (records.FILES_VERIFY_RECORD)",
    "migration.yml": "where a team copies examples/ci/github-actions.yml in its own repository",
}
"""Names the docs use for files that exist only on the operator's machine or after a command ran, with the reason."""
GENERATED_PREFIXES = (".migrationctl/", "cdktf.out/", "build/")
"""Paths under these are written at run time (state, synth output, rehearsal output)."""
_PATH = re.compile(r"(?<![\w./:@$~-])(\.?(?:[\w-]+/)+(?:[\w.-]*[\w])?/?|[\w-]+\.(?:" + "|".join(EXTENSIONS) + r"))(?![\w/<>*{}])")
_MODULE = re.compile(r"\b((?:inventory_migration|harness)(?:\.[a-z_][a-z0-9_]*)+)")
_DEFINED_IN = re.compile(r"([\w/.-]+\.py): ([A-Za-z_][A-Za-z0-9_]*)")
_TEST_ID = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def prose_of_config() -> list[tuple[str, str]]:
    """The comments of the environment files."""
    return [
        (f"{path.name}:{i}", line.split("#", 1)[1])
        for path in CONFIG_FILES
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "#" in line
    ]


def named_texts() -> list[tuple[str, str]]:
    """(where, text) of every doc and config comment, URLs removed."""
    texts = [(path.name, path.read_text(encoding="utf-8")) for path in DOCS] + prose_of_config()
    return [(where, re.sub(r"https?://\S+|s3://\S+|file://", "", text)) for where, text in texts]


def _repository_files() -> set[Path]:
    skip = {".git", ".venv", "node_modules", "cdktf.out", "build", "__pycache__", ".mypy_cache", ".ruff_cache"}
    return {p.relative_to(ROOT) for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)}


def path_problem(token: str, files: set[Path]) -> str | None:
    """Why a path named in the docs does not exist (``None`` when it does, or it is not meant to)."""
    name = token.rstrip("/")
    if Path(name).name in NOT_IN_THE_REPOSITORY or token.startswith(GENERATED_PREFIXES):
        return None
    if not (token.startswith(KNOWN_DIRS) or token.rsplit(".", 1)[-1] in EXTENSIONS):
        return None  # prose such as "blue/green"
    top = name.split("/", 1)[0]
    if "/" in name and (ROOT / top).is_dir():
        # A path that starts with a directory of the repository's root is read from the root, never from a room
        # below it (``config/pg_setting_types.py`` is not ``inventory_migration/config/pg_setting_types.py``).
        return None if (ROOT / name).exists() else f"no such file or directory: {token}"
    for base in ("", "inventory_migration/", "inventory_migration/migrationctl/", "docs/", "scripts/"):
        if (ROOT / base / name).exists():
            return None
    if "/" not in name and any(f.name == name for f in files):
        return None  # a bare file name in a layout listing
    return f"no such file or directory: {token}"


def defined_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_every_path_named_in_the_docs_exists() -> None:
    files = _repository_files()
    problems = {
        f"{where}: {problem}"
        for where, text in named_texts()
        for match in _PATH.finditer(text)
        if (problem := path_problem(match.group(1), files))
    }
    assert sorted(problems) == []


def test_every_module_named_in_the_docs_imports() -> None:
    import importlib.util

    problems = set()
    for where, text in named_texts():
        for match in _MODULE.finditer(text):
            dotted = match.group(1)
            parent, _, attribute = dotted.rpartition(".")
            if importlib.util.find_spec(dotted) is None and not (
                importlib.util.find_spec(parent) and attribute in defined_names(Path(importlib.util.find_spec(parent).origin))  # type: ignore[arg-type]
            ):
                problems.add(f"{where}: no module {dotted}")
    assert sorted(problems) == []


def test_every_name_said_to_be_defined_in_a_file_is() -> None:
    problems = set()
    for where, text in named_texts():
        for match in _DEFINED_IN.finditer(text):
            path = next(
                (
                    ROOT / base / match.group(1)
                    for base in ("", "inventory_migration/")
                    if (ROOT / base / match.group(1)).is_file()
                ),
                None,
            )
            if path is None:
                problems.add(f"{where}: no file {match.group(1)}")
            elif match.group(2) not in defined_names(path):
                problems.add(f"{where}: {match.group(1)} defines no {match.group(2)}")
        for match in _TEST_ID.finditer(text):
            path = ROOT / match.group(1)
            if not path.is_file() or match.group(2) not in defined_names(path):
                problems.add(f"{where}: no test {match.group(1)}::{match.group(2)}")
    assert sorted(problems) == []


def test_the_path_checker_sees_what_is_missing() -> None:
    files = _repository_files()
    assert path_problem("inventory_migration/config.py", files) == "no such file or directory: inventory_migration/config.py"
    assert path_problem("inventory_migration/rehearsal/", files) == "no such file or directory: inventory_migration/rehearsal/"
    assert path_problem("constructs/network.py", files) is None
    assert path_problem("config/pg_setting_types.py", files) == "no such file or directory: config/pg_setting_types.py"
    assert path_problem("blue/green", files) is None
    assert path_problem(".migrationctl/verify-last.json", files) is None


# ----------------------------------------------------------------------------- figures quoted from generated tables


def test_the_synth_example_in_the_readme_is_the_dev_stack(synthesized: Any) -> None:
    import collections

    counts = collections.Counter(t for t, by_id in synthesized("dev")["resource"].items() for _ in by_id)
    quoted = re.search(r"^resources:\s+(\d+) in (\d+) types$", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    assert quoted, "README.md quotes `make synth`'s resources line"
    assert (int(quoted.group(1)), int(quoted.group(2))) == (sum(counts.values()), len(counts))


def _generated_counts() -> dict[str, int]:
    text = (ROOT / "docs" / "phases.md").read_text(encoding="utf-8")
    dev = text[text.index("### dev") : text.index("### prod")]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| `([a-z-]+)` \| (\d+) \|$", dev, re.M)}


def test_figures_quoted_in_phases_md_match_its_generated_tables() -> None:
    text = (ROOT / "docs" / "phases.md").read_text(encoding="utf-8")
    prose = text[text.index("<!-- END GENERATED -->") :]
    counts = _generated_counts()
    quoted = [(m.group(1), int(m.group(2))) for m in re.finditer(r"^\| ([a-z, -]+) \| (\d+) \|$", prose, re.M)]
    assert quoted, "the rehearsal's run quotes resources applied per phase"
    problems = [
        f"{phases}: {n} quoted, generated {[counts[p.strip()] for p in phases.split(',')]}"
        for phases, n in quoted
        if any(counts[p.strip()] != n for p in phases.split(","))
    ]
    assert problems == []


def test_the_exit_code_table_is_the_enum() -> None:
    from inventory_migration.migrationctl.errors import ExitCode

    text = (ROOT / "docs" / "migrationctl.md").read_text(encoding="utf-8")
    listed = [int(m.group(1)) for m in re.finditer(r"^  \| (\d) \|", text, re.M)]
    assert listed == [int(code) for code in ExitCode]


def test_the_privileges_table_is_the_needs() -> None:
    from inventory_migration.migrationctl.pg.privileges import markdown_table

    text = (ROOT / "docs" / "migrationctl.md").read_text(encoding="utf-8")
    assert markdown_table() in text, "docs/migrationctl.md: paste privileges.markdown_table() under 'What the switch needs'"


def test_the_config_reference_is_generated_from_the_dataclasses(config_reads: dict[str, Any]) -> None:
    """docs/config.md is what ``python -m inventory_migration.devtools.config_doc`` writes now."""
    from inventory_migration.devtools.config_doc import DOC_PATH, render

    assert DOC_PATH.read_text(encoding="utf-8") == render(config_reads), "run: python -m inventory_migration.devtools.config_doc"


def test_the_readme_lists_every_environment_variable() -> None:
    from inventory_migration.contracts.environment import markdown_table

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = text.split("<!-- BEGIN environment variables -->\n", 1)[1].split("\n<!-- END environment variables -->", 1)[0]
    assert listed == markdown_table()


ENV_READ = re.compile(r"""(?:environ(?:\.get)?|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']|environ\[["']([A-Z][A-Z0-9_]+)["']\]""")
ENV_NAME = re.compile(r"""^[A-Z_]*ENV[A-Z_]* = ["']([A-Z][A-Z0-9_]+)["']""", re.M)


def env_names_in(text: str) -> set[str]:
    """Variable names a module reads by a string of its own: ``environ.get("X")``, ``environ["X"]``, ``getenv("X")`` or
    a ``*_ENV = "X"`` constant."""
    return {a or b for a, b in ENV_READ.findall(text)} | set(ENV_NAME.findall(text))


def test_no_product_module_names_an_environment_variable_by_its_own_string() -> None:
    product = [ROOT / "main.py", *(ROOT / "inventory_migration").rglob("*.py")]
    found = {f"{p.relative_to(ROOT)}: {name}" for p in product for name in env_names_in(p.read_text(encoding="utf-8"))}
    assert sorted(found) == []


def test_the_environment_check_sees_a_string() -> None:
    assert env_names_in('x = os.environ.get("FOO_BAR")\nMY_ENV = "BAZ"\ny = environ["QUX"]') == {"FOO_BAR", "BAZ", "QUX"}
