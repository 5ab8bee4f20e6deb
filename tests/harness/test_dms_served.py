"""The stand-in behind the emulator's DMS API (harness/dms/served.py): a task deployed with boto3 as the stack
deploys it, its endpoints real PostgreSQL servers (13 -> 16), driven by the calls migrationctl makes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from harness.dms import served
from harness.dms.standin import TABLE_ERROR
from inventory_migration.migrationctl.cutover.replication import DmsReplication
from tests.harness.test_dms_standin import ERROR_BEHAVIOR, SCHEMA, pair  # noqa: F401 - the fixture
from tests.harness.test_dms_standin import _until as until

pytestmark = pytest.mark.wide  # the rehearsals' machinery, not the product: make check runs it


@pytest.fixture()
def deployed(pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, tuple[str, str]]]:  # noqa: F811
    """The DMS client, the forward task's ARN (created, not started) and the two DSNs."""
    from harness.aws.moto_patches import apply_patches

    monkeypatch.setenv(served.STOP_SECONDS_ENV, "0.5")
    apply_patches()
    with mock_aws():
        dms = boto3.client("dms", region_name="us-east-1")
        source, target = (psycopg.conninfo.conninfo_to_dict(d) for d in pair)
        instance = dms.create_replication_instance(
            ReplicationInstanceIdentifier="dms-instance-dev-inv", ReplicationInstanceClass="dms.t3.micro"
        )["ReplicationInstance"]["ReplicationInstanceArn"]

        def endpoint(kind: str, conninfo: dict[str, Any], settings: dict[str, Any]) -> str:
            return str(
                dms.create_endpoint(
                    EndpointIdentifier=f"dms-{kind}-dev-inv",
                    EndpointType=kind,
                    EngineName="postgres",
                    ServerName=conninfo["host"],
                    Port=int(conninfo["port"]),
                    DatabaseName=conninfo["dbname"],
                    Username=conninfo["user"],
                    Password=conninfo["password"],
                    PostgreSQLSettings=settings,
                )["Endpoint"]["EndpointArn"]
            )

        task = dms.create_replication_task(
            ReplicationTaskIdentifier="dms-task-dev-inv",
            SourceEndpointArn=endpoint("source", source, {"SlotName": source["dbname"]}),
            TargetEndpointArn=endpoint("target", target, {"AfterConnectScript": "SET session_replication_role = replica"}),
            ReplicationInstanceArn=instance,
            MigrationType="full-load-and-cdc",
            TableMappings=json.dumps(
                {
                    "rules": [
                        {
                            "rule-type": "selection",
                            "rule-id": "1",
                            "rule-name": "1",
                            "object-locator": {"schema-name": SCHEMA, "table-name": "%"},
                            "rule-action": "include",
                        }
                    ]
                }
            ),
            ReplicationTaskSettings=json.dumps(ERROR_BEHAVIOR),
        )["ReplicationTask"]["ReplicationTaskArn"]
        try:
            yield dms, task, pair
        finally:
            for engine in list(served.ENGINES.values()):
                engine.stop(at_once=True)
                engine.join(5)
            served.ENGINES.clear()


def _status(dms: Any, arn: str) -> str:
    return str(dms.describe_replication_tasks()["ReplicationTasks"][0]["Status"])


def test_a_started_task_replicates_between_the_endpoints_servers(deployed: tuple[Any, str, tuple[str, str]]) -> None:
    dms, arn, (source, target) = deployed
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    until(lambda: _status(dms, arn) == "running")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {SCHEMA}.note VALUES (1, 'one')")

    def landed() -> bool:
        with psycopg.connect(target, autocommit=True) as conn:
            return bool(conn.execute(f"SELECT 1 FROM {SCHEMA}.note WHERE id = 1").fetchall())

    until(landed)
    stats = dms.describe_table_statistics(ReplicationTaskArn=arn)["TableStatistics"]
    assert {(t["TableName"], t["Inserts"]) for t in stats} == {("item", 0), ("note", 1)}


def test_a_stop_takes_the_stop_time_and_a_second_stop_is_refused(deployed: tuple[Any, str, tuple[str, str]]) -> None:
    dms, arn, _pair = deployed
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    until(lambda: _status(dms, arn) == "running")
    dms.stop_replication_task(ReplicationTaskArn=arn)
    assert _status(dms, arn) == "stopping"
    until(lambda: _status(dms, arn) == "stopped")
    with pytest.raises(dms.exceptions.InvalidResourceStateFault, match="is currently not running"):
        dms.stop_replication_task(ReplicationTaskArn=arn)


def test_a_suspended_table_shows_in_table_statistics_as_migrationctl_reads_them(
    deployed: tuple[Any, str, tuple[str, str]],
) -> None:
    dms, arn, (source, target) = deployed
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {SCHEMA}.note VALUES (7, 'already there')")
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    until(lambda: _status(dms, arn) == "running")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {SCHEMA}.note VALUES (7, 'from the source')")
    backend = DmsReplication(
        dms=dms, cloudwatch=boto3.client("cloudwatch", region_name="us-east-1"), forward_task_arn=arn, forward_slot="x"
    )
    with psycopg.connect(target, autocommit=True) as conn:
        # statistics and exceptions are two reads: the error can land between them, so wait for the state
        problems = until(lambda: (found := backend.apply_problems(conn)) and any(TABLE_ERROR in p for p in found) and found)
    assert f"{SCHEMA}.note: {TABLE_ERROR}" in problems
    assert any("could not apply" in p for p in problems)


def test_a_running_task_publishes_its_cdc_latency_for_the_lag_gate(deployed: tuple[Any, str, tuple[str, str]]) -> None:
    from inventory_migration.migrationctl.pg.lag import dms_lag

    dms, arn, _pair = deployed
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    until(lambda: _status(dms, arn) == "running")
    lag = until(
        lambda: (r := dms_lag(boto3.client("cloudwatch", region_name="us-east-1"), dms, arn)).total_seconds is not None and r
    )
    assert lag.total_seconds == 0.0


def test_a_task_elsewhere_is_left_to_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.aws.moto_patches import apply_patches

    apply_patches()
    with mock_aws():
        dms = boto3.client("dms", region_name="us-east-1")
        arns = [
            dms.create_endpoint(
                EndpointIdentifier=kind,
                EndpointType=kind,
                EngineName="postgres",
                ServerName="db.example.internal",
                Port=5432,
                DatabaseName="inventory",
                Username="u",
                Password="p",
            )["Endpoint"]["EndpointArn"]
            for kind in ("source", "target")
        ]
        arn = dms.create_replication_task(
            ReplicationTaskIdentifier="t",
            SourceEndpointArn=arns[0],
            TargetEndpointArn=arns[1],
            ReplicationInstanceArn="arn:aws:dms:us-east-1:123456789012:rep:R",
            MigrationType="cdc",
            TableMappings="{}",
        )["ReplicationTask"]["ReplicationTaskArn"]
        dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
        assert _status(dms, arn) == "running" and arn not in served.ENGINES
