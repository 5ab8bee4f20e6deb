"""``preflight --dms``: DMS tests every endpoint of the migration's tasks from its replication instance.

``preflight`` on its own proves the operator's host reaches the source; this proves what the night needs of DMS — its
subnets' routes, its security group, the tunnel, the name in the endpoint's secret and the credentials — from where DMS
stands (``TestConnection``, then ``DescribeConnections`` until the test ends).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.polling import poll

FINISHED = ("successful", "failed")


@dataclasses.dataclass(frozen=True)
class EndpointUnderTest:
    role: str
    """``forward source``, ``forward target``, ``reverse source``, ``reverse target``."""
    endpoint_arn: str
    instance_arn: str


@dataclasses.dataclass(frozen=True)
class ConnectionResult:
    role: str
    endpoint: str
    engine: str
    status: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "successful"


def endpoints_of(dms: Any, task_arns: Sequence[tuple[str, str]]) -> list[EndpointUnderTest]:
    """The endpoints of each task (``(direction, task ARN)``), with the instance that runs it."""
    out = []
    for direction, arn in task_arns:
        tasks = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])["ReplicationTasks"]
        if not tasks:
            raise UsageError(f"no DMS replication task {arn}")
        task = tasks[0]
        out.append(EndpointUnderTest(f"{direction} source", task["SourceEndpointArn"], task["ReplicationInstanceArn"]))
        out.append(EndpointUnderTest(f"{direction} target", task["TargetEndpointArn"], task["ReplicationInstanceArn"]))
    return out


def test_connections(
    dms: Any,
    endpoints: Sequence[EndpointUnderTest],
    *,
    timeout: float = 600.0,
    interval: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ConnectionResult]:
    """Start a test of every endpoint, then wait for all of them to finish (DMS runs them in parallel)."""
    described = {
        e["EndpointArn"]: e
        for e in dms.describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [u.endpoint_arn for u in endpoints]}])[
            "Endpoints"
        ]
    }
    for under_test in endpoints:
        dms.test_connection(ReplicationInstanceArn=under_test.instance_arn, EndpointArn=under_test.endpoint_arn)
    latest: dict[str, dict[str, Any]] = {}

    def all_finished() -> bool:
        for under_test in endpoints:
            connections = dms.describe_connections(
                Filters=[
                    {"Name": "endpoint-arn", "Values": [under_test.endpoint_arn]},
                    {"Name": "replication-instance-arn", "Values": [under_test.instance_arn]},
                ]
            )["Connections"]
            if connections:
                latest[under_test.endpoint_arn] = connections[0]
        return all(latest.get(u.endpoint_arn, {}).get("Status") in FINISHED for u in endpoints)

    with contextlib.suppress(TimeoutError):  # the unfinished ones are reported as such
        poll(all_finished, timeout=timeout, interval=interval, timed_out=TimeoutError, clock=clock, sleep=sleep)
    results = []
    for under_test in endpoints:
        endpoint = described.get(under_test.endpoint_arn, {})
        connection = latest.get(under_test.endpoint_arn, {})
        status = str(connection.get("Status", "not started"))
        if status not in FINISHED:
            status = f"{status} after {timeout:.0f} s"
        results.append(
            ConnectionResult(
                role=under_test.role,
                endpoint=str(endpoint.get("EndpointIdentifier", under_test.endpoint_arn)),
                engine=str(endpoint.get("EngineName", "")),
                status=status,
                message=str(connection.get("LastFailureMessage", "")),
            )
        )
    return results
