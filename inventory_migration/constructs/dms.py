"""AWS DMS: account roles, subnet group, replication instance, endpoints, the full-load-and-CDC task, the
reverse CDC task of the way back, and their event subscriptions.

Credentials never pass through Terraform: each endpoint reads a Secrets Manager secret (operations CMK)
through an access role scoped to exactly those secrets. The secrets are created empty; the runbook puts
``{"username", "password", "host", "port"}`` into them. Sizing is reasoned in ``docs/dms-sizing.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from inventory_migration.config import DmsConfig
from inventory_migration.constructs.wiring import check_wiring
from inventory_migration.contracts.names import FORWARD_TASK_QUALIFIER, REVERSE_TASK_QUALIFIER
from inventory_migration.contracts.phases import TaskState
from inventory_migration.synth.cdk import Construct, TerraformResource, aws
from inventory_migration.synth.dms_settings import AFTER_CONNECT_SCRIPT, TableMappings, TaskSettings, table_ref
from inventory_migration.synth.iam import (
    KMS_DECRYPT_ACTIONS,
    SECRET_READ_ACTIONS,
    policy_json,
    service_assume_role_policy,
    statement,
)
from inventory_migration.synth.naming import DMS_ACCOUNT_ROLES, Namer, ResourceType
from inventory_migration.synth.tagging import name_tag

ACCOUNT_ROLES = DMS_ACCOUNT_ROLES

MIGRATION_TYPE = "full-load-and-cdc"
REVERSE_MIGRATION_TYPE = "cdc"
"""The way back replicates changes only: on-prem already holds every row up to the switch."""
SOURCE_PLUGIN = "test_decoding"
"""Logical decoding plugin on the source (``pglogical`` needs the extension and a restart on-prem)."""
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
class DmsWiring:
    """What :class:`DmsReplication` takes from the stack besides its settings (``[dms]``, ``DmsConfig``)."""

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
    alarm_topic_arn: str
    """SNS topic for DMS events."""
    replication: bool
    """The phase's: create the instance, endpoints, secrets and tasks; false leaves only the task log group
    (migration evidence)."""
    forward_task: TaskState
    """The phase's full-load-and-CDC task on-prem → Aurora."""
    reverse_task: TaskState
    """The phase's CDC-only task Aurora → on-prem (the way back), with its endpoints and secret."""
    secret_recovery_window_days: int
    """Secrets' recovery window on destroy; 0 deletes at once."""
    log_retention_days: int
    """Task log retention (``monitoring.log_retention_days``)."""

    def __post_init__(self) -> None:
        check_wiring(
            self,
            (len(self.subnet_ids) < 2, "subnet_ids: DMS needs subnets in at least 2 AZs"),
            (
                self.secret_recovery_window_days != 0 and not 7 <= self.secret_recovery_window_days <= 30,
                f"secret_recovery_window_days = {self.secret_recovery_window_days!r}: 0 or 7 to 30",
            ),
            (
                not self.replication and (self.forward_task.exists or self.reverse_task.exists),
                "forward_task/reverse_task: a task needs replication = true",
            ),
        )


