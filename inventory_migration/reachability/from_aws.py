"""The network model from the AWS API of a deployed stack: what was applied, read back with ``Describe*`` calls.

Which resource plays which part (the load balancer, the ECS service, the DMS instance, the Aurora cluster, the
endpoints) is given by their ids (:class:`Deployed`, from the Terraform state or the stack's outputs); everything the
analysis decides on — subnets, route tables and their routes, security groups and their rules, network ACLs, the
VPN's static routes, NAT gateways, endpoints — comes from the API.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from inventory_migration.reachability.model import (
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class Deployed:
    """The ids of what the stack deployed, by part."""

    vpc_id: str
    load_balancer_arn: str = ""
    ecs_cluster: str = ""
    ecs_service: str = ""
    dms_instance_arn: str = ""
    rds_cluster_id: str = ""
    resolver_endpoint_id: str = ""


Clients = Callable[[str], Any]
"""``service name -> boto3 client``."""


def _vpc_filter(vpc_id: str) -> list[dict[str, Any]]:
    return [{"Name": "vpc-id", "Values": [vpc_id]}]


def _protocol(value: Any) -> Protocol:
    return Protocol.of(value)


def _ports(entry: Mapping[str, Any], protocol: Protocol) -> tuple[int, int]:
    if protocol is Protocol.ALL:
        return (0, 65535)
    span = entry.get("PortRange") or entry
    low, high = span.get("From", span.get("FromPort", 0)), span.get("To", span.get("ToPort", 65535))
    return (0, 65535) if low is None or int(low) < 0 else (int(low), int(high))


def _target(route: Mapping[str, Any]) -> tuple[TargetKind, str]:
    if route.get("NatGatewayId"):
        return TargetKind.NAT_GATEWAY, route["NatGatewayId"]
    if route.get("TransitGatewayId"):
        return TargetKind.TRANSIT_GATEWAY, route["TransitGatewayId"]
    gateway = str(route.get("GatewayId", ""))
    for prefix, kind in (
        ("igw-", TargetKind.INTERNET_GATEWAY),
        ("vgw-", TargetKind.VPN_GATEWAY),
        ("vpce-", TargetKind.GATEWAY_ENDPOINT),
    ):
        if gateway.startswith(prefix):
            return kind, gateway
    return (TargetKind.LOCAL, "local") if gateway == "local" else (TargetKind.OTHER, gateway)


def _sg_rules(permissions: Iterable[Mapping[str, Any]], ingress: bool, prefix_services: Mapping[str, str]) -> list[SgRule]:
    rules = []
    for p in permissions:
        protocol = _protocol(p.get("IpProtocol", "-1"))
        ports = _ports(p, protocol)
        for r in p.get("IpRanges", []):
            rules.append(SgRule(ingress, protocol, ports, cidr=Net(r["CidrIp"]), description=r.get("Description", "")))
        for g in p.get("UserIdGroupPairs", []):
            rules.append(SgRule(ingress, protocol, ports, group=g["GroupId"], description=g.get("Description", "")))
        for pl in p.get("PrefixListIds", []):
            rules.append(
                SgRule(ingress, protocol, ports, prefix_list=prefix_services.get(pl["PrefixListId"], pl["PrefixListId"]))
            )
    return rules


def network_from_aws(clients: Clients, deployed: Deployed) -> Network:
    """Read the deployed network back from the API."""
    ec2 = clients("ec2")
    vpc_filter = _vpc_filter(deployed.vpc_id)
    vpc = ec2.describe_vpcs(VpcIds=[deployed.vpc_id])["Vpcs"][0]
    endpoints = ec2.describe_vpc_endpoints(Filters=vpc_filter)["VpcEndpoints"]
    endpoint_services = {e["VpcEndpointId"]: service_of(e["ServiceName"]) for e in endpoints}
    prefix_services = {
        pl["PrefixListId"]: service_of(pl["PrefixListName"]) for pl in ec2.describe_prefix_lists().get("PrefixLists", [])
    }
    tables: dict[str, RouteTable] = {}
    associations: dict[str, str] = {}
    main_table = ""
    for t in ec2.describe_route_tables(Filters=vpc_filter)["RouteTables"]:
        routes = []
        for r in t.get("Routes", []):
            if r.get("State", "active") != "active":
                continue
            kind, target = _target(r)
            if r.get("DestinationPrefixListId"):
                service = endpoint_services.get(target) or prefix_services.get(
                    r["DestinationPrefixListId"], r["DestinationPrefixListId"]
                )
                routes.append(Route(None, TargetKind.GATEWAY_ENDPOINT, target, prefix_list=service))
            elif r.get("DestinationCidrBlock"):
                routes.append(Route(Net(r["DestinationCidrBlock"]), kind, target))
        tables[t["RouteTableId"]] = RouteTable(t["RouteTableId"], tuple(routes))
        for a in t.get("Associations", []):
            if a.get("Main"):
                main_table = t["RouteTableId"]
            elif a.get("SubnetId"):
                associations[a["SubnetId"]] = t["RouteTableId"]
    # A gateway endpoint's routes, where the API keeps them only on the endpoint.
    for e in endpoints:
        if e.get("VpcEndpointType") == "Gateway":
            for table_id in e.get("RouteTableIds", []):
                table = tables.get(table_id)
                service = endpoint_services[e["VpcEndpointId"]]
                if table is not None and not any(r.prefix_list == service for r in table.routes):
                    tables[table_id] = RouteTable(
                        table_id,
                        (*table.routes, Route(None, TargetKind.GATEWAY_ENDPOINT, e["VpcEndpointId"], prefix_list=service)),
                    )
    acls: dict[str, NetworkAcl] = {}
    acl_of: dict[str, str] = {}
    for a in ec2.describe_network_acls(Filters=vpc_filter)["NetworkAcls"]:
        entries = tuple(
            AclEntry(
                int(e["RuleNumber"]),
                bool(e["Egress"]),
                _protocol(e["Protocol"]),
                _ports(e, _protocol(e["Protocol"])),
                Net(e["CidrBlock"]),
                e["RuleAction"] == "allow",
            )
            for e in a.get("Entries", [])
            if e.get("CidrBlock")
        )
        acls[a["NetworkAclId"]] = NetworkAcl(a["NetworkAclId"], entries)
        for assoc in a.get("Associations", []):
            acl_of[assoc["SubnetId"]] = a["NetworkAclId"]
    subnets = {
        s["SubnetId"]: Subnet(
            s["SubnetId"], Net(s["CidrBlock"]), associations.get(s["SubnetId"], main_table), acl_of.get(s["SubnetId"], "")
        )
        for s in ec2.describe_subnets(Filters=vpc_filter)["Subnets"]
    }
    groups = {
        g["GroupId"]: SecurityGroup(
            g["GroupId"],
            g.get("GroupName", g["GroupId"]),
            tuple(
                _sg_rules(g.get("IpPermissions", []), True, prefix_services)
                + _sg_rules(g.get("IpPermissionsEgress", []), False, prefix_services)
            ),
        )
        for g in ec2.describe_security_groups(Filters=vpc_filter)["SecurityGroups"]
    }
    vgws = [
        v["VpnGatewayId"]
        for v in ec2.describe_vpn_gateways()["VpnGateways"]
        if any(
            a.get("VpcId") == deployed.vpc_id and a.get("State") in ("attached", "attaching") for a in v.get("VpcAttachments", [])
        )
    ]
    vpn_routes = tuple(
        Net(r["DestinationCidrBlock"])
        for c in ec2.describe_vpn_connections()["VpnConnections"]
        if c.get("VpnGatewayId") in vgws and c.get("State") not in ("deleted", "deleting")
        for r in c.get("Routes", [])
        if r.get("State", "available") in ("available", "pending")
    )
    nats = {
        n["NatGatewayId"]: n["SubnetId"]
        for n in ec2.describe_nat_gateways(Filters=vpc_filter)["NatGateways"]
        if n.get("State") not in ("deleted", "deleting", "failed")
    }
    placements: dict[str, Placement] = {}
    interface_endpoints: dict[str, str] = {}
    for e in endpoints:
        if e.get("VpcEndpointType") == "Interface" and e.get("State", "available").lower() not in ("deleted", "deleting"):
            service = endpoint_services[e["VpcEndpointId"]]
            name = Role.DATASYNC_ENDPOINT.value if service == "datasync" else f"{service} endpoint"
            placements[name] = Placement(name, tuple(e.get("SubnetIds", [])), tuple(g["GroupId"] for g in e.get("Groups", [])))
            if e.get("PrivateDnsEnabled") or service == "datasync":  # as from_terraform reads it
                interface_endpoints[service] = name
    placements.update(_placements(clients, deployed))
    gateways = {r.target_id for t in tables.values() for r in t.routes if r.target is TargetKind.TRANSIT_GATEWAY}
    return Network(
        vpc_cidr=Net(vpc["CidrBlock"]),
        subnets=subnets,
        route_tables=tables,
        security_groups=groups,
        network_acls=acls,
        placements=placements,
        vpn_routes=vpn_routes,
        nat_subnets=nats,
        interface_endpoints=interface_endpoints,
        transit_routes=_transit_routes(ec2, deployed.vpc_id, gateways) if gateways else None,
        dns_support=_vpc_attribute(ec2, deployed.vpc_id, "enableDnsSupport"),
        dns_hostnames=_vpc_attribute(ec2, deployed.vpc_id, "enableDnsHostnames"),
    )


def _vpc_attribute(ec2: Any, vpc_id: str, attribute: str) -> bool:
    answer = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)
    key = attribute[0].upper() + attribute[1:]
    return bool(answer.get(key, {}).get("Value"))


ON_PREM_ATTACHMENTS = frozenset({"vpn", "direct-connect-gateway", "connect"})
"""Transit Gateway attachment types that lead on-prem (``vpc`` and ``peering`` lead to other networks in AWS)."""


def _transit_routes(ec2: Any, vpc_id: str, gateways: set[str]) -> tuple[Net, ...] | None:
    """The ranges the VPC's Transit Gateways route to on-prem attachments, from the route table the VPC's attachment is
    associated with. ``None`` when the account may not read it (a gateway shared from a network account): the
    configuration's on-prem ranges then stand in (:func:`~.flows.check`)."""
    from botocore.exceptions import ClientError

    ranges: list[Net] = []
    try:
        attachments = ec2.describe_transit_gateway_attachments(
            Filters=[{"Name": "resource-id", "Values": [vpc_id]}, {"Name": "transit-gateway-id", "Values": sorted(gateways)}]
        )["TransitGatewayAttachments"]
        for attachment in attachments:
            table = (attachment.get("Association") or {}).get("TransitGatewayRouteTableId")
            if not table or attachment.get("State", "available") != "available":
                continue
            routes = ec2.search_transit_gateway_routes(
                TransitGatewayRouteTableId=table, Filters=[{"Name": "state", "Values": ["active"]}]
            )["Routes"]
            ranges += [
                Net(r["DestinationCidrBlock"])
                for r in routes
                if r.get("DestinationCidrBlock")
                and any(a.get("ResourceType") in ON_PREM_ATTACHMENTS for a in r.get("TransitGatewayAttachments", []))
            ]
    except ClientError:
        return None
    return tuple(ranges)


