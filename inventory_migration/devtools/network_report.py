"""The flow matrix as a table, per phase, for ``docs/network.md`` (``make network``; a test keeps the doc equal).

``python -m inventory_migration.devtools.network_report [ENV …]`` synthesizes each environment in every phase, decides
every flow of :data:`~.flows.FLOWS` on it and prints the generated section — the matrix, then the on-prem side's
checklist (every flow with an on-prem end: from, to, ports, phases, which firewall or ``pg_hba.conf`` opens it) with the
environment's own addresses; exit 1 when a flow is not as the matrix says.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from inventory_migration.config import MigrationConfig
from inventory_migration.contracts.phases import PHASE_PLANS, MigrationPhase
from inventory_migration.reachability.analyzer import Via
from inventory_migration.reachability.flows import FLOWS, Flow, FlowResult, Kind, Place, check, endpoint, failures
from inventory_migration.reachability.from_terraform import network_of
from inventory_migration.reachability.model import Network

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


OUTSIDE_PLACES = {
    Place.AWS_APIS: "AWS's public endpoints (*.us-east-1.amazonaws.com)",
    Place.VPN_TUNNELS: "the two tunnel addresses (`terraform output vpn_tunnel_addresses`)",
}
"""Places with no address in the configuration or the stack: what the on-prem side opens to."""


def _where(place: Place, network: Network, config: MigrationConfig) -> tuple[str, bool]:
    """A place's addresses as the on-prem side writes them, and whether it is on-prem."""
    if place in OUTSIDE_PLACES:
        return OUTSIDE_PLACES[place], False
    if place is Place.FILE_SERVER:
        return f"the file server {config.files.server}", True
    if place is Place.VPN_DEVICE:
        return f"`{config.network.customer_gateway_ip}`", True
    found = endpoint(place, network, config)
    if found.placement is not None:
        cidrs = sorted({str(network.subnets[s].cidr) for s in found.placement.subnets if s in network.subnets})
        return f"{place.value}: " + ", ".join(f"`{c}`" for c in cidrs), False
    return ", ".join(f"`{a}`" for a in found.addresses), found.via is Via.ON_PREM


def _to_open(flow: Flow, source_on_prem: bool, destination_on_prem: bool) -> str:
    where = []
    if source_on_prem and destination_on_prem:
        where.append("on-prem firewalls between them")
    elif source_on_prem:
        where.append("on-prem firewall: out, toward the VPN")
    elif destination_on_prem:
        where.append("on-prem firewall: in, from the VPN")
    if flow.destination is Place.ON_PREM_DATABASE:
        where.append("`pg_hba.conf`: a `hostssl` line per source range")
    if flow.destination is Place.AWS_APIS:
        where = ["the operator host's proxy or internet access"]
    return "; ".join(where)


def checklist(environment: str, config: MigrationConfig, synths: Mapping[MigrationPhase, Mapping[str, Any]]) -> str:
    """What the on-prem side must allow, per flow with an on-prem end, and in which phases: from the matrix, with
    this environment's addresses (the VPC side as its subnets' ranges)."""
    network = network_of(next(iter(synths.values())))
    lines = [
        f"#### {environment}: what the on-prem side opens",
        "",
        "| from | to | protocol/ports | phases | where | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for flow in FLOWS:
        if flow.kind is Kind.FORBIDDEN:
            continue
        phases = [p for p in synths if flow.when(PHASE_PLANS[p], config)]
        source, source_on_prem = _where(flow.source, network, config)
        destination, destination_on_prem = _where(flow.destination, network, config)
        if not phases or not (source_on_prem or destination_on_prem):
            continue
        when = "all" if len(phases) == len(synths) else ", ".join(SHORT[p] for p in phases)
        ports = f"{flow.protocol.name.lower()} {flow.ports_text(config)}"
        to_open = _to_open(flow, source_on_prem, destination_on_prem)
        lines.append(f"| {source} | {destination} | {ports} | {when} | {to_open} | {flow.why} |")
    return "\n".join(lines)


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
    parts += ["### The on-prem side's checklist", ""]
    for environment, (config, synths) in environments.items():
        parts += [checklist(environment, config, synths), ""]
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


__all__ = ["BEGIN", "END", "Kind", "checklist", "matrix", "report"]
