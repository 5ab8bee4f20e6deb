"""``secret fill``: a working connection's credentials into a DMS endpoint secret (moto's Secrets Manager, real
PostgreSQL); the reverse task found by the stack's naming when the outputs file predates it (Stubber)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from inventory_migration.contracts.names import reverse_task_id
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.cli import main
from inventory_migration.migrationctl.cutover.replication import DmsReplication

FORWARD = "arn:aws:dms:us-east-1:123456789012:task:FORWARD"
REVERSE = "arn:aws:dms:us-east-1:123456789012:task:REVERSE"


@pytest.fixture()
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in (
        ("AWS_ENDPOINT_URL", moto_endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    return boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")


def test_the_secret_holds_what_a_working_connection_used(aws_env: Any, source_db: str, tmp_path: Path) -> None:
    arn = aws_env.create_secret(Name=f"secret-reverse-{tmp_path.name}")["ARN"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({StackOutput.DMS_REVERSE_TARGET_SECRET_ARN.value: {"value": arn}}))
    out, err = io.StringIO(), io.StringIO()
    argv = ["secret", "fill", "reverse-target", source_db, "--stack-outputs", str(outputs), "--host", "pg13.corp.example"]
    assert main(argv, out, err) == 0, err.getvalue()
    secret = json.loads(aws_env.get_secret_value(SecretId=arn)["SecretString"])
    assert secret["username"] == "postgres" and secret["host"] == "pg13.corp.example" and secret["password"]
    assert secret["password"] not in out.getvalue() and "not shown" in out.getvalue()


def test_the_applications_secret_is_filled_from_its_own_connection(aws_env: Any, source_db: str, tmp_path: Path) -> None:
    arn = aws_env.create_secret(Name=f"secret-app-{tmp_path.name}")["ARN"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({StackOutput.APP_DATABASE_SECRET_ARN.value: {"value": arn}}))
    out, err = io.StringIO(), io.StringIO()
    assert main(["secret", "fill", "app", source_db, "--stack-outputs", str(outputs)], out, err) == 0, err.getvalue()
    secret = json.loads(aws_env.get_secret_value(SecretId=arn)["SecretString"])
    assert set(secret) == {"username", "password", "host", "port"} and "filled the app secret" in out.getvalue()


def test_a_connection_that_fails_writes_nothing(aws_env: Any, tmp_path: Path) -> None:
    arn = aws_env.create_secret(Name=f"secret-source-{tmp_path.name}")["ARN"]
    err = io.StringIO()
    argv = ["secret", "fill", "source", "host=127.0.0.1 port=1 dbname=x user=u password=p", "--secret-arn", arn]
    assert main(argv, io.StringIO(), err) == 2 and "cannot connect to the source" in err.getvalue()
    assert not aws_env.list_secret_version_ids(SecretId=arn)["Versions"]


def test_no_secret_known_is_a_usage_error() -> None:
    err = io.StringIO()
    assert main(["secret", "fill", "target", "dbname=x"], io.StringIO(), err) == 2
    assert "--stack-outputs (output dms_target_secret_arn) or --secret-arn" in err.getvalue()


# ----------------------------------------------------------------------------- the reverse task by name


def test_the_reverse_task_name_follows_the_forward_one() -> None:
    assert reverse_task_id("dms-task-full-load-cdc-prod-inv") == "dms-task-reverse-cdc-prod-inv"
    with pytest.raises(ValueError, match="not the stack's forward task"):
        reverse_task_id("some-other-task")


def backend() -> tuple[DmsReplication, Stubber]:
    client = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1").client("dms")
    return DmsReplication(dms=client, cloudwatch=None, forward_task_arn=FORWARD, poll_seconds=0), Stubber(client)


def test_the_reverse_task_is_found_by_name_when_the_outputs_predate_it() -> None:
    dms, stub = backend()
    stub.add_response(
        "describe_replication_tasks",
        {"ReplicationTasks": [{"ReplicationTaskArn": FORWARD, "ReplicationTaskIdentifier": "dms-task-full-load-cdc-prod-inv"}]},
        {"Filters": [{"Name": "replication-task-arn", "Values": [FORWARD]}]},
    )
    stub.add_response(
        "describe_replication_tasks",
        {"ReplicationTasks": [{"ReplicationTaskArn": REVERSE, "Status": "running"}]},
        {"Filters": [{"Name": "replication-task-id", "Values": ["dms-task-reverse-cdc-prod-inv"]}]},
    )
    with stub:
        assert dms.reverse_task() == REVERSE
        assert dms.reverse_task() == REVERSE  # found once
        stub.assert_no_pending_responses()


def test_no_reverse_task_yet_says_what_to_deploy() -> None:
    dms, stub = backend()
    stub.add_response(
        "describe_replication_tasks",
        {"ReplicationTasks": [{"ReplicationTaskArn": FORWARD, "ReplicationTaskIdentifier": "dms-task-full-load-cdc-prod-inv"}]},
        {"Filters": [{"Name": "replication-task-arn", "Values": [FORWARD]}]},
    )
    stub.add_response("describe_replication_tasks", {"ReplicationTasks": []}, None)
    with stub:
        assert "reverse DMS task not deployed yet" in dms.start_reverse("0/1A2B3C4D")
