"""Which flows of the matrix leave the VPC — across the VPN, or out to the internet — in a phase, as the paths AWS
Reachability Analyzer is asked about: one per address and port, from the part's network interface to the gateway
(outbound) or from the gateway to the part (inbound). Pure: no AWS call here."""

from __future__ import annotations

import dataclasses
from enum import Enum

from inventory_migration.config import MigrationConfig
from inventory_migration.contracts.phases import PHASE_PLANS, MigrationPhase
from inventory_migration.reachability.analyzer import Via
from inventory_migration.reachability.flows import FLOWS, Kind, Place, outside, resolved_ports
from inventory_migration.reachability.model import Net

PARTS = {
    Place.DMS: "dms",
    Place.AURORA: "aurora",
    Place.ALB: "alb",
    Place.APP_TASKS: "app",
    Place.DATASYNC_ENDPOINT: "datasync_endpoint",
    Place.RESOLVER: "resolver",
}
"""Parts inside the VPC, by their key in the stack's ``security_group_ids`` output."""


class Gateway(Enum):
    """Where a path leaves the VPC."""

    ON_PREM = "the VPN gateway or Transit Gateway"
    INTERNET = "the internet gateway"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Crossing:
    """One path to analyse."""

    flow: str
    """The matrix's flow, as ``source -> destination``."""
    part: str
    """The part inside the VPC (a key of ``security_group_ids``)."""
    outbound: bool
    """From the part to outside (else from outside to the part)."""
    gateway: Gateway
    address: str
    """The outside end's address (an on-prem host; empty toward the internet, where the registry's is unknown)."""
    protocol: str
    port: int

    @property
    def label(self) -> str:
        where = f" {self.address}" if self.address else ""
        return f"{self.flow}{where} {self.protocol} {self.port}"


def _host(net: Net) -> str:
    """One address of a range to stand for it: the address itself, else the range's first host."""
    return str(net.network_address if net.prefixlen >= 31 else net.network_address + 1)


def crossings(config: MigrationConfig, phase: MigrationPhase) -> list[Crossing]:
    """Every required flow of ``phase`` with one end inside the VPC and the other on-prem or on the internet."""
    plan = PHASE_PLANS[phase]
    found: list[Crossing] = []
    for flow in FLOWS:
        if flow.kind is not Kind.REQUIRED or not flow.when(plan, config):
            continue
        outbound = flow.source in PARTS
        part, far = (flow.source, flow.destination) if outbound else (flow.destination, flow.source)
        where = outside(far, config)
        if part not in PARTS or where is None:
            continue
        addresses, via = where
        gateway = Gateway.ON_PREM if via is Via.ON_PREM else Gateway.INTERNET
        hosts = [_host(a) for a in addresses] if gateway is Gateway.ON_PREM else [""]
        if gateway is Gateway.INTERNET and not outbound:
            continue  # clients reach the load balancer from the internet: not a path that crosses our gateways' doubt
        for address in hosts:
            for low, _high in resolved_ports(flow, config):
                found.append(
                    Crossing(
                        flow=f"{flow.source.value} -> {flow.destination.value}",
                        part=PARTS[part],
                        outbound=outbound,
                        gateway=gateway,
                        address=address,
                        protocol=flow.protocol.value,
                        port=low,
                    )
                )
    return list(dict.fromkeys(found))