def _placements(clients: Clients, d: Deployed) -> dict[str, Placement]:
    out: dict[str, Placement] = {}
    if d.load_balancer_arn:
        lb = clients("elbv2").describe_load_balancers(LoadBalancerArns=[d.load_balancer_arn])["LoadBalancers"][0]
        out[Role.ALB] = Placement(
            Role.ALB,
            tuple(z["SubnetId"] for z in lb.get("AvailabilityZones", [])),
            tuple(lb.get("SecurityGroups", [])),
            public=lb.get("Scheme") == "internet-facing",
        )
    if d.ecs_service:
        service = clients("ecs").describe_services(cluster=d.ecs_cluster, services=[d.ecs_service])["services"][0]
        vpc = service.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
        out[Role.APP_TASKS] = Placement(
            Role.APP_TASKS,
            tuple(vpc.get("subnets", [])),
            tuple(vpc.get("securityGroups", [])),
            public=vpc.get("assignPublicIp") == "ENABLED",
        )
    if d.dms_instance_arn:
        instance = clients("dms").describe_replication_instances(
            Filters=[{"Name": "replication-instance-arn", "Values": [d.dms_instance_arn]}]
        )["ReplicationInstances"][0]
        out[Role.DMS] = Placement(
            Role.DMS,
            tuple(s["SubnetIdentifier"] for s in instance.get("ReplicationSubnetGroup", {}).get("Subnets", [])),
            tuple(g["VpcSecurityGroupId"] for g in instance.get("VpcSecurityGroups", [])),
            public=bool(instance.get("PubliclyAccessible")),
        )
    if d.rds_cluster_id:
        rds = clients("rds")
        cluster = rds.describe_db_clusters(DBClusterIdentifier=d.rds_cluster_id)["DBClusters"][0]
        group = rds.describe_db_subnet_groups(DBSubnetGroupName=cluster["DBSubnetGroup"])["DBSubnetGroups"][0]
        instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [d.rds_cluster_id]}])["DBInstances"]
        out[Role.AURORA] = Placement(
            Role.AURORA,
            tuple(s["SubnetIdentifier"] for s in group.get("Subnets", [])),
            tuple(g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups", [])),
            public=any(i.get("PubliclyAccessible") for i in instances),
        )
    if d.resolver_endpoint_id:
        resolver = clients("route53resolver")
        endpoint = resolver.get_resolver_endpoint(ResolverEndpointId=d.resolver_endpoint_id)["ResolverEndpoint"]
        addresses = resolver.list_resolver_endpoint_ip_addresses(ResolverEndpointId=d.resolver_endpoint_id)["IpAddresses"]
        out[Role.RESOLVER] = Placement(
            Role.RESOLVER, tuple(dict.fromkeys(a["SubnetId"] for a in addresses)), tuple(endpoint.get("SecurityGroupIds", []))
        )
    return out


def deployed_from_state(state: Mapping[str, Any]) -> Deployed:
    """The ids of the deployed parts, from ``terraform show -json`` of the stack."""
    resources = state.get("values", {}).get("root_module", {}).get("resources", [])

    def first(resource_type: str) -> dict[str, Any]:
        return next((r["values"] for r in resources if r["mode"] == "managed" and r["type"] == resource_type), {})

    service = first("aws_ecs_service")
    return Deployed(
        vpc_id=str(first("aws_vpc").get("id", "")),
        load_balancer_arn=str(first("aws_lb").get("arn", "")),
        ecs_cluster=str(service.get("cluster", "")),
        ecs_service=str(service.get("name", "")),
        dms_instance_arn=str(first("aws_dms_replication_instance").get("replication_instance_arn", "")),
        rds_cluster_id=str(first("aws_rds_cluster").get("cluster_identifier", "")),
        resolver_endpoint_id=str(first("aws_route53_resolver_endpoint").get("id", "")),
    )
