"""The flow matrix as a table, per phase, for ``docs/network.md`` (``make network``; a test keeps the doc equal).

``python -m inventory_migration.devtools.network_report [ENV …]`` synthesizes each environment in every phase, decides
every flow of :data:`~.flows.FLOWS` on it and prints the generated section; exit 1 when a flow is not as the matrix
says.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from inventory_migration.config import MigrationConfig
from inventory_migration.contracts.phases import MigrationPhase
from inventory_migration.reachability.flows import FLOWS, FlowResult, Kind, check, failures
from inventory_migration.reachability.from_terraform import network_of

BEGIN = "<!-- BEGIN GENERATED: make network -->"
END = "<!-- END GENERATED -->"
SHORT = {
    MigrationPhase.FOUNDATION: "fnd",
    MigrationPhase.FULL_LOAD: "load",
    MigrationPhase.CDC: "cdc",
    MigrationPhase.CUTOVER: "cut",
    MigrationPhase.ROLLBACK_WINDOW: "rbw",
    MigrationPhase.DECOMMISSION: "dec",
}
MARK = {"ok": "✓", "blocked": "✓", "not in this phase": "·", "off the VPC": "—"}


def _cell(result: FlowResult) -> str:
    return MARK.get(result.status, "✗")


def matrix(
    environment: str, config: MigrationConfig, synths: Mapping[MigrationPhase, Mapping[str, Any]]
) -> tuple[str, list[str]]:
    """The markdown table of one environment, and every failure found."""
    per_phase = {phase: check(network_of(synth), config, phase) for phase, synth in synths.items()}
    header = "| kind | from | to | protocol/ports | why | " + " | ".join(SHORT[p] for p in per_phase) + " |"
    lines = [f"### {environment}", "", header, "| " + " | ".join(["---"] * (5 + len(per_phase))) + " |"]
    problems: list[str] = []
    for i, flow in enumerate(FLOWS):
        results = [per_phase[p][i] for p in per_phase]
        ports = results[0].ports
        cells = " | ".join(_cell(r) for r in results)
        ends = f"{flow.source.value} | {flow.destination.value}"
        lines.append(f"| {flow.kind.value} | {ends} | {flow.protocol.name.lower()} {ports} | {flow.why} | {cells} |")
    for phase, results in per_phase.items():
        problems += [f"{environment} {phase.value}: {line}" for line in failures(results)]
    return "\n".join(lines), problems


def report(
    environments: Mapping[str, tuple[MigrationConfig, Mapping[MigrationPhase, Mapping[str, Any]]]],
) -> tuple[str, list[str]]:
    """The generated section of ``docs/network.md`` for every environment given, and the failures."""
    legend = (
        "✓ required flow passes in every piece / forbidden flow blocked in every piece; ✗ not as the matrix says; "
        "· not in this phase; — both ends on-prem, off the VPC (`migrationctl preflight` proves it from the host). "
        "Phases: " + ", ".join(f"{v} = `{k.value}`" for k, v in SHORT.items()) + "."
    )
    parts, problems = [BEGIN, "", legend, ""], []
    for environment, (config, synths) in environments.items():
        table, found = matrix(environment, config, synths)
        parts += [table, ""]
        problems += found
    parts.append(END)
    return "\n".join(parts), problems


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - exercised through `make network`
    from inventory_migration.config import load_config
    from inventory_migration.devtools.phase_report import synthesize_phases
    from inventory_migration.synth.runtime import use_supported_node

    use_supported_node()
    names = (argv if argv is not None else sys.argv[1:]) or ["dev", "prod"]
    text, problems = report({env: (load_config(env), synthesize_phases(env)) for env in names})
    print(text)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["BEGIN", "END", "Kind", "matrix", "report"]
