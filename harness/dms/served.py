"""The stand-in (:mod:`.standin`) behind the emulator's DMS API: a task whose two endpoints are PostgreSQL servers on
this machine replicates when ``StartReplicationTask`` starts it, and answers ``DescribeReplicationTasks``,
``StopReplicationTask``, ``DescribeTableStatistics``, ``ReloadTables`` (of a table nothing else writes meanwhile) and
CloudWatch's ``CDCLatencySource``/``CDCLatencyTarget`` as a DMS task does — so ``migrationctl --backend dms``, in its
own process, drives it with the AWS calls it makes in production.

What the task runs with comes from what was deployed, as DMS reads it: the endpoints' server, port, database, user
and password (or ``PostgreSQLSettings.SecretsManagerSecretId``: the emulator's secret), the source endpoint's
``SlotName`` and ``HeartbeatSchema``, the target endpoint's ``AfterConnectScript``, the task's ``TableMappings``
(selection rules' schemas) and ``ReplicationTaskSettings`` (``ErrorBehavior``, ``ControlTablesSettings``), and the
``CdcStartPosition`` it was started with (changes committed before it are not applied). The time a task takes to stop
is the emulator's ``HARNESS_DMS_STOP_SECONDS`` (default 30 s, as real tasks take).

Endpoints elsewhere (the deploy rehearsal's) leave the task to moto: it only changes status.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
import time
from typing import Any

from harness.dms.standin import StandInSettings, StandInTask, Status

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
STOP_SECONDS_ENV = "HARNESS_DMS_STOP_SECONDS"
DEFAULT_STOP_SECONDS = 30.0
METRIC_SECONDS = 15.0
"""How often a served task publishes its CDC latency (DMS publishes per minute; the lag gate reads the last 10)."""
ENGINES: dict[str, StandInTask] = {}
"""Task ARN -> the stand-in replicating for it (in the emulator's process)."""


class NotServed(Exception):
    """The task's endpoints are not PostgreSQL servers on this machine (or say too little to reach them)."""


def _schemas(table_mappings: str) -> tuple[str, ...]:
    rules = json.loads(table_mappings or "{}").get("rules", [])
    found = [
        str(r["object-locator"]["schema-name"])
        for r in rules
        if r.get("rule-type") == "selection" and r.get("rule-action") == "include"
    ]
    if any("%" in s for s in found):
        raise NotServed("a selection rule with a schema wildcard (the stand-in needs the schemas named)")
    return tuple(found)


def _region_account(arn: str) -> tuple[str, str]:
    """``arn:aws:dms:<region>:<account>:…``'s region and account (the backends moto keeps per account and region)."""
    _arn, _partition, _service, region, account, *_ = arn.split(":")
    return region, account


def _credentials(endpoint: Any, account: str, region: str) -> tuple[str, str]:
    secret_id = (endpoint.postgre_sql_settings or {}).get("SecretsManagerSecretId")
    if not secret_id:
        return str(endpoint.username or ""), str(endpoint.password or "")
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[account][region].get_secret_value(secret_id, None, "AWSCURRENT")  # type: ignore[arg-type]
    values = json.loads(secret["SecretString"])
    return str(values["username"]), str(values["password"])


def _dsn(endpoint: Any, account: str, region: str) -> str:
    import psycopg

    if endpoint.engine_name not in ("postgres", "aurora-postgresql") or endpoint.server_name not in LOCAL_HOSTS:
        raise NotServed(f"endpoint {endpoint.endpoint_identifier} is not PostgreSQL on this machine")
    user, password = _credentials(endpoint, account, region)
    return str(
        psycopg.conninfo.make_conninfo(
            host=endpoint.server_name, port=endpoint.port, dbname=endpoint.database_name, user=user, password=password
        )
    )


def settings_for(task: Any, backend: Any) -> StandInSettings:
    """What a deployed task says, as the stand-in's settings (:class:`NotServed` if it is not for the stand-in)."""
    region, account = _region_account(task.arn)
    endpoints = {e.endpoint_arn: e for e in backend.endpoints.values()}
    source, target = endpoints.get(task.source_endpoint_arn), endpoints.get(task.target_endpoint_arn)
    if source is None or target is None:
        raise NotServed("an endpoint of the task does not exist")
    source_settings, target_settings = source.postgre_sql_settings or {}, target.postgre_sql_settings or {}
    slot = str(source_settings.get("SlotName") or "")
    if not slot:
        raise NotServed(f"source endpoint {source.endpoint_identifier} names no SlotName")
    extra = {}
    if target_settings.get("AfterConnectScript"):
        extra["after_connect_script"] = str(target_settings["AfterConnectScript"])
    return StandInSettings(
        task_name=task.id,
        source_dsn=_dsn(source, account, region),
        target_dsn=_dsn(target, account, region),
        slot=slot,
        schemas=_schemas(task.table_mappings),
        task_settings=json.loads(task.replication_task_settings or "{}"),
        heartbeat_schema=str(source_settings.get("HeartbeatSchema") or "") if source_settings.get("HeartbeatEnable") else "",
        stop_seconds=float(os.environ.get(STOP_SECONDS_ENV, DEFAULT_STOP_SECONDS)),
        start_position=str(getattr(task, "cdc_start_position", "") or ""),
        **extra,  # type: ignore[arg-type]
    )


def _publish_latency(task_arn: str, instance_id: str, engine: StandInTask) -> None:
    """CDCLatencySource/Target of a running task, as DMS publishes them: the stand-in applies as it reads, so both
    are the age of the oldest change it has read and not yet applied (0 when it has applied all)."""
    from moto.cloudwatch.models import cloudwatch_backends

    region, account = _region_account(task_arn)
    name = task_arn.rsplit(":", 1)[-1]
    dimensions = [
        {"Name": "ReplicationInstanceIdentifier", "Value": instance_id},
        {"Name": "ReplicationTaskIdentifier", "Value": name},
    ]
    print(f"dms stand-in: task {name} started", file=sys.stderr, flush=True)
    while ENGINES.get(task_arn) is engine and engine.status in (Status.STARTING, Status.RUNNING, Status.STOPPING):
        if engine.status is not Status.STARTING:
            latency = engine.latency_seconds()
            if latency >= METRIC_SECONDS:
                print(f"dms stand-in: task {name} {latency:.0f} s behind", file=sys.stderr, flush=True)
            cloudwatch_backends[account][region].put_metric_data(
                "AWS/DMS",
                [
                    {"MetricName": metric, "Value": latency, "Dimensions": dimensions, "Unit": "Seconds"}
                    for metric in ("CDCLatencySource", "CDCLatencyTarget")
                ],
            )
        time.sleep(METRIC_SECONDS if engine.status is not Status.STARTING else 0.2)
    print(f"dms stand-in: task {name} {engine.status.value} {engine.failure}".rstrip(), file=sys.stderr, flush=True)


def install() -> None:
    """Serve tasks whose endpoints are on this machine (the emulator's DMS patch, :mod:`harness.aws.patches_data`)."""
    from moto.core.utils import utcnow
    from moto.dms.exceptions import InvalidResourceStateFault, ResourceNotFoundFault
    from moto.dms.models import FakeReplicationTask, dms_backends
    from moto.dms.responses import DatabaseMigrationServiceResponse

    if getattr(FakeReplicationTask, "served_by_standin", False):
        return
    previous_to_dict, previous_start, previous_stop = (
        FakeReplicationTask.to_dict,
        FakeReplicationTask.start,
        FakeReplicationTask.stop,
    )
    previous_delete = FakeReplicationTask.delete

    def backend_of(task: Any) -> Any:
        region, account = _region_account(task.arn)
        return dms_backends[account][region]

    def start(self: Any) -> Any:
        engine = ENGINES.get(self.arn)
        if engine is None:
            try:
                engine = StandInTask(settings_for(self, backend_of(self)))
            except NotServed:
                return previous_start(self)
            ENGINES[self.arn] = engine
        elif getattr(self, "cdc_start_position", None):
            engine.settings = dataclasses.replace(engine.settings, start_position=str(self.cdc_start_position))
        if engine.status in (Status.STARTING, Status.RUNNING, Status.STOPPING):
            raise InvalidResourceStateFault(f"Replication task {self.id} is {engine.status.value}")
        engine.start()
        self.start_date = utcnow()
        instances = {i.arn: i.id for i in backend_of(self).replication_instances.values()}
        instance_id = instances.get(self.replication_instance_arn, "")
        threading.Thread(target=_publish_latency, args=(self.arn, instance_id, engine), daemon=True).start()
        return self

    def stop(self: Any) -> Any:
        engine = ENGINES.get(self.arn)
        if engine is None:
            return previous_stop(self)
        if engine.status not in (Status.STARTING, Status.RUNNING):
            raise InvalidResourceStateFault(f"Replication task {self.id} is currently not running")
        engine.stop()
        self.stop_date = utcnow()
        return self

    def delete(self: Any) -> Any:
        engine = ENGINES.pop(self.arn, None)
        if engine is not None:
            engine.stop(at_once=True)
        return previous_delete(self)

    def to_dict(self: Any) -> dict[str, Any]:
        out = previous_to_dict(self)
        engine = ENGINES.get(self.arn)
        if engine is not None and engine.status is not Status.READY:
            out["Status"] = engine.status.value
            if engine.status is Status.STOPPED:
                out["StopReason"] = "Stop Reason NORMAL"
            elif engine.status is Status.FAILED:
                out["StopReason"] = "Stop Reason FATAL_ERROR"
                out["LastFailureMessage"] = engine.failure
            if engine.started_at:
                out.setdefault("ReplicationTaskStats", {})["StartDate"] = engine.started_at
        return dict(out)

    def describe_table_statistics(self: Any) -> str:
        arn = self._get_param("ReplicationTaskArn")
        if arn not in self.dms_backend.replication_tasks:
            raise ResourceNotFoundFault("Replication task could not be found.")
        engine = ENGINES.get(arn)
        rows = engine.table_statistics() if engine is not None else []
        for f in self._get_param("Filters") or []:
            key = {"schema-name": "SchemaName", "table-name": "TableName"}[f["Name"]]
            rows = [r for r in rows if r[key] in f["Values"]]
        return json.dumps({"ReplicationTaskArn": arn, "TableStatistics": rows})

    def reload_tables(self: Any) -> str:
        arn = self._get_param("ReplicationTaskArn")
        engine = ENGINES.get(arn)
        if engine is None:
            raise InvalidResourceStateFault("the task has never run: nothing to reload")
        import psycopg

        for table in self._get_param("TablesToReload") or []:
            try:
                engine.reload(table["SchemaName"], table["TableName"])
            except psycopg.Error as error:
                raise InvalidResourceStateFault(f"reloading {table['SchemaName']}.{table['TableName']}: {error}") from None
        return json.dumps({"ReplicationTaskArn": arn})

    FakeReplicationTask.start = start  # type: ignore[method-assign]
    FakeReplicationTask.stop = stop  # type: ignore[method-assign]
    FakeReplicationTask.delete = delete  # type: ignore[method-assign]
    FakeReplicationTask.to_dict = to_dict  # type: ignore[method-assign]
    FakeReplicationTask.served_by_standin = True  # type: ignore[attr-defined]
    DatabaseMigrationServiceResponse.describe_table_statistics = describe_table_statistics  # type: ignore[attr-defined]
    DatabaseMigrationServiceResponse.reload_tables = reload_tables  # type: ignore[attr-defined]