class DmsReplication(Construct):
    """Everything DMS needs to copy the source into Aurora, keep it in step, and replicate back on rollback.

    What exists follows the phase (``inventory_migration/contracts/phases.py``): the forward task from ``foundation`` to
    ``rollback-window``, the reverse task and its endpoints in ``cutover`` and ``rollback-window``, and in
    ``decommission`` only the task log group, kept as migration evidence for its retention period.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: DmsConfig, wiring: DmsWiring) -> None:
        super().__init__(scope, construct_id)
        check_wiring(
            wiring,
            (
                wiring.reverse_task.exists and not settings.reverse_cdc_start_position,
                "reverse_task: needs dms.reverse_cdc_start_position (migrationctl cutover prints it)",
            ),
        )
        self.settings, self.wiring = settings, wiring
        w, n = wiring, wiring.namer
        self.instance_identifier = n.name(ResourceType.DMS_INSTANCE)
        self.task_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "task-logs",
            name=f"dms-tasks-{self.instance_identifier}",
            kms_key_id=w.kms_key_arn,
            retention_in_days=w.log_retention_days,
            tags=name_tag(n.name(ResourceType.LOG_GROUP, "dms-tasks")),
        )
        self.instance: aws.dms_replication_instance.DmsReplicationInstance | None = None
        self.task: aws.dms_replication_task.DmsReplicationTask | None = None
        self.reverse_task: aws.dms_replication_task.DmsReplicationTask | None = None
        self.source_secret: aws.secretsmanager_secret.SecretsmanagerSecret | None = None
        self.target_secret: aws.secretsmanager_secret.SecretsmanagerSecret | None = None
        self.reverse_target_secret: aws.secretsmanager_secret.SecretsmanagerSecret | None = None
        if w.replication:
            self._replication()

    def _replication(self) -> None:
        s, w, n = self.settings, self.wiring, self.wiring.namer
        account_roles = self._account_roles() if s.create_account_roles else []
        self.subnet_group = aws.dms_replication_subnet_group.DmsReplicationSubnetGroup(
            self,
            "subnets",
            replication_subnet_group_id=n.name(ResourceType.DMS_SUBNET_GROUP),
            replication_subnet_group_description="Private DMS subnets",
            subnet_ids=list(w.subnet_ids),
            tags=name_tag(n.name(ResourceType.DMS_SUBNET_GROUP)),
            depends_on=account_roles,
        )
        self.instance = instance = aws.dms_replication_instance.DmsReplicationInstance(
            self,
            "instance",
            replication_instance_id=self.instance_identifier,
            replication_instance_class=s.instance_class,
            allocated_storage=s.allocated_storage_gb,
            multi_az=s.multi_az,
            engine_version=s.engine_version,
            kms_key_arn=w.kms_key_arn,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            apply_immediately=True,
            replication_subnet_group_id=self.subnet_group.replication_subnet_group_id,
            vpc_security_group_ids=list(w.security_group_ids),
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
            schemas=s.schemas,
            excluded_tables=tuple(table_ref(t) for t in s.excluded_tables),
            full_lob_tables=tuple(table_ref(t) for t in s.full_lob_tables),
        )
        self.task_settings = TaskSettings(lob_max_size_kb=s.lob_max_size_kb, max_full_load_subtasks=s.max_full_load_subtasks)
        self.event_subscriptions = [
            self._events(
                "instance", "dms-instance", "replication-instance", instance.replication_instance_id, INSTANCE_EVENT_CATEGORIES
            )
        ]
        if w.forward_task.exists:
            self.task = self._forward_task(instance)
        if w.reverse_task.exists:
            self.reverse_task = self._reverse_task(instance)

    def _forward_task(
        self, instance: aws.dms_replication_instance.DmsReplicationInstance
    ) -> aws.dms_replication_task.DmsReplicationTask:
        s, w, n = self.settings, self.wiring, self.wiring.namer
        assert self.source_secret is not None and self.target_secret is not None
        self.source_endpoint = self._endpoint(
            "source",
            "source",
            w.source,
            self.source_secret,
            aws.dms_endpoint.DmsEndpointPostgresSettings(
                heartbeat_enable=True,
                heartbeat_frequency=s.heartbeat_frequency_minutes,
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
            w.target,
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
            start_replication_task=w.forward_task.running,
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
        s, w, n = self.settings, self.wiring, self.wiring.namer
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
            w.target,
            self.target_secret,
            aws.dms_endpoint.DmsEndpointPostgresSettings(
                heartbeat_enable=True,
                heartbeat_frequency=s.heartbeat_frequency_minutes,
                plugin_name=SOURCE_PLUGIN,
                slot_name=s.reverse_slot_name,
                map_boolean_as_boolean=True,
                capture_ddls=False,
                fail_tasks_on_lob_truncation=True,  # a LOB over lob_max_size_kb stops the task, never truncated quietly
            ),
            access,
        )
        self.reverse_target_endpoint = self._endpoint(
            "reverse-target",
            "target",
            w.source,
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
            cdc_start_position=s.reverse_cdc_start_position,
            replication_instance_arn=instance.replication_instance_arn,
            source_endpoint_arn=self.reverse_source_endpoint.endpoint_arn,
            target_endpoint_arn=self.reverse_target_endpoint.endpoint_arn,
            table_mappings=self.table_mappings.to_json(),
            replication_task_settings=dataclasses.replace(self.task_settings, validation=False).to_json(),
            start_replication_task=w.reverse_task.running,
            tags=name_tag(name),
        )
        self.event_subscriptions.append(
            self._events("reverse-task", "dms-reverse-task", "replication-task", task.replication_task_id, TASK_EVENT_CATEGORIES)
        )
        return task

    def _events(
        self, construct_id: str, qualifier: str, source_type: str, source_id: str, categories: tuple[str, ...]
    ) -> aws.dms_event_subscription.DmsEventSubscription:
        name = self.wiring.namer.name(ResourceType.EVENT_SUBSCRIPTION, qualifier)
        return aws.dms_event_subscription.DmsEventSubscription(
            self,
            f"{construct_id}-events",
            name=name,
            enabled=True,
            sns_topic_arn=self.wiring.alarm_topic_arn,
            source_type=source_type,
            source_ids=[source_id],
            event_categories=list(categories),
            tags=name_tag(name),
        )

    def _account_roles(self) -> list[TerraformResource]:
        """The account-level roles DMS requires by name, each with its managed policy attached. What depends on them
        depends on the attachments too: a subnet group created after the role but before its policy fails with
        "The IAM Role arn:aws:iam::…:role/dms-vpc-role is not configured properly" (hashicorp/terraform-provider-aws
        #11025, #7748)."""
        out: list[TerraformResource] = []
        for name, policy in ACCOUNT_ROLES.items():
            role = aws.iam_role.IamRole(
                self,
                name,
                name=name,
                assume_role_policy=service_assume_role_policy(self, "dms.amazonaws.com"),
                tags=name_tag(name),
            )
            attachment = aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                self,
                f"{name}-policy",
                role=role.name,
                policy_arn=f"arn:{self.wiring.partition}:iam::aws:policy/service-role/{policy}",
            )
            out += [role, attachment]
        return out

    def _secret(self, qualifier: str, description: str) -> aws.secretsmanager_secret.SecretsmanagerSecret:
        name = self.wiring.namer.name(ResourceType.SECRET, qualifier)
        return aws.secretsmanager_secret.SecretsmanagerSecret(
            self,
            f"{qualifier}-secret",
            name=name,
            description=f"{description}: JSON with username, password, host, port (set by the runbook)",
            kms_key_id=self.wiring.kms_key_arn,
            recovery_window_in_days=self.wiring.secret_recovery_window_days,
            tags=name_tag(name),
        )

    def _secrets_access_role(self) -> aws.iam_role.IamRole:
        w, n = self.wiring, self.wiring.namer
        return aws.iam_role.IamRole(
            self,
            "secrets-access-role",
            name=n.name(ResourceType.IAM_ROLE, "dms-secrets-access"),
            assume_role_policy=service_assume_role_policy(self, f"dms.{w.region}.amazonaws.com"),
            tags=name_tag(n.name(ResourceType.IAM_ROLE, "dms-secrets-access")),
        )

    def _secrets_access_policy(
        self, construct_id: str, qualifier: str, secrets: list[aws.secretsmanager_secret.SecretsmanagerSecret]
    ) -> aws.iam_role_policy.IamRolePolicy:
        """Read exactly ``secrets`` (and decrypt them through Secrets Manager); one policy per task direction, so
        adding or removing the way back never touches the forward task's permissions."""
        w, n = self.wiring, self.wiring.namer
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
                    [w.kms_key_arn],
                    condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{w.region}.amazonaws.com"}},
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
        n = self.wiring.namer
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
            kms_key_arn=self.wiring.kms_key_arn,
            postgres_settings=settings,
            tags=name_tag(n.name(ResourceType.DMS_ENDPOINT, construct_id)),
            depends_on=[access],
            **extra,
        )
