"""The flow matrix: every network flow the migration needs, and every one that must never exist, per phase.

A flow names its source and destination (:class:`Place`), protocol and ports, why it exists, and when it applies —
read from the phase table (``replication``, ``reverse_task``, ``blue_targets``, ``image_sync``), never from a list of
phase names. :func:`check` decides every flow of a phase on a :class:`~.model.Network`, whether that network came
from the synthesized JSON or from the AWS API of the applied stack. ``docs/network.md`` is generated from here.

Where migrationctl runs on the night: **an on-prem admin network** (``network.operator_cidrs``) — it reaches the
on-prem database on the local network and Aurora through the VPN; Aurora accepts it and nothing else from outside
the VPC. Chosen over a runner inside the VPC because the operator's tools, ``~/.pgpass`` and the journal stay where
the DBA works, and the night does not depend on a new host in AWS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum

from inventory_migration.config import FileProtocol, MigrationConfig, OnPremConnectivity
from inventory_migration.contracts.phases import PHASE_PLANS, ImageSync, MigrationPhase, PhasePlan
from inventory_migration.contracts.services import GATEWAY_SERVICE, InterfaceService
from inventory_migration.reachability.analyzer import Endpoint, Verdict, Via, analyze, public_internet
from inventory_migration.reachability.model import Net, Network, Protocol, Role

ALL_PORTS = (0, 65535)
HTTPS = (443, 443)
DATASYNC_AGENT_PORTS: tuple[tuple[int, int], ...] = ((443, 443), (1024, 1064))
"""An agent's ports to a DataSync VPC endpoint: 443 (data) and 1024–1064 (control). The support channel (22) is opened
only when AWS Support asks (DataSync user guide, "Network requirements when using VPC service endpoints")."""


class Place(Enum):
    """A flow's source or destination."""

    INTERNET = "the internet"
    CLIENTS = "client networks (app.ingress_cidrs)"
    INTERNET_NOT_CLIENTS = "the internet outside app.ingress_cidrs"
    IMAGE_REGISTRY = "the app image's registry (app.container_image, outside the account's ECR)"
    OPERATOR = "the operator's network (network.operator_cidrs)"
    ON_PREM = "on-prem (network.on_prem_cidrs)"
    ON_PREM_DATABASE = "the on-prem database (source.addresses)"
    ON_PREM_NOT_DATABASE = "on-prem outside the database server"
    ON_PREM_NOT_OPERATOR = "on-prem outside the operator's network"
    ON_PREM_NOT_AGENT = "on-prem outside the DataSync agent"
    BLUE = "blue, the on-prem app servers (app.blue_targets)"
    DATASYNC_AGENT = "the on-prem DataSync agent (files.agent_address)"
    FILE_SERVER = "the on-prem file server (files.server)"
    ON_PREM_DNS = "on-prem DNS (network.on_prem_dns_servers)"
    VPN_DEVICE = "the on-prem VPN device (network.customer_gateway_ip)"
    VPN_TUNNELS = "AWS's two VPN tunnel endpoints (output vpn_tunnel_addresses)"
    AWS_APIS = "AWS's public APIs: DMS, ELB, CloudWatch, SNS, Secrets Manager, S3, STS (us-east-1)"
    ALB = Role.ALB.value
    APP_TASKS = Role.APP_TASKS.value
    DMS = Role.DMS.value
    AURORA = Role.AURORA.value
    DATASYNC_ENDPOINT = Role.DATASYNC_ENDPOINT.value
    RESOLVER = Role.RESOLVER.value
    SECRETS_MANAGER = "Secrets Manager"
    CLOUDWATCH_LOGS = "CloudWatch Logs"
    ECR_API = "ECR's API (ecr.api)"
    ECR = "ECR's registry (ecr.dkr)"
    S3 = "S3"


