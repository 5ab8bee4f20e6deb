"""The night on DMS's semantics (the default): after the initial copy, on-prem -> Aurora is a DMS task in the
emulator, run by the stand-in (harness/dms/served.py), and so is the way back; ``migrationctl --backend dms`` drives
both with the AWS calls it makes in production, in its own process.

What is deployed is what the stack deploys: the task's table mappings and settings are the stack's own
(:mod:`inventory_migration.synth.dms_settings`), the target endpoints' ``AfterConnectScript`` the stack's, the reverse
task reads the slot ``migrationctl cutover`` creates on Aurora. The forward task writes Aurora as its own user (the
applier the switch fences); the reverse task writes on-prem as a superuser (``session_replication_role`` needs it on
PostgreSQL 13), which the freeze exempts by name.

The initial copy stays native (the stand-in has no full load): the hand-over happens before the application's load
starts, the native subscription dropped once caught up and DMS's slot created in its place.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg

from harness.aws.clients import client
from harness.dms.standin import apply_exceptions_ddl
from inventory_migration.contracts.names import CONTROL_SCHEMA, REVERSE_SLOT_NAME
from inventory_migration.migrationctl.pg.slots import FORWARD_NAME
from inventory_migration.synth.dms_settings import AFTER_CONNECT_SCRIPT, TableMappings, TaskSettings

APPLIER, APPLIER_PASSWORD = "dms_applier", "applier-password-1"
"""The forward task's user on Aurora (``dms.target`` secret's user in production)."""
REVERSE_USER, REVERSE_PASSWORD = "dms_reverse", "reverse-password-1"
"""The reverse task's user on-prem (a superuser: ``session_replication_role`` on PostgreSQL 13)."""
SOURCE_USER, SOURCE_PASSWORD = "dms_reader", "reader-password-1"
"""The forward task's user on-prem (REPLICATION, reads the slot). The reverse task reads Aurora as :data:`APPLIER`, as
the stack's reverse source endpoint uses the target endpoint's secret."""
FORWARD_SLOT = "dms_forward"
FORWARD_TASK, REVERSE_TASK = "dms-task-cdc-rehearsal", "dms-task-reverse-cdc-rehearsal"
SCHEMAS = ("shop",)
MAPPED = ", ".join((*SCHEMAS, CONTROL_SCHEMA))
"""The schemas the tasks' table mappings include (the stack adds the control schema), as a GRANT lists them."""


def stop_seconds() -> float:
    """The stand-in's stop time in this night's emulator (its environment, :data:`harness.dms.served.STOP_SECONDS_ENV`)."""
    import os

    from harness.dms.served import DEFAULT_STOP_SECONDS, STOP_SECONDS_ENV

    return float(os.environ.get(STOP_SECONDS_ENV, DEFAULT_STOP_SECONDS))


@dataclasses.dataclass(frozen=True)
class DmsTasks:
    forward_arn: str
    reverse_arn: str

    def switch_args(self) -> list[str]:
        """What ``migrationctl cutover/rollback --backend dms`` is told beyond the stack outputs file."""
        return [
            "--backend",
            "dms",
            "--forward-task-arn",
            self.forward_arn,
            "--reverse-task-arn",
            self.reverse_arn,
            "--forward-slot",
            FORWARD_SLOT,
            "--dms-target-user",
            APPLIER,
            "--reverse-user",
            REVERSE_USER,
            "--exempt-roles",
            REVERSE_USER,
            "--catch-up-timeout",
            "240",  # under the night's 600 s per run of migrationctl: a way back that cannot catch up fails the night
        ]


def ensure_role(conn: psycopg.Connection, name: str, password: str, options: str) -> None:
    """The login role ``name`` with ``options`` (``SUPERUSER LOGIN`` …) and ``password``, made or brought to it."""
    conn.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN CREATE ROLE {name}; END IF; END $$"
    )
    conn.execute(f"ALTER ROLE {name} {options} PASSWORD '{password}'")


def on_prem_users(source_dsn: str) -> None:
    """DMS's users on-prem, made before ``roles copy`` as in production (which carries them to Aurora, without their
    SUPERUSER and REPLICATION attributes, so the two sides' grants stay equal)."""
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        ensure_role(conn, REVERSE_USER, REVERSE_PASSWORD, "SUPERUSER LOGIN")
        ensure_role(conn, SOURCE_USER, SOURCE_PASSWORD, "LOGIN REPLICATION")
        conn.execute(f"GRANT USAGE ON SCHEMA {MAPPED} TO {SOURCE_USER}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {MAPPED} TO {SOURCE_USER}")


def grant_applier(conn: psycopg.Connection, user: str, schemas: tuple[str, ...] = (*SCHEMAS, CONTROL_SCHEMA)) -> None:
    """What the forward task's ``user`` needs on Aurora: the mapped ``schemas``' rows and sequences, DMS's control table
    (made here: the applier may not create it), and ``session_replication_role`` (the endpoint's after-connect script;
    on 15 and later a grant, on Aurora ``rds_superuser``'s to give)."""
    mapped = ", ".join(schemas)
    conn.execute(f"GRANT USAGE ON SCHEMA {mapped} TO {user}")
    conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {mapped} TO {user}")
    conn.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {mapped} TO {user}")
    if conn.info.server_version >= 150000:
        conn.execute(f"GRANT SET ON PARAMETER session_replication_role TO {user}")
    conn.execute(apply_exceptions_ddl())
    conn.execute(f"GRANT INSERT, SELECT ON public.awsdms_apply_exceptions TO {user}")


