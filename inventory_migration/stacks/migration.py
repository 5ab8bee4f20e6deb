"""The migration stack: the whole AWS target of one environment.

It owns the AWS provider (region, default tags) and the state backend; the constructs it composes own
neither. Construct ids below are API: renaming one changes the Terraform address of every resource under
it, and Terraform replaces them (see ``docs/state-migration.md``).
"""

from __future__ import annotations

from inventory_migration.cdk import Construct, LocalBackend, S3Backend, TerraformOutput, TerraformStack, aws
from inventory_migration.config import BackendKind, MigrationConfig, props_from
from inventory_migration.constructs.aurora import AuroraCluster, AuroraClusterProps
from inventory_migration.constructs.dms import DmsReplication, DmsReplicationProps, EndpointSpec
from inventory_migration.constructs.kms import EncryptionKeys, EncryptionKeysProps
from inventory_migration.constructs.monitoring import (
    AlarmTopic,
    AlarmTopicProps,
    MigrationMonitoring,
    MigrationMonitoringProps,
)
from inventory_migration.constructs.network import Network, NetworkProps
from inventory_migration.constructs.security import SecurityGroups, SecurityGroupsProps
from inventory_migration.constructs.storage import ImageStorage, ImageStorageProps
from inventory_migration.naming import Namer
from inventory_migration.tagging import standard_tags

TERRAFORM_REQUIRED_VERSION = ">= 1.10"
"""S3-native state locking (``use_lockfile``) needs Terraform 1.10 or newer."""


def stack_name(config: MigrationConfig) -> str:
    """The stack's name, which is also its directory under ``cdktf.out/stacks``."""
    return f"inventory-migration-{config.environment}"