SERVICES = {
    Place.SECRETS_MANAGER: InterfaceService.SECRETS_MANAGER.value,
    Place.CLOUDWATCH_LOGS: InterfaceService.LOGS.value,
    Place.ECR_API: InterfaceService.ECR_API.value,
    Place.ECR: InterfaceService.ECR_DKR.value,
    Place.S3: GATEWAY_SERVICE,
}
"""The AWS services the VPC reaches, by the name their endpoint carries (``contracts/services.py``)."""


class Kind(Enum):
    REQUIRED = "required"
    FORBIDDEN = "forbidden"
    OUTSIDE = "outside the VPC"
    """Both ends on-prem: nothing of the stack is on the path (``migrationctl preflight`` proves it from the host)."""


@dataclasses.dataclass(frozen=True)
class Flow:
    source: Place
    destination: Place
    protocol: Protocol
    ports: tuple[tuple[int, int], ...]
    why: str
    kind: Kind = Kind.REQUIRED
    when: Callable[[PhasePlan, MigrationConfig], bool] = lambda _p, _c: True
    """Whether the flow applies in a phase (for the stack's configuration)."""

    def ports_text(self, config: MigrationConfig) -> str:
        ports = resolved_ports(self, config)
        text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ports)
        return "all" if ports == (ALL_PORTS,) else text


SOURCE_PORT, AURORA_PORT, APP_PORT, BLUE_PORT, FILES_PORT = (-1, -1), (-2, -2), (-3, -3), (-4, -4), (-5, -5)
"""Ports taken from the configuration when the matrix is resolved."""
FILE_SERVER_PORTS = {FileProtocol.NFS: 2049, FileProtocol.SMB: 445}
"""What the agent opens to the file server: NFS (2049; an NFSv3 export also needs 111 and its mountd port) or SMB."""


def resolved_ports(flow: Flow, config: MigrationConfig) -> tuple[tuple[int, int], ...]:
    files = FILE_SERVER_PORTS[config.files.protocol]
    named = {
        SOURCE_PORT: (config.source.port, config.source.port),
        AURORA_PORT: (config.aurora.port, config.aurora.port),
        APP_PORT: (config.app.container_port, config.app.container_port),
        BLUE_PORT: (config.app.blue_port, config.app.blue_port),
        FILES_PORT: (files, files),
    }
    return tuple(named.get(p, p) for p in flow.ports)


def _replication(p: PhasePlan, _c: MigrationConfig) -> bool:
    return p.replication


def _reverse(p: PhasePlan, _c: MigrationConfig) -> bool:
    return p.reverse_task.exists


def _blue(p: PhasePlan, c: MigrationConfig) -> bool:
    return p.blue_targets and bool(c.app.blue_targets)


def _images(p: PhasePlan, _c: MigrationConfig) -> bool:
    return p.image_sync is not ImageSync.ABSENT


def _resolver(_p: PhasePlan, c: MigrationConfig) -> bool:
    return bool(c.network.on_prem_dns_servers)


def _image_outside(_p: PhasePlan, c: MigrationConfig) -> bool:
    return bool(c.app.external_image_registry)


def _image_inside(_p: PhasePlan, c: MigrationConfig) -> bool:
    return not c.app.external_image_registry


def _no_support_channel(p: PhasePlan, c: MigrationConfig) -> bool:
    return _images(p, c) and not c.files.support_channel


def _vpn(_p: PhasePlan, c: MigrationConfig) -> bool:
    return c.network.connectivity is OnPremConnectivity.VPN


