"""The migration stack's outputs by name: what ``cdktf deploy`` / ``terraform output -json`` gives the runbook, and
what ``migrationctl cutover|rollback --stack-outputs`` and the rehearsals read.

One definition: the stack declares each output under its member's value (``stacks/migration.py``), migrationctl maps
its flags onto members, and a contract test synthesizes every phase of every shipped environment and checks that
each output migrationctl reads exists where it is needed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class StackOutput(StrEnum):
    MIGRATION_PHASE = "migration_phase"
    AURORA_WRITER_ENDPOINT = "aurora_writer_endpoint"
    AURORA_READER_ENDPOINT = "aurora_reader_endpoint"
    AURORA_PORT = "aurora_port"
    AURORA_MASTER_SECRET_ARN = "aurora_master_secret_arn"
    IMAGES_BUCKET_NAME = "images_bucket_name"
    STATE_BUCKET_NAME = "state_bucket_name"
    ALARM_TOPIC_ARN = "alarm_topic_arn"
    CUTOVER_BLOCKED_ALARM_NAME = "cutover_blocked_alarm_name"
    DASHBOARD_NAME = "dashboard_name"
    VPC_ID = "vpc_id"
    ECS_CLUSTER_NAME = "ecs_cluster_name"
    ECS_CLUSTER_ARN = "ecs_cluster_arn"
    APP_SUBNET_IDS = "app_subnet_ids"
    APP_SECURITY_GROUP_ID = "app_security_group_id"
    TASK_EXECUTION_ROLE_ARN = "task_execution_role_arn"
    TASK_ROLE_ARN = "task_role_arn"
    APP_DATABASE_SECRET_ARN = "app_database_secret_arn"
    GREEN_TARGET_GROUP_ARN = "green_target_group_arn"
    HTTPS_LISTENER_ARN = "https_listener_arn"
    LOAD_BALANCER_DNS_NAME = "load_balancer_dns_name"
    DATASYNC_TASK_ARN = "datasync_task_arn"
    DATASYNC_ENDPOINT_ID = "datasync_endpoint_id"
    DATASYNC_ENDPOINT_PRIVATE_IP = "datasync_endpoint_private_ip"
    DATASYNC_ENDPOINT_SUBNET_ARN = "datasync_endpoint_subnet_arn"
    DATASYNC_ENDPOINT_SECURITY_GROUP_ARN = "datasync_endpoint_security_group_arn"
    VPN_CONNECTION_ID = "vpn_connection_id"
    VPN_TUNNEL_ADDRESSES = "vpn_tunnel_addresses"
    SECURITY_GROUP_IDS = "security_group_ids"
    BLUE_TARGET_GROUP_ARN = "blue_target_group_arn"
    DMS_SOURCE_SECRET_ARN = "dms_source_secret_arn"
    DMS_TARGET_SECRET_ARN = "dms_target_secret_arn"
    DMS_REPLICATION_INSTANCE_ID = "dms_replication_instance_id"
    DMS_TASK_ARN = "dms_task_arn"
    DMS_REVERSE_TASK_ARN = "dms_reverse_task_arn"
    DMS_REVERSE_TARGET_SECRET_ARN = "dms_reverse_target_secret_arn"


DMS_TASK_OUTPUTS: tuple[tuple[str, StackOutput], ...] = (
    ("forward", StackOutput.DMS_TASK_ARN),
    ("reverse", StackOutput.DMS_REVERSE_TASK_ARN),
)
"""The DMS tasks by direction and the output that names each."""


@dataclasses.dataclass(frozen=True)
class OutputDoc:
    """What ``terraform output`` says of an output."""

    description: str
    sensitive: bool


DOCS: Mapping[StackOutput, OutputDoc] = {
    StackOutput.MIGRATION_PHASE: OutputDoc(
        "The deployed phase: the next phase change sets previous_phase to this",
        False,
    ),
    StackOutput.AURORA_WRITER_ENDPOINT: OutputDoc("Aurora writer endpoint (DMS target, apps after cutover)", False),
    StackOutput.AURORA_READER_ENDPOINT: OutputDoc("Aurora reader endpoint (read-only traffic)", False),
    StackOutput.AURORA_PORT: OutputDoc("Aurora port", False),
    StackOutput.AURORA_MASTER_SECRET_ARN: OutputDoc("Secrets Manager secret holding the Aurora master credentials", True),
    StackOutput.IMAGES_BUCKET_NAME: OutputDoc("S3 bucket for the product images", False),
    StackOutput.STATE_BUCKET_NAME: OutputDoc(
        "Bucket of migrationctl's journals, records and lock (--state s3://<it>/<environment>)", False
    ),
    StackOutput.ALARM_TOPIC_ARN: OutputDoc("SNS topic for alarms and DMS/RDS events", False),
    StackOutput.CUTOVER_BLOCKED_ALARM_NAME: OutputDoc(
        "Composite alarm that must be OK before a cutover (migrationctl cutover checks it)", False
    ),
    StackOutput.DASHBOARD_NAME: OutputDoc("CloudWatch dashboard of the migration", False),
    StackOutput.VPC_ID: OutputDoc("VPC of the migration", False),
    StackOutput.SECURITY_GROUP_IDS: OutputDoc(
        "Security group id by part (dms, aurora, alb, app, endpoints, datasync_endpoint, resolver): `migrationctl network"
        " check` finds each part's network interfaces by them",
        False,
    ),
    StackOutput.ECS_CLUSTER_NAME: OutputDoc("ECS cluster of the applications", False),
    StackOutput.ECS_CLUSTER_ARN: OutputDoc("ECS cluster ARN", False),
    StackOutput.APP_SUBNET_IDS: OutputDoc("Private subnets for the ECS tasks", False),
    StackOutput.APP_SECURITY_GROUP_ID: OutputDoc("Security group for the ECS tasks", False),
    StackOutput.TASK_EXECUTION_ROLE_ARN: OutputDoc("ECS task execution role (logs, database secret)", False),
    StackOutput.TASK_ROLE_ARN: OutputDoc("ECS task role (the image bucket)", False),
    StackOutput.APP_DATABASE_SECRET_ARN: OutputDoc(
        "Secret the runbook fills with the application's Aurora credentials",
        True,
    ),
    StackOutput.GREEN_TARGET_GROUP_ARN: OutputDoc("Green target group (ECS Fargate, ip targets)", False),
    StackOutput.HTTPS_LISTENER_ARN: OutputDoc(
        "HTTPS listener whose weights migrationctl cutover/rollback switch",
        False,
    ),
    StackOutput.LOAD_BALANCER_DNS_NAME: OutputDoc("DNS name of the load balancer", False),
    StackOutput.DATASYNC_TASK_ARN: OutputDoc(
        "DataSync task that copies the images (the runbook starts its final run)",
        False,
    ),
    StackOutput.DATASYNC_ENDPOINT_ID: OutputDoc(
        "DataSync VPC endpoint the on-prem agent is activated against (docs/network.md, first deploy)", False
    ),
    StackOutput.DATASYNC_ENDPOINT_PRIVATE_IP: OutputDoc(
        "Private IP of the DataSync endpoint: the agent's activation connects to it", False
    ),
    StackOutput.DATASYNC_ENDPOINT_SUBNET_ARN: OutputDoc(
        "Subnet of the DataSync endpoint (create-agent --subnet-arns)",
        False,
    ),
    StackOutput.DATASYNC_ENDPOINT_SECURITY_GROUP_ARN: OutputDoc(
        "Security group of the DataSync endpoint (create-agent --security-group-arns)", False
    ),
    StackOutput.VPN_CONNECTION_ID: OutputDoc(
        "Site-to-site VPN (`aws ec2 get-vpn-connection-device-sample-configuration` configures the on-prem device)", False
    ),
    StackOutput.VPN_TUNNEL_ADDRESSES: OutputDoc(
        "Outside addresses of the two VPN tunnels (configure both on the on-prem device)", False
    ),
    StackOutput.BLUE_TARGET_GROUP_ARN: OutputDoc("Blue target group (the on-prem servers)", False),
    StackOutput.DMS_SOURCE_SECRET_ARN: OutputDoc("Secret the runbook fills with the source credentials", True),
    StackOutput.DMS_TARGET_SECRET_ARN: OutputDoc("Secret the runbook fills with the Aurora credentials for DMS", True),
    StackOutput.DMS_REPLICATION_INSTANCE_ID: OutputDoc("DMS replication instance identifier", False),
    StackOutput.DMS_TASK_ARN: OutputDoc(
        "DMS full-load-and-CDC task ARN (migrationctl lag --task-arn)",
        False,
    ),
    StackOutput.DMS_REVERSE_TASK_ARN: OutputDoc("DMS reverse CDC task ARN (Aurora -> on-prem, the way back)", False),
    StackOutput.DMS_REVERSE_TARGET_SECRET_ARN: OutputDoc(
        "Secret the runbook fills with the on-prem credentials of the reverse task", True
    ),
}
"""Each output's description and sensitivity: the stack declares the outputs with these, from one place."""


class OutputsFileError(ValueError):
    """An outputs file that is not one of the three shapes."""


def parse_outputs(text: str, source: str) -> dict[str, Any]:
    """``name -> value`` from an outputs file in any of its three shapes: ``terraform output -json``
    (``{"name": {"value": …, "sensitive": …}}``), ``cdktf output --outputs-file`` (``{"<stack name>": {"name": value}}``)
    and a flat ``{"name": value}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise OutputsFileError(f"cannot read {source}: {error}") from None
    if not isinstance(data, dict):
        raise OutputsFileError(f"{source}: expected a JSON object")
    known = {o.value for o in StackOutput}
    if len(data) == 1 and not (data.keys() & known):
        (only,) = data.values()
        if isinstance(only, dict) and only.keys() & known:
            data = only  # cdktf output --outputs-file: one object per stack
    return {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in data.items()}
