"""Aurora PostgreSQL: a Multi-AZ cluster (writer + readers in other AZs) encrypted with the RDS key.

The master password is generated and kept by Secrets Manager (encrypted with the operations key); IAM
database authentication, Performance Insights (CMK), enhanced monitoring and the ``postgresql`` log export
are on. The cluster parameter group's family follows the engine major; its parameters mirror the
PostgreSQL source plus what the migration needs. Aurora PostgreSQL has no option groups (they exist only
for the MySQL, MariaDB, Oracle and SQL Server engines), so none is created.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from inventory_migration.config import MIGRATION_PARAMETERS, AuroraConfig
from inventory_migration.constructs.wiring import check_wiring
from inventory_migration.synth.cdk import Construct, TerraformResourceLifecycle, aws
from inventory_migration.synth.iam import service_assume_role_policy
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.tagging import name_tag

ENGINE = "aurora-postgresql"
LOG_EXPORTS = ("postgresql",)
"""CloudWatch log exports: the PostgreSQL log."""
STORAGE_ENCRYPTED = True
IAM_DATABASE_AUTHENTICATION = True
PUBLICLY_ACCESSIBLE = False
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
"""Server certificate authority of every instance."""
ENHANCED_MONITORING_POLICY = "policy/service-role/AmazonRDSEnhancedMonitoringRole"

STATIC_PARAMETERS = frozenset(
    {
        "rds.logical_replication",
        "shared_preload_libraries",
        "max_connections",
        "max_replication_slots",
        "max_wal_senders",
        "max_worker_processes",
        "max_logical_replication_workers",
        "max_locks_per_transaction",
        "max_prepared_transactions",
        "track_activity_query_size",
        "autovacuum_max_workers",
        "shared_buffers",
        "wal_buffers",
    }
)
"""Parameters PostgreSQL reads only at start: they apply at the next reboot."""


AUDIT_PARAMETERS: Mapping[str, str] = {"log_statement": "ddl", "log_min_duration_statement": "1000"}
"""Defaults the source may override: log every DDL (the schema is frozen during the migration, so any DDL
is news) and statements slower than a second."""


def cluster_parameters(source_parameters: Mapping[str, str]) -> list[dict[str, str]]:
    """Cluster parameters, sorted, each with its apply method.

    Precedence: what the migration requires beats the source's settings, which beat our defaults.
    """
    merged = {**AUDIT_PARAMETERS, **source_parameters, **MIGRATION_PARAMETERS}
    return [
        {
            "name": name,
            "value": value,
            "apply_method": "pending-reboot" if name in STATIC_PARAMETERS else "immediate",
        }
        for name, value in sorted(merged.items())
    ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuroraWiring:
    """What :class:`AuroraCluster` takes from the stack besides its settings (``[aurora]``, ``AuroraConfig``)."""

    namer: Namer
    """Derives identifiers."""
    partition: str
    """AWS partition, for managed policy ARNs."""
    subnet_ids: Sequence[str]
    """Isolated database subnets, one per AZ."""
    availability_zones: Sequence[str]
    """AZs, in subnet order; instance ``i`` goes to ``availability_zones[i % len]``."""
    security_group_ids: Sequence[str]
    """Security groups of the cluster."""
    storage_key_arn: str
    """CMK for storage, snapshots and Performance Insights."""
    secret_key_arn: str
    """CMK for the Secrets Manager master-password secret."""
    logs_key_arn: str
    """CMK for the exported PostgreSQL log group."""
    log_retention_days: int
    """Retention of the exported log group (``monitoring.log_retention_days``)."""

    def __post_init__(self) -> None:
        check_wiring(
            self,
            (len(self.subnet_ids) < 2, "subnet_ids: at least 2 subnets in different AZs"),
            (len(self.availability_zones) < 2, "availability_zones: at least 2"),
        )


class AuroraCluster(Construct):
    """The Aurora PostgreSQL cluster, its instances, parameter group, subnet group and log group."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: AuroraConfig, wiring: AuroraWiring) -> None:
        super().__init__(scope, construct_id)
        self.settings, self.wiring = settings, wiring
        s, w, n = settings, wiring, wiring.namer
        self.cluster_identifier = n.name(ResourceType.AURORA_CLUSTER)
        self.subnet_group = aws.db_subnet_group.DbSubnetGroup(
            self,
            "subnets",
            name=n.name(ResourceType.DB_SUBNET_GROUP),
            description="Isolated database subnets of the Aurora cluster",
            subnet_ids=list(w.subnet_ids),
            tags=name_tag(n.name(ResourceType.DB_SUBNET_GROUP)),
        )
        self.parameter_group = aws.rds_cluster_parameter_group.RdsClusterParameterGroup(
            self,
            "parameters",
            name=n.name(ResourceType.PARAMETER_GROUP, str(s.engine_major)),
            family=f"{ENGINE}{s.engine_major}",
            description=f"Mirrors the PostgreSQL source; logical replication and TLS for the migration (major {s.engine_major})",
            parameter=[
                aws.rds_cluster_parameter_group.RdsClusterParameterGroupParameter(**param)
                for param in cluster_parameters(s.source_parameters)
            ],
            tags=name_tag(n.name(ResourceType.PARAMETER_GROUP, str(s.engine_major))),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "postgresql-log",
            name=f"/aws/rds/cluster/{self.cluster_identifier}/postgresql",
            kms_key_id=w.logs_key_arn,
            retention_in_days=w.log_retention_days,
            tags=name_tag(n.name(ResourceType.LOG_GROUP, "aurora-postgresql")),
        )
        self.monitoring_role = aws.iam_role.IamRole(
            self,
            "monitoring-role",
            name=n.name(ResourceType.IAM_ROLE, "rds-monitoring"),
            assume_role_policy=service_assume_role_policy(self, "monitoring.rds.amazonaws.com"),
            tags=name_tag(n.name(ResourceType.IAM_ROLE, "rds-monitoring")),
        )
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self,
            "monitoring-policy",
            role=self.monitoring_role.name,
            policy_arn=f"arn:{w.partition}:iam::aws:{ENHANCED_MONITORING_POLICY}",
        )
        optional: dict[str, str] = {}
        if s.engine_lifecycle_support is not None:
            optional["engine_lifecycle_support"] = s.engine_lifecycle_support.value
        if not s.skip_final_snapshot:
            optional["final_snapshot_identifier"] = f"{self.cluster_identifier}-final"
        self.cluster = aws.rds_cluster.RdsCluster(
            self,
            "cluster",
            cluster_identifier=self.cluster_identifier,
            engine=ENGINE,
            engine_version=s.resolved_engine_version,
            database_name=s.database_name,
            master_username=s.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=w.secret_key_arn,
            port=s.port,
            db_subnet_group_name=self.subnet_group.name,
            db_cluster_parameter_group_name=self.parameter_group.name,
            vpc_security_group_ids=list(w.security_group_ids),
            storage_encrypted=STORAGE_ENCRYPTED,
            kms_key_id=w.storage_key_arn,
            iam_database_authentication_enabled=IAM_DATABASE_AUTHENTICATION,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            backup_retention_period=s.backup_retention_days,
            preferred_backup_window=s.preferred_backup_window,
            preferred_maintenance_window=s.preferred_maintenance_window,
            copy_tags_to_snapshot=True,
            deletion_protection=s.deletion_protection,
            skip_final_snapshot=s.skip_final_snapshot,
            apply_immediately=True,
            tags=name_tag(self.cluster_identifier),
            depends_on=[self.log_group],
            **optional,
        )
        self.instances = [
            aws.rds_cluster_instance.RdsClusterInstance(
                self,
                f"instance-{i + 1}",
                identifier=n.name(ResourceType.AURORA_INSTANCE, str(i + 1)),
                cluster_identifier=self.cluster.id,
                engine=self.cluster.engine,
                engine_version=self.cluster.engine_version,
                instance_class=s.instance_class,
                availability_zone=w.availability_zones[i % len(w.availability_zones)],
                db_subnet_group_name=self.subnet_group.name,
                publicly_accessible=PUBLICLY_ACCESSIBLE,
                promotion_tier=i,
                ca_cert_identifier=CA_CERTIFICATE,
                auto_minor_version_upgrade=True,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=w.storage_key_arn,
                performance_insights_retention_period=s.performance_insights_retention_days,
                monitoring_interval=s.monitoring_interval_seconds,
                monitoring_role_arn=self.monitoring_role.arn,
                copy_tags_to_snapshot=True,
                apply_immediately=True,
                tags=name_tag(n.name(ResourceType.AURORA_INSTANCE, str(i + 1)), {"Role": "writer" if i == 0 else "reader"}),
            )
            for i in range(s.instance_count)
        ]

    @property
    def master_secret_arn(self) -> str:
        return str(self.cluster.master_user_secret.get(0).secret_arn)