P, K, TCP, UDP = Place, Kind, Protocol.TCP, Protocol.UDP
FLOWS: tuple[Flow, ...] = (
    Flow(
        P.DMS, P.ON_PREM_DATABASE, TCP, (SOURCE_PORT,), "DMS reads the source (full load, CDC from its slot)", when=_replication
    ),
    Flow(P.DMS, P.AURORA, TCP, (AURORA_PORT,), "DMS writes Aurora", when=_replication),
    Flow(P.DMS, P.SECRETS_MANAGER, TCP, (HTTPS,), "DMS reads its endpoints' credentials", when=_replication),
    Flow(P.DMS, P.ON_PREM_DATABASE, TCP, (SOURCE_PORT,), "the way back: DMS writes on-prem", when=_reverse),
    Flow(P.DMS, P.AURORA, TCP, (AURORA_PORT,), "the way back: DMS reads Aurora's slot", when=_reverse),
    Flow(P.APP_TASKS, P.AURORA, TCP, (AURORA_PORT,), "green, the app on ECS, uses Aurora"),
    Flow(P.APP_TASKS, P.SECRETS_MANAGER, TCP, (HTTPS,), "tasks get the database secret"),
    Flow(P.APP_TASKS, P.ECR_API, TCP, (HTTPS,), "tasks are authorised to pull and read the image's manifest"),
    Flow(P.APP_TASKS, P.ECR, TCP, (HTTPS,), "tasks pull the app image"),
    Flow(P.APP_TASKS, P.IMAGE_REGISTRY, TCP, (HTTPS,), "tasks pull an image kept outside ECR", when=_image_outside),
    Flow(P.APP_TASKS, P.CLOUDWATCH_LOGS, TCP, (HTTPS,), "tasks send their logs"),
    Flow(P.APP_TASKS, P.S3, TCP, (HTTPS,), "the app serves the product images (through the S3 gateway endpoint)"),
    Flow(P.CLIENTS, P.ALB, TCP, (HTTPS,), "users reach the app"),
    Flow(P.ALB, P.APP_TASKS, TCP, (APP_PORT,), "the load balancer forwards to green"),
    Flow(P.ALB, P.BLUE, TCP, (BLUE_PORT,), "the load balancer forwards to blue (ip targets on-prem)", when=_blue),
    Flow(P.OPERATOR, P.AURORA, TCP, (AURORA_PORT,), "migrationctl: schema, verify, sequences, cutover, rollback"),
    Flow(
        P.OPERATOR, P.ON_PREM_DATABASE, TCP, (SOURCE_PORT,), "migrationctl on the source (on-prem, off the VPC)", kind=K.OUTSIDE
    ),
    Flow(P.DATASYNC_AGENT, P.DATASYNC_ENDPOINT, TCP, DATASYNC_AGENT_PORTS, "the agent sends the images privately", when=_images),
    Flow(P.DATASYNC_AGENT, P.FILE_SERVER, TCP, (FILES_PORT,), "the agent reads the image export", kind=K.OUTSIDE, when=_images),
    Flow(
        P.OPERATOR,
        P.DATASYNC_AGENT,
        TCP,
        ((80, 80),),
        "activation: the operator's browser gets the agent's activation key (then 80 may close)",
        kind=K.OUTSIDE,
        when=_images,
    ),
    Flow(
        P.OPERATOR,
        P.AWS_APIS,
        TCP,
        (HTTPS,),
        "migrationctl and terraform call AWS (the operator host's internet access or proxy)",
        kind=K.OUTSIDE,
    ),
    Flow(
        P.VPN_DEVICE,
        P.VPN_TUNNELS,
        UDP,
        ((500, 500), (4500, 4500)),
        "IPsec: IKE and NAT-T (and ESP, IP 50)",
        kind=K.OUTSIDE,
        when=_vpn,
    ),
    Flow(P.RESOLVER, P.ON_PREM_DNS, UDP, ((53, 53),), "on-prem names resolve from the VPC", when=_resolver),
    Flow(P.RESOLVER, P.ON_PREM_DNS, TCP, ((53, 53),), "on-prem names resolve from the VPC (large answers)", when=_resolver),
    Flow(P.INTERNET, P.AURORA, TCP, (ALL_PORTS,), "the database is never public", kind=K.FORBIDDEN),
    Flow(P.INTERNET, P.DMS, TCP, (ALL_PORTS,), "replication is never public", kind=K.FORBIDDEN, when=_replication),
    Flow(P.INTERNET, P.APP_TASKS, TCP, (ALL_PORTS,), "tasks are reached through the load balancer only", kind=K.FORBIDDEN),
    Flow(P.AURORA, P.INTERNET, TCP, (ALL_PORTS,), "the database never talks to the internet", kind=K.FORBIDDEN),
    Flow(P.APP_TASKS, P.ON_PREM_DATABASE, TCP, (SOURCE_PORT,), "green must never write blue's database", kind=K.FORBIDDEN),
    Flow(P.APP_TASKS, P.ON_PREM, TCP, (ALL_PORTS,), "green talks to nothing on-prem", kind=K.FORBIDDEN),
    Flow(
        P.APP_TASKS,
        P.INTERNET,
        TCP,
        (ALL_PORTS,),
        "tasks reach AWS through the endpoints only",
        kind=K.FORBIDDEN,
        when=_image_inside,
    ),
    Flow(P.DMS, P.INTERNET, TCP, (ALL_PORTS,), "DMS reaches AWS through the endpoints only", kind=K.FORBIDDEN, when=_replication),
    Flow(
        P.DMS,
        P.ON_PREM_NOT_DATABASE,
        TCP,
        (ALL_PORTS,),
        "DMS talks to the database server only",
        kind=K.FORBIDDEN,
        when=_replication,
    ),
    Flow(P.INTERNET_NOT_CLIENTS, P.ALB, TCP, (ALL_PORTS,), "only the client networks reach the app", kind=K.FORBIDDEN),
    Flow(
        P.ON_PREM_NOT_AGENT,
        P.DATASYNC_ENDPOINT,
        TCP,
        (ALL_PORTS,),
        "only the agent reaches the DataSync endpoint",
        kind=K.FORBIDDEN,
        when=_images,
    ),
    Flow(
        P.DATASYNC_AGENT,
        P.DATASYNC_ENDPOINT,
        TCP,
        ((22, 22),),
        "the support channel stays closed (files.support_channel)",
        kind=K.FORBIDDEN,
        when=_no_support_channel,
    ),
    Flow(
        P.ON_PREM_NOT_OPERATOR,
        P.AURORA,
        TCP,
        (AURORA_PORT,),
        "only the operator's network reaches Aurora from outside",
        kind=K.FORBIDDEN,
    ),
)
"""The matrix. Required flows must pass in every piece; forbidden flows must not pass in any."""


