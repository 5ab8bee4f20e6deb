"""What each phase deploys and what each transition changes, as Markdown, computed from the synthesized stacks.

``python -m inventory_migration.devtools.phase_report [ENV ...]`` (``make phases``) synthesizes every phase of each environment
and prints the tables ``docs/phases.md`` holds; a test keeps that file equal to this output, so the runbook's "what
this deploy changes" is never hand-written.
"""

from __future__ import annotations

import collections
import dataclasses
import sys
from collections.abc import Mapping
from typing import Any

from inventory_migration.contracts.phases import ALLOWED_TRANSITIONS, PHASE_ORDER, MigrationPhase
from inventory_migration.devtools.change_sets import Action, synth_changes, violations

BEGIN = "<!-- BEGIN GENERATED: make phases -->"
END = "<!-- END GENERATED -->"

Synths = Mapping[MigrationPhase, Mapping[str, Any]]


def ordered_transitions() -> list[tuple[MigrationPhase, MigrationPhase]]:
    return sorted(ALLOWED_TRANSITIONS, key=lambda t: (PHASE_ORDER.index(t[0]), PHASE_ORDER.index(t[1])))


def resource_count(synth: Mapping[str, Any]) -> int:
    return sum(len(by_id) for by_id in synth.get("resource", {}).values())


def _types(addresses: list[str]) -> str:
    counts = collections.Counter(a.split(".", 1)[0].removeprefix("aws_") for a in addresses)
    return ", ".join(f"{t} ×{n}" if n > 1 else t for t, n in sorted(counts.items())) or "—"


def environment_report(environment: str, synths: Synths, *, image_agent: bool) -> str:
    """Resources per phase and the changes of every allowed transition of one environment."""
    lines = [f"### {environment}", "", "| phase | resources |", "| --- | ---: |"]
    lines += [f"| `{phase.value}` | {resource_count(synths[phase])} |" for phase in PHASE_ORDER]
    lines += [
        "",
        "| transition | added | removed | changed in place |",
        "| --- | --- | --- | --- |",
    ]
    for previous, current in ordered_transitions():
        changes = synth_changes(synths[previous], synths[current])
        problems = violations(changes, previous, current, image_agent=image_agent)
        if problems:
            raise ValueError(f"{environment} {previous.value} -> {current.value}: " + "; ".join(problems))
        by_action = {a: [c.address for c in changes if c.action is a] for a in (Action.CREATE, Action.DELETE, Action.UPDATE)}
        lines.append(
            f"| `{previous.value}` → `{current.value}` | {len(by_action[Action.CREATE])}: {_types(by_action[Action.CREATE])} "
            f"| {len(by_action[Action.DELETE])}: {_types(by_action[Action.DELETE])} "
            f"| {len(by_action[Action.UPDATE])}: {_types(by_action[Action.UPDATE])} |"
        )
    return "\n".join(lines)


def report(by_environment: Mapping[str, Synths], image_agent: Mapping[str, bool]) -> str:
    """The generated section; ``image_agent``: per environment, whether its DataSync agent is configured."""
    body = "\n\n".join(environment_report(env, synths, image_agent=image_agent[env]) for env, synths in by_environment.items())
    return f"{BEGIN}\n{body}\n{END}"


def synthesize_phases(environment: str) -> dict[MigrationPhase, dict[str, Any]]:  # pragma: no cover - exercised by make phases
    """Every phase of a shipped environment (each forced, with a placeholder reverse start position)."""
    import json

    from inventory_migration.config import load_config
    from inventory_migration.stacks.migration import MigrationStack, stack_name
    from inventory_migration.synth.cdk import Testing

    out = {}
    for phase in PHASE_ORDER:
        config = load_config(environment)
        config = dataclasses.replace(
            config,
            migration_phase=phase,
            force_phase_transition=True,
            dms=dataclasses.replace(config.dms, reverse_cdc_start_position="0/1A2B3C4D"),
        )
        out[phase] = json.loads(Testing.synth(MigrationStack(Testing.app(), stack_name(config), config=config)))
    return out


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - exercised by make phases
    from inventory_migration.synth.runtime import use_supported_node

    use_supported_node()
    environments = (sys.argv[1:] if argv is None else argv) or ["dev", "prod"]
    from inventory_migration.config import load_config

    agents = {env: load_config(env).files.agent_configured for env in environments}
    print(report({env: synthesize_phases(env) for env in environments}, agents))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
