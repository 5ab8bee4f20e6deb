"""The migration stack: the whole AWS target of one environment.

It owns the AWS provider (region, default tags) and the state backend; the constructs it composes own
neither. Construct ids below are API: renaming one changes the Terraform address of every resource under
it, and Terraform replaces them (see ``docs/state-migration.md``).
"""

from __future__ import annotations

from inventory_migration.config import BackendKind, MigrationConfig
from inventory_migration.config.state import LOCAL_STATE_FROM_STACK_DIR
from inventory_migration.constructs.application import BlueGreenApplication, BlueGreenApplicationWiring
from inventory_migration.constructs.aurora import AuroraCluster, AuroraWiring
from inventory_migration.constructs.dms import DmsReplication, DmsWiring, EndpointSpec
from inventory_migration.constructs.dns import OnPremDns, OnPremDnsProps
from inventory_migration.constructs.endpoints import ServiceEndpoints, ServiceEndpointsProps
from inventory_migration.constructs.files import METRIC_NAMESPACE, ImageTransfer, ImageTransferWiring
from inventory_migration.constructs.kms import EncryptionKeys, EncryptionKeysWiring
from inventory_migration.constructs.monitoring import (
    AlarmTopic,
    AlarmTopicProps,
    ApplicationMonitoring,
    MigrationMonitoring,
    MigrationMonitoringProps,
    ReplicationMonitoring,
)
from inventory_migration.constructs.network import Network, NetworkWiring, SubnetTier
from inventory_migration.constructs.security import SecurityGroups, SecurityGroupsWiring
from inventory_migration.constructs.state import OperatorState, OperatorStateProps, state_bucket_name
from inventory_migration.constructs.storage import ImageStorage, ImageStorageWiring
from inventory_migration.contracts.phases import plan_for
from inventory_migration.dashboards.migration import ImageSyncMetrics
from inventory_migration.stacks.outputs import declare_outputs
from inventory_migration.stacks.rehearsal_mode import RehearsalMode
from inventory_migration.synth.cdk import Construct, Fn, LocalBackend, S3Backend, TerraformStack, aws, depend_on
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.rendering import hcl_output, override
from inventory_migration.synth.tagging import standard_tags

ALB_LOG_PREFIX = "alb"
"""Where the load balancer's access logs go in the log bucket."""

TERRAFORM_REQUIRED_VERSION = ">= 1.10"
"""S3-native state locking (``use_lockfile``) needs Terraform 1.10 or newer."""


def stack_name(config: MigrationConfig) -> str:
    """The stack's name, which is also its directory under ``cdktf.out/stacks``."""
    return f"inventory-migration-{config.environment}"


