"""AWS DMS: account roles, subnet group, replication instance, endpoints, the full-load-and-CDC task, the
reverse CDC task of the way back, and their event subscriptions.

Credentials never pass through Terraform: each endpoint reads a Secrets Manager secret (operations CMK)
through an access role scoped to exactly those secrets. The secrets are created empty; the runbook puts
``{"username", "password", "host", "port"}`` into them. Sizing is reasoned in ``docs/dms-sizing.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from inventory_migration.cdk import Construct, aws
from inventory_migration.dms_settings import (
    FORWARD_TASK_QUALIFIER,
    REVERSE_SLOT_NAME,
    REVERSE_TASK_QUALIFIER,
    TableMappings,
    TaskSettings,
    table_ref,
)
from inventory_migration.iam import KMS_DECRYPT_ACTIONS, SECRET_READ_ACTIONS, policy_json, service_assume_role_policy, statement
from inventory_migration.naming import DMS_ACCOUNT_ROLES, Namer, ResourceType
from inventory_migration.phases import TaskState
from inventory_migration.tagging import name_tag

ACCOUNT_ROLES = DMS_ACCOUNT_ROLES

MIGRATION_TYPE = "full-load-and-cdc"
REVERSE_MIGRATION_TYPE = "cdc"
"""The way back replicates changes only: on-prem already holds every row up to the switch."""
SOURCE_PLUGIN = "test_decoding"
"""Logical decoding plugin on the source (``pglogical`` needs the extension and a restart on-prem)."""
AFTER_CONNECT_SCRIPT = "SET session_replication_role = 'replica'"
"""Run on every target connection: foreign keys and user triggers do not fire for replicated rows."""
TASK_EVENT_CATEGORIES = ("failure", "state change", "configuration change", "creation", "deletion")
INSTANCE_EVENT_CATEGORIES = ("failure", "failover", "low storage", "maintenance", "configuration change")


@dataclasses.dataclass(frozen=True, kw_only=True)
class EndpointSpec:
    """One side of the replication."""

    database_name: str
    """Database DMS connects to."""
    engine_name: str
    """DMS engine name: ``postgres`` (on-prem) or ``aurora-postgresql``."""
    ca_certificate_pem: str = ""
    """CA certificate (PEM); when set the endpoint verifies the server fully. Default: none (``require``)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DmsReplicationProps:
    """Props of :class:`DmsReplication`."""

    namer: Namer
    """Derives identifiers."""
    region: str
    """Region of the DMS service principal."""
    partition: str
    """AWS partition, for managed policy ARNs."""
    subnet_ids: Sequence[str]
    """Private DMS subnets in at least two AZs."""
    security_group_ids: Sequence[str]
    """Security groups of the replication instance."""
    kms_key_arn: str
    """CMK for instance storage, endpoints, secrets and logs."""
    source: EndpointSpec
    """The on-prem PostgreSQL source."""
    target: EndpointSpec
    """The Aurora writer."""
    schemas: tuple[str, ...]
    """Source schemas to replicate."""
    alarm_topic_arn: str
    """SNS topic for DMS events."""
    replication: bool = True
    """Create the instance, endpoints, secrets and tasks; false leaves only the task log group (migration evidence).
    Default: true."""
    forward_task: TaskState = TaskState.CREATED
    """The full-load-and-CDC task on-prem → Aurora. Default: created, not started."""
    reverse_task: TaskState = TaskState.ABSENT
    """The CDC-only task Aurora → on-prem (the way back), with its endpoints and secret. Default: absent."""
    reverse_slot_name: str = REVERSE_SLOT_NAME
    """Logical replication slot on Aurora the reverse task reads (created by ``migrationctl cutover``).
    Default: ``migration_way_back``."""
    reverse_cdc_start_position: str = ""
    """LSN the reverse task starts from; required when the reverse task exists. Default: none."""
    instance_class: str = "dms.r5.large"
    """Replication instance class. Default: ``dms.r5.large``."""
    allocated_storage_gb: int = 100
    """Replication instance storage. Default: 100."""
    multi_az: bool = True
    """Standby in another AZ. Default: true."""
    engine_version: str = "3.5.4"
    """DMS engine version. Default: ``3.5.4``."""
    lob_max_size_kb: int = 64
    """Limited LOB mode size. Default: 64."""
    full_lob_tables: tuple[str, ...] = ()
    """``schema.table`` entries moved in full LOB mode. Default: none."""
    excluded_tables: tuple[str, ...] = ()
    """``schema.table`` entries left out of both tasks. Default: none."""
    max_full_load_subtasks: int = 8
    """Tables loaded in parallel. Default: 8."""
    heartbeat_frequency_minutes: int = 1
    """Source heartbeat interval, in minutes. Default: 1."""
    create_account_roles: bool = True
    """Create ``dms-vpc-role`` and ``dms-cloudwatch-logs-role``. Default: true."""
    secret_recovery_window_days: int = 0
    """Secrets' recovery window on destroy; 0 deletes at once. Default: 0 (destroyable)."""
    log_retention_days: int = 365
    """Task log retention. Default: 365."""

    def __post_init__(self) -> None:
        problems = [
            msg
            for bad, msg in (
                (len(self.subnet_ids) < 2, "subnet_ids: DMS needs subnets in at least 2 AZs"),
                (not self.schemas, "schemas: at least one"),
                (
                    self.secret_recovery_window_days != 0 and not 7 <= self.secret_recovery_window_days <= 30,
                    f"secret_recovery_window_days = {self.secret_recovery_window_days!r}: 0 or 7 to 30",
                ),
                (
                    not self.replication and (self.forward_task.exists or self.reverse_task.exists),
                    "forward_task/reverse_task: a task needs replication = true",
                ),
                (
                    self.reverse_task.exists and not self.reverse_cdc_start_position,
                    "reverse_cdc_start_position: required when the reverse task exists",
                ),
                *(
                    (not _is_table_ref(entry), f"{field} entry {entry!r}: must be schema.table (no wildcards)")
                    for field in ("full_lob_tables", "excluded_tables")
                    for entry in getattr(self, field)
                ),
            )
            if bad
        ]
        if problems:
            raise ValueError("; ".join(problems))


