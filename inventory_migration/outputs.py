"""The migration stack's outputs by name: what ``cdktf deploy`` / ``terraform output -json`` gives the runbook, and
what ``migrationctl cutover|rollback --stack-outputs`` and the rehearsals read.

One definition: the stack declares each output under its member's value (``stacks/migration.py``), migrationctl maps
its flags onto members, and a contract test synthesizes every phase of every shipped environment and checks that
each output migrationctl reads exists where it is needed.
"""

from __future__ import annotations

from enum import StrEnum


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
    BLUE_TARGET_GROUP_ARN = "blue_target_group_arn"
    DMS_SOURCE_SECRET_ARN = "dms_source_secret_arn"
    DMS_TARGET_SECRET_ARN = "dms_target_secret_arn"
    DMS_REPLICATION_INSTANCE_ID = "dms_replication_instance_id"
    DMS_TASK_ARN = "dms_task_arn"
    DMS_REVERSE_TASK_ARN = "dms_reverse_task_arn"
    DMS_REVERSE_TARGET_SECRET_ARN = "dms_reverse_target_secret_arn"
