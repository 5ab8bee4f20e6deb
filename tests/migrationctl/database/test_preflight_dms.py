"""``migrationctl preflight --dms``: DMS tests each endpoint of the tasks from its replication instance."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from inventory_migration.migrationctl import cli
from inventory_migration.migrationctl.database import dms_connections

INSTANCE = "arn:aws:dms:us-east-1:210987654321:rep:INSTANCE"
TASK = "arn:aws:dms:us-east-1:210987654321:task:FORWARD"
SOURCE, TARGET = "arn:aws:dms:us-east-1:210987654321:endpoint:SOURCE", "arn:aws:dms:us-east-1:210987654321:endpoint:TARGET"


def stubbed() -> tuple[Any, Stubber]:
    dms = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1").client("dms")
    return dms, Stubber(dms)


def connection(endpoint: str, status: str, message: str = "") -> dict[str, Any]:
    out = {"Connections": [{"EndpointArn": endpoint, "ReplicationInstanceArn": INSTANCE, "Status": status}]}
    if message:
        out["Connections"][0]["LastFailureMessage"] = message
    return out


def test_every_endpoint_is_tested_and_a_failure_keeps_its_message() -> None:
    dms, stub = stubbed()
    stub.add_response(
        "describe_replication_tasks",
        {"ReplicationTasks": [{"SourceEndpointArn": SOURCE, "TargetEndpointArn": TARGET, "ReplicationInstanceArn": INSTANCE}]},
    )
    stub.add_response(
        "describe_endpoints",
        {
            "Endpoints": [
                {"EndpointArn": SOURCE, "EndpointIdentifier": "src", "EngineName": "postgres"},
                {"EndpointArn": TARGET, "EndpointIdentifier": "tgt", "EngineName": "aurora-postgresql"},
            ]
        },
    )
    for endpoint in (SOURCE, TARGET):
        stub.add_response(
            "test_connection",
            {"Connection": {"Status": "testing"}},
            {"ReplicationInstanceArn": INSTANCE, "EndpointArn": endpoint},
        )
    stub.add_response("describe_connections", connection(SOURCE, "testing"))
    stub.add_response("describe_connections", connection(TARGET, "successful"))
    stub.add_response("describe_connections", connection(SOURCE, "failed", "Can't connect to server: timeout"))
    stub.add_response("describe_connections", connection(TARGET, "successful"))
    with stub:
        targets = dms_connections.endpoints_of(dms, [("forward", TASK)])
        results = dms_connections.test_connections(dms, targets, interval=0, sleep=lambda _s: None)
        stub.assert_no_pending_responses()
    assert [(r.role, r.endpoint, r.status, r.ok) for r in results] == [
        ("forward source", "src", "failed", False),
        ("forward target", "tgt", "successful", True),
    ]
    assert results[0].message == "Can't connect to server: timeout"


def test_a_test_that_never_ends_is_reported_as_unfinished() -> None:
    dms, stub = stubbed()
    stub.add_response("describe_endpoints", {"Endpoints": []})
    stub.add_response("test_connection", {"Connection": {"Status": "testing"}})
    for _ in range(3):
        stub.add_response("describe_connections", connection(SOURCE, "testing"))
    ticks = iter([0.0, 1.0, 2.0, 3.0])
    with stub:
        (result,) = dms_connections.test_connections(
            dms,
            [dms_connections.EndpointUnderTest("forward source", SOURCE, INSTANCE)],
            timeout=1.5,
            interval=1,
            clock=lambda: next(ticks),
            sleep=lambda _s: None,
        )
    assert result.status == "testing after 2 s" and not result.ok


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli.main(["--no-progress", "--region", "us-east-1", *argv], out, err), out.getvalue(), err.getvalue()


def test_dms_needs_the_tasks() -> None:
    code, _out, err = run("preflight", "--dms", "--skip-source")
    assert code == 2 and "--dms needs the tasks: --stack-outputs" in err
    code, _out, err = run("preflight", "--skip-source")
    assert code == 2 and "--skip-source leaves nothing to check without --dms" in err


@pytest.fixture()
def dms_on_the_emulator(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """A replication instance, two endpoints and a task in the emulator (what the first deploy creates)."""
    for name, value in (("AWS_ENDPOINT_URL", moto_endpoint), ("AWS_ACCESS_KEY_ID", "t"), ("AWS_SECRET_ACCESS_KEY", "t")):
        monkeypatch.setenv(name, value)
    dms = boto3.client("dms", region_name="us-east-1", endpoint_url=moto_endpoint)
    instance = dms.create_replication_instance(
        ReplicationInstanceIdentifier="dms-instance-preflight", ReplicationInstanceClass="dms.r5.large"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    endpoints = [
        dms.create_endpoint(EndpointIdentifier=f"{kind}-preflight", EndpointType=kind, EngineName="postgres")["Endpoint"][
            "EndpointArn"
        ]
        for kind in ("source", "target")
    ]
    task = dms.create_replication_task(
        ReplicationTaskIdentifier="task-preflight",
        SourceEndpointArn=endpoints[0],
        TargetEndpointArn=endpoints[1],
        ReplicationInstanceArn=instance,
        MigrationType="full-load-and-cdc",
        TableMappings=json.dumps({"rules": []}),
    )["ReplicationTask"]["ReplicationTaskArn"]
    return dms, task


def test_preflight_dms_against_the_emulator(dms_on_the_emulator: tuple[Any, str], tmp_path: Path) -> None:
    _dms, task = dms_on_the_emulator
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"dms_task_arn": {"value": task, "type": "string", "sensitive": False}}))
    code, out, err = run("preflight", "--dms", "--skip-source", "--stack-outputs", str(outputs), "--dms-timeout", "30")
    assert code == 0, out + err
    assert "DMS connection tests (from the replication instance):" in out
    assert out.count("successful") == 2 and "forward source" in out and "forward target" in out
    code, out, _err = run("--output", "json", "preflight", "--dms", "--skip-source", "--task-arn", task, "--dms-timeout", "30")
    assert code == 0 and [c["status"] for c in json.loads(out)["dms_connections"]] == ["successful", "successful"], _err
