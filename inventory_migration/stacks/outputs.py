"""The stack's outputs: the value of each :class:`~inventory_migration.contracts.outputs.StackOutput` in this stack.

Names, descriptions and sensitivity are the contract's (``contracts/outputs.py``); which outputs exist follows what the
phase deployed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inventory_migration.contracts.outputs import DOCS, StackOutput
from inventory_migration.synth.cdk import Fn, TerraformOutput

if TYPE_CHECKING:
    from inventory_migration.stacks.migration import MigrationStack


def security_group_ids(stack: MigrationStack) -> dict[str, str]:
    """The security group of each part of the migration that has network interfaces, by the part's key."""
    groups = stack.security_groups
    found = {"aurora": groups.aurora, "alb": groups.alb, "app": groups.app, "endpoints": groups.endpoints, "dms": groups.dms}
    found["datasync_endpoint"] = getattr(stack.files, "endpoint_security_group", None) if stack.files.endpoint else None
    found["resolver"] = stack.dns.security_group if stack.dns is not None else None
    return {key: group.id for key, group in found.items() if group is not None}


def declare_outputs(stack: MigrationStack) -> None:
    """Declare every output the deployed phase has."""
    app, dms = stack.application, stack.dms
    outputs: dict[StackOutput, Any] = {
        StackOutput.MIGRATION_PHASE: stack.config.migration_phase.value,
        StackOutput.AURORA_WRITER_ENDPOINT: stack.aurora.cluster.endpoint,
        StackOutput.AURORA_READER_ENDPOINT: stack.aurora.cluster.reader_endpoint,
        StackOutput.AURORA_PORT: stack.aurora.cluster.port,
        StackOutput.AURORA_MASTER_SECRET_ARN: stack.aurora.master_secret_arn,
        StackOutput.IMAGES_BUCKET_NAME: stack.storage.bucket.bucket,
        StackOutput.STATE_BUCKET_NAME: stack.operator_state.bucket.bucket,
        StackOutput.ALARM_TOPIC_ARN: stack.alarm_topic.arn,
        StackOutput.CUTOVER_BLOCKED_ALARM_NAME: stack.monitoring.cutover_blocked.alarm_name,
        StackOutput.DASHBOARD_NAME: stack.monitoring.dashboard.dashboard_name,
        StackOutput.VPC_ID: stack.network.vpc.id,
        StackOutput.ECS_CLUSTER_NAME: app.cluster.name,
        StackOutput.ECS_CLUSTER_ARN: app.cluster.arn,
        StackOutput.APP_SUBNET_IDS: Fn.tolist(stack.network.app_subnet_ids),
        StackOutput.APP_SECURITY_GROUP_ID: stack.security_groups.app.id,
        StackOutput.TASK_EXECUTION_ROLE_ARN: app.execution_role.arn,
        StackOutput.TASK_ROLE_ARN: app.task_role.arn,
        StackOutput.APP_DATABASE_SECRET_ARN: app.database_secret.arn,
        StackOutput.GREEN_TARGET_GROUP_ARN: app.green.arn,
        StackOutput.HTTPS_LISTENER_ARN: app.https_listener.arn,
        StackOutput.LOAD_BALANCER_DNS_NAME: app.load_balancer.dns_name,
    }
    outputs[StackOutput.SECURITY_GROUP_IDS] = security_group_ids(stack)
    if stack.files.task is not None:
        outputs[StackOutput.DATASYNC_TASK_ARN] = stack.files.task.arn
    if stack.files.endpoint is not None:
        outputs[StackOutput.DATASYNC_ENDPOINT_ID] = stack.files.endpoint.id
        outputs[StackOutput.DATASYNC_ENDPOINT_PRIVATE_IP] = stack.files.endpoint_interface.private_ip
        outputs[StackOutput.DATASYNC_ENDPOINT_SUBNET_ARN] = stack.files.endpoint_subnet_arn
        outputs[StackOutput.DATASYNC_ENDPOINT_SECURITY_GROUP_ARN] = stack.files.endpoint_security_group_arn
    vpn = getattr(stack.network, "vpn_connection", None)
    if vpn is not None:
        outputs[StackOutput.VPN_CONNECTION_ID] = vpn.id
        outputs[StackOutput.VPN_TUNNEL_ADDRESSES] = [vpn.tunnel1_address, vpn.tunnel2_address]
    if app.blue is not None:
        outputs[StackOutput.BLUE_TARGET_GROUP_ARN] = app.blue.arn
    if dms.source_secret is not None and dms.target_secret is not None and dms.instance is not None:
        outputs[StackOutput.DMS_SOURCE_SECRET_ARN] = dms.source_secret.arn
        outputs[StackOutput.DMS_TARGET_SECRET_ARN] = dms.target_secret.arn
        outputs[StackOutput.DMS_REPLICATION_INSTANCE_ID] = dms.instance.replication_instance_id
    if dms.task is not None:
        outputs[StackOutput.DMS_TASK_ARN] = dms.task.replication_task_arn
    if dms.reverse_task is not None and dms.reverse_target_secret is not None:
        outputs[StackOutput.DMS_REVERSE_TASK_ARN] = dms.reverse_task.replication_task_arn
        outputs[StackOutput.DMS_REVERSE_TARGET_SECRET_ARN] = dms.reverse_target_secret.arn
    for output_id, value in outputs.items():
        doc = DOCS[output_id]
        TerraformOutput(stack, output_id.value, value=value, description=doc.description, sensitive=doc.sensitive)