def _is_table_ref(text: str) -> bool:
    try:
        table_ref(text)
    except ValueError:
        return False
    return True


class DmsReplication(Construct):
    """Everything DMS needs to copy the source into Aurora, keep it in step, and replicate back on rollback.

    What exists follows the phase (``inventory_migration/phases.py``): the forward task from ``foundation`` to
    ``rollback-window``, the reverse task and its endpoints in ``cutover`` and ``rollback-window``, and in
    ``decommission`` only the task log group, kept as migration evidence for its retention period.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: DmsReplicationProps) -> None:
        super().__init__(scope, construct_id)
        p, n = props, props.namer
        self.props = props
        self.instance_identifier = n.name(ResourceType.DMS_INSTANCE)
        self.task_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "task-logs",
            name=f"dms-tasks-{self.instance_identifier}",
            kms_key_id=p.kms_key_arn,
            retention_in_days=p.log_retention_days,
            tags=name_tag(n.name(ResourceType.LOG_GROUP, "dms-tasks")),
        )
        self.instance: aws.dms_replication_instance.DmsReplicationInstance | None = None
        self.task: aws.dms_replication_task.DmsReplicationTask | None = None
        self.reverse_task: aws.dms_replication_task.DmsReplicationTask | None = None
        self.source_secret: aws.secretsmanager_secret.SecretsmanagerSecret | None = None
        self.target_secret: aws.secretsmanager_secret.SecretsmanagerSecret | None = None
        self.reverse_target_secret: aws.secretsmanager_secret.SecretsmanagerSecret | None = None
        if p.replication:
            self._replication()

    def _replication(self) -> None:
        p, n = self.props, self.props.namer
        account_roles = self._account_roles() if p.create_account_roles else []
        self.subnet_group = aws.dms_replication_subnet_group.DmsReplicationSubnetGroup(
            self,
            "subnets",
            replication_subnet_group_id=n.name(ResourceType.DMS_SUBNET_GROUP),
            replication_subnet_group_description="Private DMS subnets",
            subnet_ids=list(p.subnet_ids),
            tags=name_tag(n.name(ResourceType.DMS_SUBNET_GROUP)),
            depends_on=account_roles,
        )
        self.instance = instance = aws.dms_replication_instance.DmsReplicationInstance(
            self,
            "instance",
            replication_instance_id=self.instance_identifier,
            replication_instance_class=p.instance_class,
            allocated_storage=p.allocated_storage_gb,
            multi_az=p.multi_az,
            engine_version=p.engine_version,
            kms_key_arn=p.kms_key_arn,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            apply_immediately=True,
            replication_subnet_group_id=self.subnet_group.replication_subnet_group_id,
            vpc_security_group_ids=list(p.security_group_ids),
            tags=name_tag(self.instance_identifier),
            depends_on=[*account_roles, self.task_log_group],
        )
        self.source_secret = self._secret("dms-source", "on-prem PostgreSQL source credentials for DMS")
        self.target_secret = self._secret("dms-target", "Aurora credentials for DMS (target, and source of the way back)")
        self.secrets_access_role = self._secrets_access_role()
        self.secrets_access_policy = self._secrets_access_policy(
            "secrets-access", "dms-secrets-access", [self.source_secret, self.target_secret]
        )
        self.table_mappings = TableMappings(
            schemas=p.schemas,
            excluded_tables=tuple(table_ref(t) for t in p.excluded_tables),
            full_lob_tables=tuple(table_ref(t) for t in p.full_lob_tables),
        )
        self.task_settings = TaskSettings(lob_max_size_kb=p.lob_max_size_kb, max_full_load_subtasks=p.max_full_load_subtasks)
        self.event_subscriptions = [
            self._events(
                "instance", "dms-instance", "replication-instance", instance.replication_instance_id, INSTANCE_EVENT_CATEGORIES
            )
        ]
        if p.forward_task.exists:
            self.task = self._forward_task(instance)
        if p.reverse_task.exists:
            self.reverse_task = self._reverse_task(instance)

    def _forward_task(
        self, instance: aws.dms_replication_instance.DmsReplicationInstance
    ) -> aws.dms_replication_task.DmsReplicationTask:
        p, n = self.props, self.props.namer
        assert self.source_secret is not None and self.target_secret is not None
        self.source_endpoint = self._endpoint(
            "source",
            "source",
            p.source,
            self.source_secret,
            aws.dms_endpoint.DmsEndpointPostgresSettings(
                heartbeat_enable=True,
                heartbeat_frequency=p.heartbeat_frequency_minutes,
                plugin_name=SOURCE_PLUGIN,
                map_boolean_as_boolean=True,
                capture_ddls=False,
                fail_tasks_on_lob_truncation=True,  # a LOB over lob_max_size_kb stops the task, never truncated quietly
            ),
            self.secrets_access_policy,
        )
        self.target_endpoint = self._endpoint(
            "target",
            "target",
            p.target,
            self.target_secret,
            aws.dms_endpoint.DmsEndpointPostgresSettings(after_connect_script=AFTER_CONNECT_SCRIPT, map_boolean_as_boolean=True),
            self.secrets_access_policy,
        )
        task = aws.dms_replication_task.DmsReplicationTask(
            self,
            "task",
            replication_task_id=n.name(ResourceType.DMS_TASK, FORWARD_TASK_QUALIFIER),
            migration_type=MIGRATION_TYPE,
            replication_instance_arn=instance.replication_instance_arn,
            source_endpoint_arn=self.source_endpoint.endpoint_arn,
            target_endpoint_arn=self.target_endpoint.endpoint_arn,
            table_mappings=self.table_mappings.to_json(),
            replication_task_settings=self.task_settings.to_json(),
            start_replication_task=p.forward_task.running,
            tags=name_tag(n.name(ResourceType.DMS_TASK, FORWARD_TASK_QUALIFIER)),
        )
        self.event_subscriptions.append(
            self._events("task", "dms-task", "replication-task", task.replication_task_id, TASK_EVENT_CATEGORIES)
        )
        return task

    def _reverse_task(
        self, instance: aws.dms_replication_instance.DmsReplicationInstance
    ) -> aws.dms_replication_task.DmsReplicationTask:
        """Aurora → on-prem, CDC only, from the slot and LSN ``migrationctl cutover`` recorded before the first green write."""
        p, n = self.props, self.props.namer
        assert self.target_secret is not None
        self.reverse_target_secret = self._secret(
            "dms-reverse-target", "on-prem PostgreSQL credentials for the reverse DMS task (the way back)"
        )
        access = self._secrets_access_policy(
            "reverse-secrets-access", "dms-reverse-secrets-access", [self.target_secret, self.reverse_target_secret]
        )
        self.reverse_source_endpoint = self._endpoint(
            "reverse-source",
            "source",
            p.target,
            self.target_secret,
            aws.dms_endpoint.DmsEndpointPostgresSettings(
                heartbeat_enable=True,
                heartbeat_frequency=p.heartbeat_frequency_minutes,
                plugin_name=SOURCE_PLUGIN,
                slot_name=p.reverse_slot_name,
                map_boolean_as_boolean=True,
                capture_ddls=False,
                fail_tasks_on_lob_truncation=True,  # a LOB over lob_max_size_kb stops the task, never truncated quietly
            ),
            access,
        )
        self.reverse_target_endpoint = self._endpoint(
            "reverse-target",
            "target",
            p.source,
            self.reverse_target_secret,
            aws.dms_endpoint.DmsEndpointPostgresSettings(after_connect_script=AFTER_CONNECT_SCRIPT, map_boolean_as_boolean=True),
            access,
        )
        name = n.name(ResourceType.DMS_TASK, REVERSE_TASK_QUALIFIER)
        task = aws.dms_replication_task.DmsReplicationTask(
            self,
            "reverse-task",
            replication_task_id=name,
            migration_type=REVERSE_MIGRATION_TYPE,
            cdc_start_position=p.reverse_cdc_start_position,
            replication_instance_arn=instance.replication_instance_arn,
            source_endpoint_arn=self.reverse_source_endpoint.endpoint_arn,
            target_endpoint_arn=self.reverse_target_endpoint.endpoint_arn,
            table_mappings=self.table_mappings.to_json(),
            replication_task_settings=dataclasses.replace(self.task_settings, validation=False).to_json(),
            start_replication_task=p.reverse_task.running,
            tags=name_tag(name),
        )
        self.event_subscriptions.append(
            self._events("reverse-task", "dms-reverse-task", "replication-task", task.replication_task_id, TASK_EVENT_CATEGORIES)
        )
        return task

    def _events(
        self, construct_id: str, qualifier: str, source_type: str, source_id: str, categories: tuple[str, ...]
    ) -> aws.dms_event_subscription.DmsEventSubscription:
        name = self.props.namer.name(ResourceType.EVENT_SUBSCRIPTION, qualifier)
        return aws.dms_event_subscription.DmsEventSubscription(
            self,
            f"{construct_id}-events",
            name=name,
            enabled=True,
            sns_topic_arn=self.props.alarm_topic_arn,
            source_type=source_type,
            source_ids=[source_id],
            event_categories=list(categories),
            tags=name_tag(name),
        )

    def _account_roles(self) -> list[aws.iam_role.IamRole]:
        roles = []
        for name, policy in ACCOUNT_ROLES.items():
            role = aws.iam_role.IamRole(
                self,
                name,
                name=name,
                assume_role_policy=service_assume_role_policy(self, "dms.amazonaws.com"),
                tags=name_tag(name),
            )
            aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                self,
                f"{name}-policy",
                role=role.name,
                policy_arn=f"arn:{self.props.partition}:iam::aws:policy/service-role/{policy}",
            )
            roles.append(role)
        return roles

    def _secret(self, qualifier: str, description: str) -> aws.secretsmanager_secret.SecretsmanagerSecret:
        name = self.props.namer.name(ResourceType.SECRET, qualifier)
        return aws.secretsmanager_secret.SecretsmanagerSecret(
            self,
            f"{qualifier}-secret",
            name=name,
            description=f"{description}: JSON with username, password, host, port (set by the runbook)",
            kms_key_id=self.props.kms_key_arn,
            recovery_window_in_days=self.props.secret_recovery_window_days,
            tags=name_tag(name),
        )

    def _secrets_access_role(self) -> aws.iam_role.IamRole:
        p, n = self.props, self.props.namer
        return aws.iam_role.IamRole(
            self,
            "secrets-access-role",
            name=n.name(ResourceType.IAM_ROLE, "dms-secrets-access"),
            assume_role_policy=service_assume_role_policy(self, f"dms.{p.region}.amazonaws.com"),
            tags=name_tag(n.name(ResourceType.IAM_ROLE, "dms-secrets-access")),
        )

    def _secrets_access_policy(
        self, construct_id: str, qualifier: str, secrets: list[aws.secretsmanager_secret.SecretsmanagerSecret]
    ) -> aws.iam_role_policy.IamRolePolicy:
        """Read exactly ``secrets`` (and decrypt them through Secrets Manager); one policy per task direction, so
        adding or removing the way back never touches the forward task's permissions."""
        p, n = self.props, self.props.namer
        return aws.iam_role_policy.IamRolePolicy(
            self,
            construct_id,
            name=n.name(ResourceType.IAM_POLICY, qualifier),
            role=self.secrets_access_role.id,
            policy=policy_json(
                self,
                statement("ReadEndpointSecrets", SECRET_READ_ACTIONS, [s.arn for s in secrets]),
                statement(
                    "DecryptEndpointSecrets",
                    KMS_DECRYPT_ACTIONS[:1],
                    [p.kms_key_arn],
                    condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{p.region}.amazonaws.com"}},
                ),
            ),
        )

    def _endpoint(
        self,
        construct_id: str,
        side: str,
        spec: EndpointSpec,
        secret: aws.secretsmanager_secret.SecretsmanagerSecret,
        settings: aws.dms_endpoint.DmsEndpointPostgresSettings,
        access: aws.iam_role_policy.IamRolePolicy,
    ) -> aws.dms_endpoint.DmsEndpoint:
        n = self.props.namer
        extra: dict[str, str] = {}
        if spec.ca_certificate_pem:
            cert = aws.dms_certificate.DmsCertificate(
                self,
                f"{construct_id}-ca",
                certificate_id=n.name(ResourceType.DMS_CERTIFICATE, construct_id),
                certificate_pem=spec.ca_certificate_pem,
                tags=name_tag(n.name(ResourceType.DMS_CERTIFICATE, construct_id)),
            )
            extra["certificate_arn"] = cert.certificate_arn
        return aws.dms_endpoint.DmsEndpoint(
            self,
            construct_id,
            endpoint_id=n.name(ResourceType.DMS_ENDPOINT, construct_id),
            endpoint_type=side,
            engine_name=spec.engine_name,
            database_name=spec.database_name,
            secrets_manager_arn=secret.arn,
            secrets_manager_access_role_arn=self.secrets_access_role.arn,
            ssl_mode="verify-full" if spec.ca_certificate_pem else "require",
            kms_key_arn=self.props.kms_key_arn,
            postgres_settings=settings,
            tags=name_tag(n.name(ResourceType.DMS_ENDPOINT, construct_id)),
            depends_on=[access],
            **extra,
        )