def _cidrs(values: tuple[str, ...]) -> tuple[Net, ...]:
    return tuple(Net(v, strict=False) for v in values)


def _hosts(addresses: tuple[str, ...]) -> tuple[Net, ...]:
    return tuple(Net(f"{a}/32") for a in addresses)


def _without(ranges: tuple[Net, ...], holes: tuple[Net, ...]) -> tuple[Net, ...]:
    """``ranges`` less ``holes``."""
    pieces = list(ranges)
    for hole in holes:
        kept: list[Net] = []
        for piece in pieces:
            if not piece.overlaps(hole):
                kept.append(piece)
            elif hole.subnet_of(piece):
                kept.extend(piece.address_exclude(hole))
        pieces = kept
    return tuple(pieces)


def outside(place: Place, config: MigrationConfig) -> tuple[tuple[Net, ...], Via] | None:
    """Where a place outside the VPC is, for this configuration, and how the VPC reaches it (``None``: a place
    inside the VPC, or an AWS service)."""
    n = config.network
    on_prem, clients = _cidrs(n.on_prem_cidrs), _cidrs(config.app.ingress_cidrs)
    database = _hosts(config.source.addresses)
    agent = _hosts((config.files.agent_address,))
    places = {
        Place.INTERNET: (public_internet(), Via.INTERNET),
        Place.IMAGE_REGISTRY: (public_internet(), Via.INTERNET),
        Place.CLIENTS: (clients, Via.INTERNET),
        Place.INTERNET_NOT_CLIENTS: (_without(public_internet(), clients), Via.INTERNET),
        Place.OPERATOR: (_cidrs(n.operator_cidrs), Via.ON_PREM),
        Place.ON_PREM: (on_prem, Via.ON_PREM),
        Place.ON_PREM_DATABASE: (database, Via.ON_PREM),
        Place.ON_PREM_NOT_DATABASE: (_without(on_prem, database), Via.ON_PREM),
        Place.ON_PREM_NOT_OPERATOR: (_without(on_prem, _cidrs(n.operator_cidrs)), Via.ON_PREM),
        Place.ON_PREM_NOT_AGENT: (_without(on_prem, agent), Via.ON_PREM),
        Place.BLUE: (_hosts(config.app.blue_targets), Via.ON_PREM),
        Place.DATASYNC_AGENT: (agent, Via.ON_PREM),
        Place.ON_PREM_DNS: (_hosts(n.on_prem_dns_servers), Via.ON_PREM),
    }
    return places.get(place)