def _aurora_user(target_dsn: str) -> None:
    with psycopg.connect(target_dsn, autocommit=True) as conn:
        ensure_role(conn, APPLIER, APPLIER_PASSWORD, "LOGIN REPLICATION")
        grant_applier(conn, APPLIER)


def hand_over(endpoint: str, source: Any, target: Any, database: str) -> DmsTasks:
    """Native forward replication (caught up, nothing writing) hands over to the forward DMS task: the subscription
    dropped, DMS's slot created, the endpoints and both tasks created as the stack creates them, the forward task
    started. ``source``/``target``: the servers (:class:`harness.postgres.PostgresServer`)."""
    source_dsn, target_dsn = source.dsn(database), target.dsn(database)
    with psycopg.connect(target_dsn, autocommit=True) as conn:
        conn.execute(f"ALTER SUBSCRIPTION {FORWARD_NAME} DISABLE")
        conn.execute(f"ALTER SUBSCRIPTION {FORWARD_NAME} SET (slot_name = NONE)")
        conn.execute(f"DROP SUBSCRIPTION {FORWARD_NAME}")
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_drop_replication_slot(%s)", (FORWARD_NAME,))
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (FORWARD_SLOT,))
    _aurora_user(target_dsn)
    with psycopg.connect(source_dsn, autocommit=True) as conn:  # the reverse user (a superuser) would make it: made
        conn.execute(apply_exceptions_ddl())  # here so both sides' schemas stay equal
    dms = client(endpoint, "dms")
    instance = dms.create_replication_instance(
        ReplicationInstanceIdentifier="dms-instance-rehearsal", ReplicationInstanceClass="dms.r5.large"
    )["ReplicationInstance"]["ReplicationInstanceArn"]

    def endpoint_arn(name: str, kind: str, server: Any, user: str, password: str, settings: dict[str, Any]) -> str:
        return str(
            dms.create_endpoint(
                EndpointIdentifier=name,
                EndpointType=kind,
                EngineName="aurora-postgresql" if server is target else "postgres",
                ServerName="127.0.0.1",
                Port=server.port,
                DatabaseName=database,
                Username=user,
                Password=password,
                PostgreSQLSettings=settings,
            )["Endpoint"]["EndpointArn"]
        )

    mappings = TableMappings(schemas=SCHEMAS).to_json()
    from inventory_migration.config import load_config

    dev = load_config("dev", environ={}).dms  # the task settings the dev stack deploys
    settings = TaskSettings(lob_max_size_kb=dev.lob_max_size_kb, max_full_load_subtasks=dev.max_full_load_subtasks)
    reading = {"SlotName": FORWARD_SLOT, "PluginName": "test_decoding", "HeartbeatEnable": False}
    writing = {"AfterConnectScript": AFTER_CONNECT_SCRIPT}
    forward = dms.create_replication_task(
        ReplicationTaskIdentifier=FORWARD_TASK,
        SourceEndpointArn=endpoint_arn("dms-source-rehearsal", "source", source, SOURCE_USER, SOURCE_PASSWORD, reading),
        TargetEndpointArn=endpoint_arn("dms-target-rehearsal", "target", target, APPLIER, APPLIER_PASSWORD, writing),
        ReplicationInstanceArn=instance,
        MigrationType="full-load-and-cdc",
        TableMappings=mappings,
        ReplicationTaskSettings=settings.to_json(),
    )["ReplicationTask"]["ReplicationTaskArn"]
    reverse = dms.create_replication_task(
        ReplicationTaskIdentifier=REVERSE_TASK,
        SourceEndpointArn=endpoint_arn(
            "dms-reverse-source-rehearsal",
            "source",
            target,
            APPLIER,
            APPLIER_PASSWORD,
            {**reading, "SlotName": REVERSE_SLOT_NAME},
        ),
        TargetEndpointArn=endpoint_arn("dms-reverse-target-rehearsal", "target", source, REVERSE_USER, REVERSE_PASSWORD, writing),
        ReplicationInstanceArn=instance,
        MigrationType="cdc",
        TableMappings=mappings,
        ReplicationTaskSettings=dataclasses.replace(settings, validation=False).to_json(),
    )["ReplicationTask"]["ReplicationTaskArn"]
    dms.start_replication_task(ReplicationTaskArn=forward, StartReplicationTaskType="start-replication")
    return DmsTasks(forward_arn=forward, reverse_arn=reverse)


def task_status(endpoint: str, arn: str) -> str:
    tasks = client(endpoint, "dms").describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])[
        "ReplicationTasks"
    ]
    return str(tasks[0]["Status"]) if tasks else "absent"
