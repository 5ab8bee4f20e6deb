"""``migrationctl network check`` against stubbed AWS answers (botocore's Stubber: nothing calls AWS): the tunnels'
telemetry, a Reachability Analyzer path per flow that leaves the VPC, each path deleted after."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from inventory_migration.contracts.phases import MigrationPhase
from inventory_migration.migrationctl.cli import main
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.network import analysis
from inventory_migration.migrationctl.network.crossings import Crossing, Gateway, crossings
from tests.conftest import phase_config

VPC, VPN, VGW, IGW = "vpc-0a", "vpn-0b", "vgw-0c", "igw-0d"
GROUPS = {"dms": "sg-dms", "aurora": "sg-aurora", "alb": "sg-alb", "app": "sg-app", "datasync_endpoint": "sg-ds"}
ENDPOINT = "vpce-0datasync"
BLOCKED = ("alb", "192.168.10.12")
"""The flow the stub answers as not reachable: the load balancer to the second blue server."""


def _outputs(tmp_path: Path) -> Path:
    values = {
        "vpc_id": VPC,
        "vpn_connection_id": VPN,
        "migration_phase": "cdc",
        "security_group_ids": GROUPS,
        "datasync_endpoint_id": ENDPOINT,
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({k: {"value": v, "sensitive": False} for k, v in values.items()}), encoding="utf-8")
    return path


def _ec2() -> Any:
    return boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1").client("ec2")


def _stub_path(stub: Stubber, c: Crossing, n: int, *, blocked: tuple[str, str], running_first: bool) -> None:
    interface = ENDPOINT if c.part == "datasync_endpoint" else f"eni-{c.part}"
    if c.part != "datasync_endpoint":
        filters = [{"Name": "vpc-id", "Values": [VPC]}, {"Name": "group-id", "Values": [GROUPS[c.part]]}]
        stub.add_response(
            "describe_network_interfaces", {"NetworkInterfaces": [{"NetworkInterfaceId": interface}]}, {"Filters": filters}
        )
    gateway = VGW if c.gateway is Gateway.ON_PREM else IGW
    ends: dict[str, Any] = (
        {"Source": interface, "Destination": gateway} if c.outbound else {"Source": gateway, "Destination": interface}
    )
    if c.address:
        ends["DestinationIp" if c.outbound else "SourceIp"] = c.address
    path, run = f"nip-{n}", f"nia-{n}"
    stub.add_response(
        "create_network_insights_path",
        {"NetworkInsightsPath": {"NetworkInsightsPathId": path}},
        {**ends, "Protocol": c.protocol, "DestinationPort": c.port, "TagSpecifications": ANY, "ClientToken": ANY},
    )
    stub.add_response(
        "start_network_insights_analysis",
        {"NetworkInsightsAnalysis": {"NetworkInsightsAnalysisId": run, "Status": "running"}},
        {"NetworkInsightsPathId": path, "TagSpecifications": ANY, "ClientToken": ANY},
    )
    if running_first:
        stub.add_response(
            "describe_network_insights_analyses",
            {"NetworkInsightsAnalyses": [{"NetworkInsightsAnalysisId": run, "Status": "running"}]},
            {"NetworkInsightsAnalysisIds": [run]},
        )
    blocked_here = (c.part, c.address) == blocked
    answer: dict[str, Any] = {"NetworkInsightsAnalysisId": run, "Status": "succeeded", "NetworkPathFound": not blocked_here}
    if blocked_here:
        answer["Explanations"] = [{"ExplanationCode": "ENI_SG_RULES_MISMATCH", "SecurityGroup": {"Id": "sg-alb"}}]
    stub.add_response(
        "describe_network_insights_analyses", {"NetworkInsightsAnalyses": [answer]}, {"NetworkInsightsAnalysisIds": [run]}
    )
    stub.add_response("delete_network_insights_analysis", {}, {"NetworkInsightsAnalysisId": run})
    stub.add_response("delete_network_insights_path", {}, {"NetworkInsightsPathId": path})


def _stubbed(*, tunnels_up: tuple[bool, bool], blocked: tuple[str, str] = BLOCKED) -> tuple[Any, Stubber]:
    ec2 = _ec2()
    stub = Stubber(ec2)
    telemetry = [
        {"OutsideIpAddress": address, "Status": "UP" if up else "DOWN", "StatusMessage": "" if up else "IPSEC IS DOWN"}
        for address, up in zip(("3.3.3.3", "4.4.4.4"), tunnels_up, strict=True)
    ]
    stub.add_response(
        "describe_vpn_connections",
        {"VpnConnections": [{"VpnConnectionId": VPN, "VpnGatewayId": VGW, "VgwTelemetry": telemetry}]},
        {"VpnConnectionIds": [VPN]},
    )
    stub.add_response(
        "describe_internet_gateways",
        {"InternetGateways": [{"InternetGatewayId": IGW}]},
        {"Filters": [{"Name": "attachment.vpc-id", "Values": [VPC]}]},
    )
    for n, c in enumerate(crossings(phase_config("dev", MigrationPhase.CDC), MigrationPhase.CDC)):
        _stub_path(stub, c, n, blocked=blocked, running_first=n == 0)
    stub.activate()
    return ec2, stub


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ec2: Any, *extra: str) -> tuple[int, str, str]:
    monkeypatch.setattr(Context, "client", lambda self, service, **kw: ec2)
    monkeypatch.setattr(analysis.time, "sleep", lambda _s: None)
    out, err = io.StringIO(), io.StringIO()
    code = main(["network", "check", "--stack-outputs", str(_outputs(tmp_path)), "--env", "dev", *extra], out, err)
    return code, out.getvalue(), err.getvalue()


def test_a_blocked_flow_and_a_tunnel_down_are_findings_each_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ec2, stub = _stubbed(tunnels_up=(True, False))
    code, out, _ = _run(tmp_path, monkeypatch, ec2)
    assert code == 1, out
    assert "DOWN           VPN vpn-0b tunnel 4.4.4.4: IPSEC IS DOWN" in out
    assert "up             VPN vpn-0b tunnel 3.3.3.3" in out
    blocked = [line for line in out.splitlines() if "NOT REACHABLE" in line]
    assert len(blocked) == 1 and "192.168.10.12 tcp 8080" in blocked[0]
    assert "ENI_SG_RULES_MISMATCH (sg-alb)" in out
    assert "NOT PROVEN: 2 finding(s)" in out
    stub.assert_no_pending_responses()  # every path and analysis created was deleted


def test_every_path_reachable_and_both_tunnels_up_is_exit_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ec2, stub = _stubbed(tunnels_up=(True, True), blocked=("none", ""))
    code, out, _ = _run(tmp_path, monkeypatch, ec2)
    assert code == 0, out
    assert "tunnels up: 2 of 2" in out and "NOT" not in out
    stub.assert_no_pending_responses()


def test_json_output_lists_every_path_with_its_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ec2, _ = _stubbed(tunnels_up=(True, False))
    code, out, _ = _run(tmp_path, monkeypatch, ec2, "--output", "json")
    data = json.loads(out)
    assert code == 1 and data["phase"] == "cdc"
    assert [t["up"] for t in data["tunnels"]] == [True, False]
    assert [p["address"] for p in data["paths"] if not p["reachable"]] == ["192.168.10.12"]


def test_a_path_whose_analysis_cannot_start_is_deleted() -> None:
    c = Crossing(
        flow="a -> b", part="dms", outbound=True, gateway=Gateway.ON_PREM, address="192.168.20.10", protocol="tcp", port=5432
    )
    ec2 = _ec2()
    stub = Stubber(ec2)
    ends = {"Source": "eni-dms", "Destination": VGW, "DestinationIp": "192.168.20.10"}
    stub.add_response(
        "create_network_insights_path",
        {"NetworkInsightsPath": {"NetworkInsightsPathId": "nip-1"}},
        {**ends, "Protocol": "tcp", "DestinationPort": 5432, "TagSpecifications": ANY, "ClientToken": ANY},
    )
    stub.add_client_error("start_network_insights_analysis", "AnalysisLimitExceeded")
    stub.add_response("delete_network_insights_path", {}, {"NetworkInsightsPathId": "nip-1"})
    stub.activate()
    with pytest.raises(Exception, match="AnalysisLimitExceeded"):
        analysis.analyse(ec2, c, interface="eni-dms", gateway=VGW, sleep=lambda _s: None)
    stub.assert_no_pending_responses()


def test_outputs_without_the_vpc_are_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text("{}", encoding="utf-8")
    err = io.StringIO()
    assert main(["network", "check", "--stack-outputs", str(path)], io.StringIO(), err) == 2
    assert err.getvalue().count("\n") == 1 and "terraform output -json" in err.getvalue()