def endpoint(place: Place, network: Network, config: MigrationConfig) -> Endpoint:
    """Where a place is, for this network and configuration."""
    found = outside(place, config)
    if found is not None:
        addresses, via = found
        return Endpoint(place.value, addresses=addresses, via=via)
    if place in SERVICES:
        return Endpoint(place.value, addresses=public_internet(), via=Via.INTERNET, service=SERVICES[place])
    return Endpoint(place.value, placement=network.placements.get(place.value))


@dataclasses.dataclass
class FlowResult:
    flow: Flow
    ports: str
    verdict: Verdict | None
    """``None``: the flow does not apply in this phase, or is outside the VPC."""
    missing: str = ""
    """A placement the network lacks (e.g. no load balancer): the flow cannot be decided."""

    @property
    def ok(self) -> bool:
        if self.verdict is None:
            return not self.missing
        if self.flow.kind is Kind.FORBIDDEN:
            return not self.verdict.any_pass
        return self.verdict.all_pass

    @property
    def status(self) -> str:
        if self.missing:
            return f"MISSING {self.missing}"
        if self.verdict is None:
            return "not in this phase" if self.flow.kind is not Kind.OUTSIDE else "off the VPC"
        if self.flow.kind is Kind.FORBIDDEN:
            return "blocked" if self.ok else "EXISTS"
        return "ok" if self.ok else "BLOCKED"

    def reasons(self, limit: int = 3) -> list[str]:
        """The hop that blocks a required flow, or the piece that gets through a forbidden one."""
        if self.verdict is None or self.ok:
            return []
        if self.flow.kind is Kind.FORBIDDEN:
            items = [f"gets through: {piece}" for piece in self.verdict.passing]
        else:
            items = self.verdict.blocked_lines()
        return items[:limit] + ([f"… {len(items) - limit} more"] if len(items) > limit else [])


def check(network: Network, config: MigrationConfig, phase: MigrationPhase) -> list[FlowResult]:
    """Every flow of the matrix, decided for one phase."""
    plan = PHASE_PLANS[phase]
    if network.transit_routes is None and config.network.connectivity is OnPremConnectivity.TRANSIT_GATEWAY:
        # The gateway is not the stack's: what it carries on to on-prem is what the configuration says is on-prem.
        network = dataclasses.replace(network, transit_routes=_cidrs(config.network.on_prem_cidrs))
    results = []
    for flow in FLOWS:
        ports = flow.ports_text(config)
        if flow.kind is Kind.OUTSIDE or not flow.when(plan, config):
            results.append(FlowResult(flow, ports, None))
            continue
        source, destination = endpoint(flow.source, network, config), endpoint(flow.destination, network, config)
        lacking = [e.name for e in (source, destination) if e.placement is None and not e.addresses and not e.service]
        if lacking:
            results.append(FlowResult(flow, ports, None, missing=", ".join(lacking)))
            continue
        verdict = Verdict()
        for port_range in resolved_ports(flow, config):
            verdict.merge(analyze(network, source, destination, flow.protocol, port_range))
        results.append(FlowResult(flow, ports, verdict))
    return results


def failures(results: list[FlowResult]) -> list[str]:
    """One line per flow that is not as the matrix says, with its reasons."""
    lines = []
    for r in results:
        if not r.ok:
            lines.append(f"{r.flow.kind.value} flow {r.flow.source.value} -> {r.flow.destination.value} ({r.ports}): {r.status}")
            lines += [f"    {reason}" for reason in r.reasons()]
    return lines
