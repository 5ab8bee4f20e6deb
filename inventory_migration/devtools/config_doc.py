"""``docs/config.md``, generated from the configuration dataclasses: ``python -m inventory_migration.devtools.config_doc``.

Every section, field, type, default and allowed value comes from the dataclasses in ``inventory_migration/config/``
(their only declaration); which phases read a field comes from building the stack in each phase with a configuration
that records every field read (:func:`recording`). ``tests/test_docs.py`` regenerates the page and compares.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import itertools
import sys
import textwrap
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inventory_migration.config import MigrationConfig
from inventory_migration.config.environment import phased
from inventory_migration.contracts.phases import MigrationPhase

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "config.md"

READ_BEFORE_THE_STACK = {
    "previous_phase": "the phase-transition rule (validation)",
    "force_phase_transition": "the phase-transition rule (validation)",
    "placeholders": "synth, before the stack is built",
    "stand_ins": "synth, before the stack is built (the placeholder guard)",
}
"""Top-level fields the stack does not read, and what does."""


def recording(obj: Any, seen: set[str], active: list[bool]) -> Any:
    """A copy of the frozen config dataclass ``obj`` (its sections copied the same way) that adds ``Class.field`` to
    ``seen`` for each field read while ``active[0]`` is true (validation at construction is not a read)."""
    cls = type(obj)
    names = {f.name for f in dataclasses.fields(obj)}

    def getattribute(self: Any, name: str) -> Any:
        if active[0] and name in names:
            seen.add(f"{cls.__name__}.{name}")
        return object.__getattribute__(self, name)

    values = {}
    for f in dataclasses.fields(obj):
        if f.init:
            value = getattr(obj, f.name)
            values[f.name] = recording(value, seen, active) if dataclasses.is_dataclass(value) else value
    return type(cls.__name__, (cls,), {"__getattribute__": getattribute})(**values)


def reads_by_phase(configs: list[MigrationConfig]) -> dict[str, set[MigrationPhase]]:
    """``Class.field`` -> the phases in which building the stack of any of ``configs`` reads it."""
    from inventory_migration.stacks.migration import MigrationStack
    from inventory_migration.synth.cdk import Testing

    found: dict[str, set[MigrationPhase]] = {}
    for config in configs:
        for phase in MigrationPhase:
            seen: set[str] = set()
            active = [False]
            recorded = recording(phased(config, phase), seen, active)
            active[0] = True
            MigrationStack(Testing.app(), f"reads-{config.environment}-{phase.value}", config=recorded)
            active[0] = False
            for name in seen:
                found.setdefault(name, set()).add(phase)
    return found


def branch_configs(base: MigrationConfig) -> list[MigrationConfig]:
    """``base`` and a variant that takes the branches shipped files leave untaken (a Transit Gateway, on-prem DNS, an
    SMB share with a new agent), so every field's reader is found."""
    from inventory_migration.config.files import FileProtocol
    from inventory_migration.config.network import OnPremConnectivity

    return [
        base,
        dataclasses.replace(
            base,
            network=dataclasses.replace(
                base.network,
                connectivity=OnPremConnectivity.TRANSIT_GATEWAY,
                transit_gateway_id="tgw-0123456789abcdef0",
                on_prem_dns_servers=("192.168.1.53",),
                on_prem_domains=("corp.internal",),
            ),
            files=dataclasses.replace(
                base.files,
                protocol=FileProtocol.SMB,
                smb_user="svc",
                smb_domain="CORP",
                agent_activation_key="ABCDE-FGHIJ-KLMNO-PQRST-UVWXY",
            ),
        ),
    ]


def field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (the string literal right below it), whitespace folded."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for field, doc in itertools.pairwise(body):
        named = isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name)
        documented = isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)
        if named and documented:
            docs[field.target.id] = " ".join(doc.value.value.split())
    return docs


def type_name(hint: Any) -> str:
    """A field's type as a reader of the TOML file sees it."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(type_name(a) if a is not type(None) else "none" for a in typing.get_args(hint))
    if origin is tuple:
        return f"list of {type_name(typing.get_args(hint)[0])}"
    if origin is not None and getattr(origin, "__name__", "") == "Mapping":
        return "table"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "string"
    return {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}.get(getattr(hint, "__name__", ""), str(hint))


def allowed(hint: Any) -> str:
    """The allowed values of an Enum field (or an optional one); other fields say theirs in the description."""
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return ", ".join(f"`{m.value}`" for m in candidate)
    return ""


def default_text(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "required"
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`[" + ", ".join(f'"{v}"' for v in value) + "]`"
    if isinstance(value, str):
        return f'`"{value}"`' if value else '`""`'
    if isinstance(value, typing.Mapping):
        return "`{}`" if not value else f"`{dict(value)}`"
    return f"`{value}`"


def phases_text(phases: set[MigrationPhase] | None, why: str | None) -> str:
    if why is not None:
        return why
    if not phases:
        return "none (unread)"
    if len(phases) == len(MigrationPhase):
        return "all"
    return ", ".join(p.value for p in MigrationPhase if p in phases)


def _is_section(field: dataclasses.Field[Any]) -> bool:
    return isinstance(field.default_factory, type) and dataclasses.is_dataclass(field.default_factory)


def sections() -> Iterator[tuple[str, type]]:
    """``("", MigrationConfig)`` for the top-level keys, then ``(table, section class)`` in declaration order."""
    yield "", MigrationConfig
    for f in dataclasses.fields(MigrationConfig):
        if _is_section(f):
            yield f.name, f.default_factory  # type: ignore[misc]


def render(reads: dict[str, set[MigrationPhase]]) -> str:
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m inventory_migration.devtools.config_doc` from the dataclasses in",
        "     inventory_migration/config/ (their only declaration); tests/test_docs.py keeps it true. Do not edit. -->",
        "",
        "Every key of `config/<environment>.toml`, by table. A key left out takes its default, which is the dev value.",
        "*Read in phases* is where synthesizing the stack reads the key (found by building every phase with a",
        "configuration that records each read); a key read in no phase says who reads it instead.",
    ]
    for table, cls in sections():
        hints = typing.get_type_hints(cls)
        docs = field_docs(cls)
        title = f"`[{table}]`" if table else "Top-level keys"
        lines += ["", f"## {title}", "", " ".join((cls.__doc__ or "").split()).replace("``", "`"), ""]
        lines += ["| key | type | default | allowed | read in phases | description |", "| --- | --- | --- | --- | --- | --- |"]
        for f in dataclasses.fields(cls):
            if f.metadata.get("internal") or _is_section(f):
                continue
            doc = docs.get(f.name, "").split(" Default:")[0].replace("|", "\\|").replace("``", "`")
            why = READ_BEFORE_THE_STACK.get(f.name) if not table else None
            lines.append(
                f"| `{f.name}` | {type_name(hints[f.name])} | {default_text(f)} | {allowed(hints[f.name])} | "
                f"{phases_text(reads.get(f'{cls.__name__}.{f.name}'), why)} | {doc} |"
            )
    return "\n".join(lines) + "\n"


def generate() -> str:
    """The page as it should read now (builds the stack in every phase of every shipped environment)."""
    from inventory_migration.config import available_environments, load_config

    configs = [c for env in available_environments() for c in branch_configs(load_config(env, environ={}))]
    return render(reads_by_phase(configs))


def main() -> int:
    from inventory_migration.synth.runtime import use_supported_node

    use_supported_node()
    DOC_PATH.write_text(generate(), encoding="utf-8")
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