class MigrationStack(TerraformStack):
    """All AWS resources of one migration environment."""

    def __init__(self, scope: Construct, construct_id: str, *, config: MigrationConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = c = config
        self.add_override("terraform.required_version", TERRAFORM_REQUIRED_VERSION)
        aws.provider.AwsProvider(
            self, "aws", region=c.region, default_tags=[aws.provider.AwsProviderDefaultTags(tags=standard_tags(c))]
        )
        self._backend()
        namer = Namer(environment=c.environment, suffix=c.environment_suffix)
        identity = aws.data_aws_caller_identity.DataAwsCallerIdentity(self, "identity")
        partition = aws.data_aws_partition.DataAwsPartition(self, "partition")
        account_id, part = identity.account_id, partition.partition
        protected = c.aurora.deletion_protection

        self.keys = EncryptionKeys(
            self,
            "kms",
            props=EncryptionKeysProps(
                namer=namer,
                region=c.region,
                account_id=account_id,
                partition=part,
                deletion_window_days=c.kms.deletion_window_days,
            ),
        )
        net = c.network
        self.network = Network(
            self,
            "network",
            props=props_from(NetworkProps, net, namer=namer, region=c.region, flow_log_key_arn=self.keys.ops.arn),
        )
        self.security_groups = SecurityGroups(
            self,
            "security-groups",
            props=SecurityGroupsProps(
                namer=namer,
                vpc_id=self.network.vpc.id,
                on_prem_cidrs=net.on_prem_cidrs,
                source_port=c.source.port,
                aurora_port=c.aurora.port,
            ),
        )
        self.alarm_topic = AlarmTopic(
            self,
            "alarm-topic",
            props=AlarmTopicProps(
                namer=namer, account_id=account_id, kms_key_arn=self.keys.ops.arn, emails=c.monitoring.notification_emails
            ),
        )
        a = c.aurora
        self.aurora = AuroraCluster(
            self,
            "aurora",
            props=props_from(
                AuroraClusterProps,
                a,
                namer=namer,
                partition=part,
                engine_version=a.resolved_engine_version,
                subnet_ids=self.network.database_subnet_ids,
                availability_zones=self.network.availability_zones,
                security_group_ids=[self.security_groups.aurora.id],
                storage_key_arn=self.keys.rds.arn,
                secret_key_arn=self.keys.ops.arn,
                logs_key_arn=self.keys.ops.arn,
                log_retention_days=c.monitoring.log_retention_days,
            ),
        )
        d = c.dms
        self.dms = DmsReplication(
            self,
            "dms",
            props=props_from(
                DmsReplicationProps,
                d,
                namer=namer,
                region=c.region,
                partition=part,
                subnet_ids=self.network.dms_subnet_ids,
                security_group_ids=[self.security_groups.dms.id],
                kms_key_arn=self.keys.ops.arn,
                source=EndpointSpec(
                    database_name=c.source.database_name,
                    engine_name="postgres",
                    ca_certificate_pem=self._read_pem(c.source.ca_certificate_file),
                ),
                target=EndpointSpec(
                    database_name=a.database_name,
                    engine_name="aurora-postgresql",
                    ca_certificate_pem=self._read_pem(d.target_ca_certificate_file),
                ),
                alarm_topic_arn=self.alarm_topic.arn,
                secret_recovery_window_days=30 if protected else 0,
                log_retention_days=c.monitoring.log_retention_days,
            ),
        )
        self.storage = ImageStorage(
            self,
            "storage",
            props=props_from(
                ImageStorageProps, c.storage, namer=namer, account_id=account_id, partition=part, kms_key_arn=self.keys.s3.arn
            ),
        )
        self.monitoring = MigrationMonitoring(
            self,
            "monitoring",
            props=MigrationMonitoringProps(
                namer=namer,
                region=c.region,
                topic_arn=self.alarm_topic.arn,
                replication_instance_id=self.dms.instance.replication_instance_id,
                task_arn=self.dms.task.replication_task_arn,
                cluster_id=self.aurora.cluster.cluster_identifier,
                reader_instance_ids=[i.identifier for i in self.aurora.instances[1:]],
                thresholds=c.monitoring.thresholds,
            ),
        )
        self._outputs()

    def _read_pem(self, relative: str) -> str:
        return self.config.resolve_file(relative).read_text(encoding="utf-8") if relative else ""

    def _backend(self) -> None:
        b, c = self.config.backend, self.config
        if b.kind is BackendKind.S3:
            backend = S3Backend(
                self,
                bucket=b.bucket,
                key=b.key or f"inventory-migration/{c.environment}/terraform.tfstate",
                region=b.region or c.region,
                encrypt=True,
                kms_key_id=b.kms_key_id or None,
            )
            backend.add_override("use_lockfile", b.use_lockfile)
        else:
            LocalBackend(self, path=b.local_path or f"terraform.{stack_name(c)}.tfstate")

    def _outputs(self) -> None:
        outputs = {
            "aurora_writer_endpoint": (
                self.aurora.cluster.endpoint,
                "Aurora writer endpoint (DMS target, apps after cutover)",
                False,
            ),
            "aurora_reader_endpoint": (self.aurora.cluster.reader_endpoint, "Aurora reader endpoint (read-only traffic)", False),
            "aurora_port": (self.aurora.cluster.port, "Aurora port", False),
            "aurora_master_secret_arn": (
                self.aurora.master_secret_arn,
                "Secrets Manager secret holding the Aurora master credentials",
                True,
            ),
            "dms_source_secret_arn": (self.dms.source_secret.arn, "Secret the runbook fills with the source credentials", True),
            "dms_target_secret_arn": (
                self.dms.target_secret.arn,
                "Secret the runbook fills with the Aurora credentials for DMS",
                True,
            ),
            "dms_task_arn": (
                self.dms.task.replication_task_arn,
                "DMS full-load-and-CDC task ARN (migrationctl lag --task-arn)",
                False,
            ),
            "dms_replication_instance_id": (
                self.dms.instance.replication_instance_id,
                "DMS replication instance identifier",
                False,
            ),
            "images_bucket_name": (self.storage.bucket.bucket, "S3 bucket for the product images", False),
            "alarm_topic_arn": (self.alarm_topic.arn, "SNS topic for alarms and DMS/RDS events", False),
            "dashboard_name": (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard of the migration", False),
            "vpc_id": (self.network.vpc.id, "VPC of the migration", False),
        }
        for output_id, (value, description, sensitive) in outputs.items():
            TerraformOutput(self, output_id, value=value, description=description, sensitive=sensitive)
