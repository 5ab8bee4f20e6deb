"""AWS DMS: account roles, subnet group, replication instance, endpoints, the full-load-and-CDC task
and its event subscriptions.

Credentials never pass through Terraform: each endpoint reads a Secrets Manager secret (operations CMK)
through an access role scoped to exactly those secrets. The secrets are created empty; the runbook puts
``{"username", "password", "host", "port"}`` into them. Sizing is reasoned in ``docs/dms-sizing.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from inventory_migration.cdk import Construct, aws
from inventory_migration.dms_settings import TableMappings, TaskSettings
from inventory_migration.iam import KMS_DECRYPT_ACTIONS, SECRET_READ_ACTIONS, policy_json, service_assume_role_policy, statement
from inventory_migration.naming import Namer, ResourceType
from inventory_migration.tagging import name_tag

ACCOUNT_ROLES = {
    "dms-vpc-role": "AmazonDMSVPCManagementRole",
    "dms-cloudwatch-logs-role": "AmazonDMSCloudWatchLogsRole",
}
"""Roles DMS looks up by these exact names, one per account, and the managed policy of each."""
AWS_MANDATED_NAMES = frozenset(ACCOUNT_ROLES)
"""Names AWS fixes, exempt from the naming convention."""

MIGRATION_TYPE = "full-load-and-cdc"
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
    max_full_load_subtasks: int = 8
    """Tables loaded in parallel. Default: 8."""
    heartbeat_frequency_minutes: int = 5
    """Source heartbeat interval. Default: 5."""
    start_task: bool = False
    """Start the task on apply. Default: false."""
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
            )
            if bad
        ]
        if problems:
            raise ValueError("; ".join(problems))


class DmsReplication(Construct):
    """Everything DMS needs to copy the source into Aurora and keep it in step."""

    def __init__(self, scope: Construct, construct_id: str, *, props: DmsReplicationProps) -> None:
        super().__init__(scope, construct_id)
        p, n = props, props.namer
        self.props = props
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
        self.instance_identifier = n.name(ResourceType.DMS_INSTANCE)
        self.task_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "task-logs",
            name=f"dms-tasks-{self.instance_identifier}",
            kms_key_id=p.kms_key_arn,
            retention_in_days=p.log_retention_days,
            tags=name_tag(n.name(ResourceType.LOG_GROUP, "dms-tasks")),
        )
        self.instance = aws.dms_replication_instance.DmsReplicationInstance(
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
        self.target_secret = self._secret("dms-target", "Aurora target credentials for DMS")
        self.secrets_access_role = self._secrets_access_role()

        self.source_endpoint = self._endpoint(
            "source",
            p.source,
            self.source_secret,
            aws.dms_endpoint.DmsEndpointPostgresSettings(
                heartbeat_enable=True,
                heartbeat_frequency=p.heartbeat_frequency_minutes,
                plugin_name=SOURCE_PLUGIN,
                map_boolean_as_boolean=True,
                capture_ddls=False,
            ),
        )
        self.target_endpoint = self._endpoint(
            "target",
            p.target,
            self.target_secret,
            aws.dms_endpoint.DmsEndpointPostgresSettings(after_connect_script=AFTER_CONNECT_SCRIPT, map_boolean_as_boolean=True),
        )
        self.table_mappings = TableMappings(schemas=p.schemas)
        self.task_settings = TaskSettings(lob_max_size_kb=p.lob_max_size_kb, max_full_load_subtasks=p.max_full_load_subtasks)
        self.task = aws.dms_replication_task.DmsReplicationTask(
            self,
            "task",
            replication_task_id=n.name(ResourceType.DMS_TASK, "full-load-cdc"),
            migration_type=MIGRATION_TYPE,
            replication_instance_arn=self.instance.replication_instance_arn,
            source_endpoint_arn=self.source_endpoint.endpoint_arn,
            target_endpoint_arn=self.target_endpoint.endpoint_arn,
            table_mappings=self.table_mappings.to_json(),
            replication_task_settings=self.task_settings.to_json(),
            start_replication_task=p.start_task,
            tags=name_tag(n.name(ResourceType.DMS_TASK, "full-load-cdc")),
        )
        self.event_subscriptions = [
            aws.dms_event_subscription.DmsEventSubscription(
                self,
                f"{kind}-events",
                name=n.name(ResourceType.EVENT_SUBSCRIPTION, f"dms-{kind}"),
                enabled=True,
                sns_topic_arn=p.alarm_topic_arn,
                source_type=f"replication-{kind}",
                source_ids=[source_id],
                event_categories=list(categories),
                tags=name_tag(n.name(ResourceType.EVENT_SUBSCRIPTION, f"dms-{kind}")),
            )
            for kind, source_id, categories in (
                ("task", self.task.replication_task_id, TASK_EVENT_CATEGORIES),
                ("instance", self.instance.replication_instance_id, INSTANCE_EVENT_CATEGORIES),
            )
        ]

    def _account_roles(self) -> list[aws.iam_role.IamRole]:
        roles = []
        for name, policy in ACCOUNT_ROLES.items():
            role = aws.iam_role.IamRole(
                self,
                name,
                name=name,
                assume_role_policy=service_assume_role_policy("dms.amazonaws.com"),
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
        role = aws.iam_role.IamRole(
            self,
            "secrets-access-role",
            name=n.name(ResourceType.IAM_ROLE, "dms-secrets-access"),
            assume_role_policy=service_assume_role_policy(f"dms.{p.region}.amazonaws.com"),
            tags=name_tag(n.name(ResourceType.IAM_ROLE, "dms-secrets-access")),
        )
        self.secrets_access_policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "secrets-access",
            name=n.name(ResourceType.IAM_POLICY, "dms-secrets-access"),
            role=role.id,
            policy=policy_json(
                statement("ReadEndpointSecrets", SECRET_READ_ACTIONS, [self.source_secret.arn, self.target_secret.arn]),
                statement(
                    "DecryptEndpointSecrets",
                    KMS_DECRYPT_ACTIONS[:1],
                    [p.kms_key_arn],
                    condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{p.region}.amazonaws.com"}},
                ),
            ),
        )
        return role

    def _endpoint(
        self,
        side: str,
        spec: EndpointSpec,
        secret: aws.secretsmanager_secret.SecretsmanagerSecret,
        settings: aws.dms_endpoint.DmsEndpointPostgresSettings,
    ) -> aws.dms_endpoint.DmsEndpoint:
        n = self.props.namer
        extra: dict[str, str] = {}
        if spec.ca_certificate_pem:
            cert = aws.dms_certificate.DmsCertificate(
                self,
                f"{side}-ca",
                certificate_id=n.name(ResourceType.DMS_CERTIFICATE, side),
                certificate_pem=spec.ca_certificate_pem,
                tags=name_tag(n.name(ResourceType.DMS_CERTIFICATE, side)),
            )
            extra["certificate_arn"] = cert.certificate_arn
        return aws.dms_endpoint.DmsEndpoint(
            self,
            side,
            endpoint_id=n.name(ResourceType.DMS_ENDPOINT, side),
            endpoint_type=side,
            engine_name=spec.engine_name,
            database_name=spec.database_name,
            secrets_manager_arn=secret.arn,
            secrets_manager_access_role_arn=self.secrets_access_role.arn,
            ssl_mode="verify-full" if spec.ca_certificate_pem else "require",
            kms_key_arn=self.props.kms_key_arn,
            postgres_settings=settings,
            tags=name_tag(n.name(ResourceType.DMS_ENDPOINT, side)),
            depends_on=[self.secrets_access_policy],
            **extra,
        )