class MigrationStack(TerraformStack):
    """All AWS resources of one migration environment."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: MigrationConfig, rehearsal: RehearsalMode | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.rehearsal = rehearsal
        if not hcl_output(self):
            # cdktf's HCL renderer writes any terraform-block setting but providers and backend as `0 = "<name>"`:
            # the HCL layout declares the version in a terraform block of its own (inventory_migration.devtools.hcl).
            self.add_override("terraform.required_version", TERRAFORM_REQUIRED_VERSION)
        provider = aws.provider.AwsProvider(
            self, "aws", region=config.region, default_tags=[aws.provider.AwsProviderDefaultTags(tags=standard_tags(config))]
        )
        if rehearsal is not None:
            for key, value in rehearsal.provider_settings().items():
                override(provider, key, value)
        self._backend()
        namer = Namer(environment=config.environment, suffix=config.environment_suffix)
        self.plan = phase = plan_for(config.migration_phase)
        identity = aws.data_aws_caller_identity.DataAwsCallerIdentity(self, "identity")
        partition = aws.data_aws_partition.DataAwsPartition(self, "partition")
        account_id, part = identity.account_id, partition.partition
        protected = config.aurora.deletion_protection
        recovery_window = 30 if protected else 0

        self.keys = EncryptionKeys(
            self,
            "kms",
            settings=config.kms,
            wiring=EncryptionKeysWiring(
                namer=namer,
                region=config.region,
                account_id=account_id,
                partition=part,
                fargate_cluster_name=namer.name(ResourceType.ECS_CLUSTER, "app"),
            ),
        )
        self.network = Network(
            self,
            "network",
            settings=config.network,
            wiring=NetworkWiring(namer=namer, region=config.region, flow_log_key_arn=self.keys.ops.arn),
        )
        self.security_groups = SecurityGroups(
            self,
            "security-groups",
            wiring=SecurityGroupsWiring(
                namer=namer,
                vpc_id=self.network.vpc.id,
                source_addresses=config.source.addresses,
                source_port=config.source.port,
                aurora_port=config.aurora.port,
                app_port=config.app.container_port,
                alb_ingress_cidrs=config.app.ingress_cidrs,
                blue_targets=config.app.blue_targets if phase.blue_targets else (),
                blue_port=config.app.blue_port,
                replication=phase.replication,
                operator_cidrs=config.network.operator_cidrs,
                s3_prefix_list_id=self.network.s3_endpoint.prefix_list_id,
                external_image_registry=config.app.external_image_registry,
            ),
        )
        self.endpoints = ServiceEndpoints(
            self,
            "endpoints",
            props=ServiceEndpointsProps(
                namer=namer,
                region=config.region,
                vpc_id=self.network.vpc.id,
                subnet_ids=self.network.app_subnet_ids,
                security_group_id=self.security_groups.endpoints.id,
            ),
        )
        self.dns = (
            OnPremDns(
                self,
                "dns",
                props=OnPremDnsProps(
                    namer=namer,
                    vpc_id=self.network.vpc.id,
                    subnet_ids=self.network.dms_subnet_ids,
                    dns_servers=config.network.on_prem_dns_servers,
                    domains=config.network.on_prem_domains,
                ),
            )
            if config.network.on_prem_dns_servers
            else None
        )
        self.alarm_topic = AlarmTopic(
            self,
            "alarm-topic",
            props=AlarmTopicProps(
                namer=namer, account_id=account_id, kms_key_arn=self.keys.ops.arn, emails=config.monitoring.notification_emails
            ),
        )
        self.aurora = AuroraCluster(
            self,
            "aurora",
            settings=config.aurora,
            wiring=AuroraWiring(
                namer=namer,
                partition=part,
                subnet_ids=self.network.database_subnet_ids,
                availability_zones=self.network.availability_zones,
                security_group_ids=[self.security_groups.aurora.id],
                storage_key_arn=self.keys.rds.arn,
                secret_key_arn=self.keys.ops.arn,
                logs_key_arn=self.keys.ops.arn,
                log_retention_days=config.monitoring.log_retention_days,
            ),
        )
        self.dms = DmsReplication(
            self,
            "dms",
            settings=config.dms,
            wiring=DmsWiring(
                namer=namer,
                region=config.region,
                partition=part,
                subnet_ids=self.network.dms_subnet_ids,
                security_group_ids=[self.security_groups.dms.id] if self.security_groups.dms is not None else [],
                kms_key_arn=self.keys.ops.arn,
                source=EndpointSpec(
                    database_name=config.source.database_name,
                    engine_name="postgres",
                    ca_certificate_pem=self._read_pem(config.source.ca_certificate_file),
                ),
                target=EndpointSpec(
                    database_name=config.aurora.database_name,
                    engine_name="aurora-postgresql",
                    ca_certificate_pem=self._read_pem(config.dms.target_ca_certificate_file),
                ),
                alarm_topic_arn=self.alarm_topic.arn,
                replication=phase.replication,
                forward_task=phase.forward_task,
                reverse_task=phase.reverse_task,
                secret_recovery_window_days=recovery_window,
                log_retention_days=config.monitoring.log_retention_days,
            ),
        )
        self.storage = ImageStorage(
            self,
            "storage",
            settings=config.storage,
            wiring=ImageStorageWiring(
                namer=namer,
                account_id=account_id,
                partition=part,
                kms_key_arn=self.keys.s3.arn,
                load_balancer_log_prefix=ALB_LOG_PREFIX,
                region=config.region,
                logged_bucket_names=(state_bucket_name(namer),),
            ),
        )
        self.operator_state = OperatorState(
            self,
            "operator-state",
            props=OperatorStateProps(
                namer=namer,
                kms_key_arn=self.keys.s3.arn,
                force_destroy=config.storage.force_destroy,
                access_log_bucket=self.storage.log_bucket.id,
            ),
        )
        if self.operator_state.logging is not None:  # S3 checks on PutBucketLogging that the log bucket accepts it
            depend_on(self.operator_state.logging, self.storage.log_bucket_policy)
        self.application = BlueGreenApplication(
            self,
            "application",
            settings=config.app,
            wiring=BlueGreenApplicationWiring(
                namer=namer,
                region=config.region,
                partition=part,
                vpc_id=self.network.vpc.id,
                public_subnet_ids=[s.id for s in self.network.subnets[SubnetTier.PUBLIC]],
                app_subnet_ids=self.network.app_subnet_ids,
                alb_security_group_id=self.security_groups.alb.id,
                app_security_group_id=self.security_groups.app.id,
                access_log_bucket=self.storage.log_bucket.id,
                access_log_prefix=ALB_LOG_PREFIX,
                ops_key_arn=self.keys.ops.arn,
                image_bucket_arn=self.storage.bucket.arn,
                image_key_arn=self.keys.s3.arn,
                database_environment={
                    "DATABASE_HOST": self.aurora.cluster.endpoint,
                    "DATABASE_PORT": str(config.aurora.port),
                    "DATABASE_NAME": config.aurora.database_name,
                    "IMAGE_BUCKET": self.storage.bucket.bucket,
                },
                blue_weight=phase.blue_weight,
                green_weight=phase.green_weight,
                blue_registered=phase.blue_targets,
                log_retention_days=config.monitoring.log_retention_days,
                secret_recovery_window_days=recovery_window,
            ),
        )
        depend_on(self.application.load_balancer, self.storage.log_bucket_policy)  # ELB checks it can write its logs
        self.files = ImageTransfer(
            self,
            "files",
            settings=config.files,
            wiring=ImageTransferWiring(
                namer=namer,
                region=config.region,
                account_id=account_id,
                partition=part,
                vpc_id=self.network.vpc.id,
                subnet_ids=self.network.dms_subnet_ids,
                bucket_arn=self.storage.bucket.arn,
                bucket_key_arn=self.keys.s3.arn,
                report_bucket_arn=self.storage.log_bucket.arn,
                logs_key_arn=self.keys.ops.arn,
                alarm_topic_arn=self.alarm_topic.arn,
                sync=phase.image_sync,
                log_retention_days=config.monitoring.log_retention_days,
            ),
        )
        replication = (
            ReplicationMonitoring(
                replication_instance_id=self.dms.instance.replication_instance_id,
                task_arn=self.dms.task.replication_task_arn,
            )
            if self.dms.instance is not None and self.dms.task is not None
            else None
        )
        blue = self.application.blue
        self.monitoring = MigrationMonitoring(
            self,
            "monitoring",
            props=MigrationMonitoringProps(
                namer=namer,
                region=config.region,
                topic_arn=self.alarm_topic.arn,
                cluster_id=self.aurora.cluster.cluster_identifier,
                reader_instance_ids=[i.identifier for i in self.aurora.instances[1:]],
                replication=replication,
                application=ApplicationMonitoring(
                    load_balancer_arn_suffix=self.application.load_balancer_arn_suffix,
                    green_target_group_arn_suffix=self.application.green_target_group_arn_suffix,
                    blue_target_group_arn_suffix=str(blue.arn_suffix) if blue is not None else None,
                    ecs_cluster_name=self.application.cluster_name,
                    ecs_service_name=self.application.service.name if self.application.service is not None else None,
                ),
                image_sync=ImageSyncMetrics(
                    task_id=Fn.element(Fn.split("/", self.files.task.arn), 1),
                    log_group_name=self.files.log_group.name,
                    verification_namespace=METRIC_NAMESPACE,
                )
                if self.files.task is not None
                else None,
                thresholds=config.monitoring.thresholds,
            ),
        )
        declare_outputs(self)

    def _read_pem(self, relative: str) -> str:
        return self.config.resolve_file(relative).read_text(encoding="utf-8") if relative else ""

    def _backend(self) -> None:
        backend_config, config = self.config.backend, self.config
        if self.rehearsal is not None:
            LocalBackend(self, path=self.rehearsal.state_path)
        elif backend_config.kind is BackendKind.S3:
            backend = S3Backend(
                self,
                bucket=backend_config.bucket,
                key=backend_config.key or f"inventory-migration/{config.environment}/terraform.tfstate",
                region=backend_config.region or config.region,
                encrypt=True,
                kms_key_id=backend_config.kms_key_id or None,
            )
            backend.add_override("use_lockfile", backend_config.use_lockfile)
        else:
            LocalBackend(self, path=backend_config.local_path or LOCAL_STATE_FROM_STACK_DIR.format(stack=stack_name(config)))
