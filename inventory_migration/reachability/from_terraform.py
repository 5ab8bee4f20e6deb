"""The network model from synthesized Terraform JSON: what ``terraform apply`` would build.

References between resources are Terraform expressions (``${aws_subnet.network_public-1_8D79547B.id}``); the model
names every resource by its address (``aws_subnet.network_public-1_8D79547B``), so a reference resolves to the
resource it names. Nothing here imports cdktf: the input is the JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from inventory_migration.reachability.model import (
    DEFAULT_ACL,
    AclEntry,
    Net,
    Network,
    NetworkAcl,
    Placement,
    Protocol,
    Role,
    Route,
    RouteTable,
    SecurityGroup,
    SgRule,
    Subnet,
    TargetKind,
    service_of,
)

_REF = re.compile(r"\$\{([a-z0-9_]+)\.([^.}\s]+)\.[a-z_]+\}")
GATEWAY_TARGETS = {"aws_internet_gateway": TargetKind.INTERNET_GATEWAY, "aws_vpn_gateway": TargetKind.VPN_GATEWAY}


def ref(value: Any) -> str | None:
    """The address a ``${type.name.attr}`` expression refers to (or the literal id)."""
    if not isinstance(value, str):
        return None
    match = _REF.search(value)
    return f"{match[1]}.{match[2]}" if match else value


def refs(values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        return tuple(f"{m[1]}.{m[2]}" for m in _REF.finditer(values)) or (values,)
    return tuple(r for v in values or () if (r := ref(v)) is not None)


def resources(synth: Mapping[str, Any], resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, config in synth.get("resource", {}).get(resource_type, {}).items():
        yield f"{resource_type}.{name}", config


def _protocol(value: Any) -> Protocol:
    return Protocol.of(value)


def _acl_entries(config: Mapping[str, Any]) -> list[AclEntry]:
    """The inline rules of an ``aws_network_acl`` or ``aws_default_network_acl``."""
    return [
        AclEntry(
            int(e["rule_no"]),
            direction == "egress",
            _protocol(e["protocol"]),
            _ports(e, _protocol(e["protocol"])),
            Net(e["cidr_block"]),
            e["action"] == "allow",
        )
        for direction in ("ingress", "egress")
        for e in config.get(direction) or []
    ]


def _ports(config: Mapping[str, Any], protocol: Protocol) -> tuple[int, int]:
    if protocol is Protocol.ALL:
        return (0, 65535)
    return (int(config.get("from_port", 0)), int(config.get("to_port", 65535)))


_DATA_PREFIX_LIST = re.compile(r"\$\{data\.aws_prefix_list\.([^.}\s]+)\.id\}")


def _prefix_list(value: Any, synth: Mapping[str, Any]) -> str | None:
    """The service a rule's prefix list is (``s3`` …): a gateway endpoint's ``prefix_list_id``, or an
    ``aws_prefix_list`` data source by its name; a literal id names no service we can tell (it matches none)."""
    if not value:
        return None
    text = str(value)
    data = _DATA_PREFIX_LIST.search(text)
    if data:
        source = synth.get("data", {}).get("aws_prefix_list", {}).get(data[1], {})
        named = source.get("name") or next(
            (v for f in source.get("filter") or [] if f.get("name") == "prefix-list-name" for v in f.get("values") or []), ""
        )
        return service_of(str(named)) if named else ""
    address = ref(text) or ""
    if address.startswith("aws_vpc_endpoint."):
        endpoint = synth.get("resource", {}).get("aws_vpc_endpoint", {}).get(address.split(".", 1)[1], {})
        return service_of(str(endpoint.get("service_name", "")))
    return ""


def _rule(ingress: bool, config: Mapping[str, Any], synth: Mapping[str, Any]) -> SgRule:
    protocol = _protocol(config.get("ip_protocol", config.get("protocol", "-1")))
    return SgRule(
        ingress=ingress,
        protocol=protocol,
        ports=_ports(config, protocol),
        cidr=Net(config["cidr_ipv4"]) if config.get("cidr_ipv4") else None,
        group=ref(config.get("referenced_security_group_id")) if config.get("referenced_security_group_id") else None,
        prefix_list=_prefix_list(config.get("prefix_list_id"), synth),
        description=str(config.get("description", "")),
    )


def _inline_rules(config: Mapping[str, Any]) -> list[SgRule]:
    out = []
    for direction in ("ingress", "egress"):
        for block in config.get(direction) or []:
            protocol = _protocol(block.get("protocol", "-1"))
            for cidr in block.get("cidr_blocks") or []:
                out.append(SgRule(direction == "ingress", protocol, _ports(block, protocol), cidr=Net(cidr)))
            for group in block.get("security_groups") or []:
                out.append(SgRule(direction == "ingress", protocol, _ports(block, protocol), group=ref(group)))
    return out


def network_of(synth: Mapping[str, Any]) -> Network:
    """The model of a synthesized stack."""
    vpc = next(iter(resources(synth, "aws_vpc")))[1]
    associations = {ref(c["subnet_id"]): ref(c["route_table_id"]) for _, c in resources(synth, "aws_route_table_association")}
    acl_of = {s: address for address, c in resources(synth, "aws_network_acl") for s in refs(c.get("subnet_ids"))}
    acl_of |= {
        ref(c["subnet_id"]) or "": ref(c["network_acl_id"]) or "" for _, c in resources(synth, "aws_network_acl_association")
    }
    subnets = {
        address: Subnet(address, Net(c["cidr_block"]), associations.get(address) or "main", acl_of.get(address, ""))
        for address, c in resources(synth, "aws_subnet")
    }
    routes: dict[str, list[Route]] = {address: [] for address, _ in resources(synth, "aws_route_table")}
    routes["main"] = []
    for table in routes.values():
        table.append(Route(Net(vpc["cidr_block"]), TargetKind.LOCAL, "local"))
    for _, c in resources(synth, "aws_route"):
        table_id = ref(c["route_table_id"]) or ""
        destination = Net(c["destination_cidr_block"])
        if c.get("nat_gateway_id"):
            route = Route(destination, TargetKind.NAT_GATEWAY, ref(c["nat_gateway_id"]) or "")
        elif c.get("transit_gateway_id"):
            route = Route(destination, TargetKind.TRANSIT_GATEWAY, ref(c["transit_gateway_id"]) or "")
        elif c.get("gateway_id"):
            target = ref(c["gateway_id"]) or ""
            route = Route(destination, GATEWAY_TARGETS.get(target.split(".")[0], TargetKind.OTHER), target)
        else:
            route = Route(destination, TargetKind.OTHER, "")
        routes.setdefault(table_id, []).append(route)
    interface_endpoints: dict[str, str] = {}
    placements: dict[str, Placement] = {}
    for address, c in resources(synth, "aws_vpc_endpoint"):
        service = service_of(str(c.get("service_name", "")))
        if c.get("vpc_endpoint_type") == "Gateway":
            for table_id in refs(c.get("route_table_ids")):
                routes.setdefault(table_id, []).append(Route(None, TargetKind.GATEWAY_ENDPOINT, address, prefix_list=service))
        else:
            name = Role.DATASYNC_ENDPOINT.value if service == "datasync" else f"{service} endpoint"
            placements[name] = Placement(name, refs(c.get("subnet_ids")), refs(c.get("security_group_ids")))
            # Clients reach a service through its interface endpoint only when the service's own name resolves to it
            # (private DNS, false unless set); else they resolve its public addresses. DataSync's agent is given the
            # endpoint itself at activation.
            if c.get("private_dns_enabled") or service == "datasync":
                interface_endpoints[service] = name
    groups: dict[str, list[SgRule]] = {address: _inline_rules(c) for address, c in resources(synth, "aws_security_group")}
    names = {address: str(c.get("name", address)) for address, c in resources(synth, "aws_security_group")}
    for kind, ingress in (("aws_vpc_security_group_ingress_rule", True), ("aws_vpc_security_group_egress_rule", False)):
        for _, c in resources(synth, kind):
            groups.setdefault(ref(c["security_group_id"]) or "", []).append(_rule(ingress, c, synth))
    acls = {address: NetworkAcl(address, tuple(_acl_entries(c))) for address, c in resources(synth, "aws_network_acl")}
    for address, c in resources(synth, "aws_default_network_acl"):
        # The stack manages the VPC's default ACL: its rules are exactly these (none: everything denied).
        acls[DEFAULT_ACL] = NetworkAcl(address, tuple(_acl_entries(c)))
        for subnet in refs(c.get("subnet_ids")):
            acl_of.setdefault(subnet, DEFAULT_ACL)
    for _, c in resources(synth, "aws_network_acl_rule"):
        acl_id = ref(c["network_acl_id"]) or ""
        protocol = _protocol(c["protocol"])
        entry = AclEntry(
            int(c["rule_number"]),
            bool(c.get("egress")),
            protocol,
            _ports(c, protocol),
            Net(c["cidr_block"]),
            c["rule_action"] == "allow",
        )
        acls[acl_id] = NetworkAcl(acl_id, (*acls.get(acl_id, NetworkAcl(acl_id, ())).entries, entry))
    _placements(synth, placements)
    vpn_routes = tuple(Net(c["destination_cidr_block"]) for _, c in resources(synth, "aws_vpn_connection_route"))
    return Network(
        vpc_cidr=Net(vpc["cidr_block"]),
        subnets=subnets,
        route_tables={k: RouteTable(k, tuple(v)) for k, v in routes.items()},
        security_groups={k: SecurityGroup(k, names.get(k, k), tuple(v)) for k, v in groups.items()},
        network_acls=acls,
        placements=placements,
        vpn_routes=vpn_routes,
        nat_subnets={address: ref(c["subnet_id"]) or "" for address, c in resources(synth, "aws_nat_gateway")},
        interface_endpoints=interface_endpoints,
        dns_support=_flag(vpc.get("enable_dns_support"), default=True),
        dns_hostnames=_flag(vpc.get("enable_dns_hostnames"), default=False),
    )


def _flag(value: Any, *, default: bool) -> bool:
    """A Terraform boolean as written (``true``, ``"false"``), its provider default when unset."""
    if value is None:
        return default
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"


def _placements(synth: Mapping[str, Any], out: dict[str, Placement]) -> None:
    for _, c in resources(synth, "aws_lb"):
        out[Role.ALB] = Placement(Role.ALB, refs(c.get("subnets")), refs(c.get("security_groups")), public=not c.get("internal"))
    for _, c in resources(synth, "aws_ecs_service"):
        net = c.get("network_configuration") or {}
        net = net[0] if isinstance(net, list) else net
        out[Role.APP_TASKS] = Placement(
            Role.APP_TASKS, refs(net.get("subnets")), refs(net.get("security_groups")), public=bool(net.get("assign_public_ip"))
        )
    subnet_groups = {address: refs(c.get("subnet_ids")) for address, c in resources(synth, "aws_dms_replication_subnet_group")}
    for _, c in resources(synth, "aws_dms_replication_instance"):
        out[Role.DMS] = Placement(
            Role.DMS,
            subnet_groups.get(ref(c.get("replication_subnet_group_id")) or "", ()),
            refs(c.get("vpc_security_group_ids")),
            public=bool(c.get("publicly_accessible")),
        )
    db_groups = {address: refs(c.get("subnet_ids")) for address, c in resources(synth, "aws_db_subnet_group")}
    public_instances = any(c.get("publicly_accessible") for _, c in resources(synth, "aws_rds_cluster_instance"))
    for _, c in resources(synth, "aws_rds_cluster"):
        out[Role.AURORA] = Placement(
            Role.AURORA,
            db_groups.get(ref(c.get("db_subnet_group_name")) or "", ()),
            refs(c.get("vpc_security_group_ids")),
            public=public_instances,
        )
    for _, c in resources(synth, "aws_route53_resolver_endpoint"):
        out[Role.RESOLVER] = Placement(
            Role.RESOLVER,
            tuple(r for block in c.get("ip_address") or [] if (r := ref(block.get("subnet_id")))),
            refs(c.get("security_group_ids")),
        )
