"""The account's answers: VPN tunnel telemetry, and Reachability Analyzer paths created, analysed and deleted.

Reachability Analyzer decides a path from the applied configuration (it sends no packet): security groups, route
tables, network ACLs, the gateways and, for a Transit Gateway, its route tables — up to the gateway. What lies beyond
the tunnel (the on-prem firewalls and routes) it cannot see: that is the tunnels' telemetry's part, and the on-prem
checklist's (``docs/network.md``). Each analysis is billed (0.10 USD); every path this creates is deleted after."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from inventory_migration.migrationctl.network.crossings import Crossing, Gateway

PATH_TAG = "migrationctl-network-check"
"""The Name tag of every path and analysis this creates (so a left-behind one can be found and deleted)."""


@dataclasses.dataclass(frozen=True)
class Tunnel:
    address: str
    up: bool
    message: str


def vpn(ec2: Any, vpn_connection_id: str) -> tuple[str, list[Tunnel]]:
    """The site-to-site VPN's gateway, and each of its tunnels as its telemetry reports it."""
    (connection,) = ec2.describe_vpn_connections(VpnConnectionIds=[vpn_connection_id])["VpnConnections"]
    tunnels = [
        Tunnel(str(t.get("OutsideIpAddress", "?")), t.get("Status") == "UP", str(t.get("StatusMessage", "")))
        for t in connection.get("VgwTelemetry", [])
    ]
    return str(connection.get("VpnGatewayId", "")), tunnels


def internet_gateway_of(ec2: Any, vpc_id: str) -> str:
    found = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
    return str(found[0]["InternetGatewayId"]) if found else ""


def interface_of(ec2: Any, vpc_id: str, group_id: str) -> str:
    """A network interface of the part behind ``group_id`` (empty: none, e.g. no task running)."""
    found = ec2.describe_network_interfaces(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-id", "Values": [group_id]}]
    )["NetworkInterfaces"]
    return str(found[0]["NetworkInterfaceId"]) if found else ""


@dataclasses.dataclass(frozen=True)
class Finding:
    crossing: Crossing
    reachable: bool
    why: tuple[str, ...] = ()
    """Reachability Analyzer's explanations (code and the components named), or why the path was not analysed."""


def _explained(explanation: Mapping[str, Any]) -> str:
    named = [
        str(value.get("Id") or value.get("Arn"))
        for key, value in explanation.items()
        if isinstance(value, dict) and (value.get("Id") or value.get("Arn")) and key != "ExplanationCode"
    ]
    return str(explanation.get("ExplanationCode", "?")) + (f" ({', '.join(dict.fromkeys(named))})" if named else "")


def analyse(
    ec2: Any,
    crossing: Crossing,
    *,
    interface: str,
    gateway: str,
    poll_seconds: float = 5.0,
    timeout_seconds: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Finding:
    """Create the path, analyse it, wait for the answer, delete both."""
    tags = [{"Key": "Name", "Value": PATH_TAG}]
    ends: dict[str, Any] = (
        {"Source": interface, "Destination": gateway} if crossing.outbound else {"Source": gateway, "Destination": interface}
    )
    if crossing.address:
        ends["DestinationIp" if crossing.outbound else "SourceIp"] = crossing.address
    path_id = ec2.create_network_insights_path(
        **ends,
        Protocol=crossing.protocol,
        DestinationPort=crossing.port,
        TagSpecifications=[{"ResourceType": "network-insights-path", "Tags": tags}],
        ClientToken=str(uuid.uuid4()),
    )["NetworkInsightsPath"]["NetworkInsightsPathId"]
    analysis_id = ""
    try:
        analysis_id = ec2.start_network_insights_analysis(
            NetworkInsightsPathId=path_id,
            TagSpecifications=[{"ResourceType": "network-insights-analysis", "Tags": tags}],
            ClientToken=str(uuid.uuid4()),
        )["NetworkInsightsAnalysis"]["NetworkInsightsAnalysisId"]
        waited = 0.0
        while True:
            (answer,) = ec2.describe_network_insights_analyses(NetworkInsightsAnalysisIds=[analysis_id])[
                "NetworkInsightsAnalyses"
            ]
            if answer.get("Status") != "running":
                break
            if waited >= timeout_seconds:
                return Finding(crossing, False, (f"no answer after {timeout_seconds:g} s (analysis {analysis_id})",))
            sleep(poll_seconds)
            waited += poll_seconds
        if answer.get("Status") == "failed":
            return Finding(crossing, False, (f"the analysis failed: {answer.get('StatusMessage', '')}",))
        found = bool(answer.get("NetworkPathFound"))
        return Finding(crossing, found, () if found else tuple(_explained(e) for e in answer.get("Explanations", [])))
    finally:
        if analysis_id:
            ec2.delete_network_insights_analysis(NetworkInsightsAnalysisId=analysis_id)
        ec2.delete_network_insights_path(NetworkInsightsPathId=path_id)


def gateway_for(crossing: Crossing, *, on_prem: str, internet: str) -> str:
    return on_prem if crossing.gateway is Gateway.ON_PREM else internet
