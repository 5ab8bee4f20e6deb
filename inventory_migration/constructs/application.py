"""The applications' new home and the blue-green switch in front of it.

* **ECS Fargate**: a cluster (Container Insights on; FARGATE and FARGATE_SPOT capacity providers; Fargate ephemeral
  storage encrypted with the operations key), the app log group, a task execution role and a task role with least
  privilege, the app's database secret (created empty, filled by the runbook), and — when an image is configured —
  the task definition and the service (private app subnets, app security group, deployment circuit breaker with
  rollback).
* **Application Load Balancer** in the public subnets: HTTPS (TLS 1.3 policy, certificate from config), HTTP
  redirected to HTTPS, invalid header fields dropped, access logs to the log bucket, deletion protection when asked.
* **Blue** target group: the on-prem application servers as IP targets over the VPN (``availability_zone = "all"``);
  **green** target group: the Fargate tasks. The HTTPS listener forwards with the phase's weights; a header rule
  sends testers to green before the switch. ``migrationctl cutover`` / ``rollback`` switch the weights at run time to
  exactly what the next phase declares, so the following ``cdktf deploy`` plans no change to the listener.

The load balancer half (target groups, listeners, WAF) is :mod:`.load_balancer`; this module is the ECS half.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from inventory_migration.config import ApplicationConfig
from inventory_migration.config.application import ECR_IMAGE
from inventory_migration.constructs.load_balancer import WeightedLoadBalancer
from inventory_migration.constructs.wiring import check_wiring
from inventory_migration.synth.cdk import Construct, aws
from inventory_migration.synth.iam import (
    ECR_AUTH_ACTIONS,
    ECR_PULL_ACTIONS,
    KMS_DATA_KEY_ACTIONS,
    LOG_WRITE_ACTIONS,
    S3_BUCKET_LIST_ACTIONS,
    S3_OBJECT_READ_WRITE_ACTIONS,
    SECRET_READ_ACTIONS,
    Statement,
    policy_json,
    service_assume_role_policy,
    statement,
)
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.rendering import json_attribute
from inventory_migration.synth.tagging import name_tag

CONTAINER_NAME = "app"
"""Name of the container the green target group points at."""
CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


@dataclasses.dataclass(frozen=True, kw_only=True)
class BlueGreenApplicationWiring:
    """What :class:`BlueGreenApplication` takes from the stack besides its settings (``[app]``,
    ``ApplicationConfig``)."""

    namer: Namer
    """Derives names."""
    region: str
    """Region (log configuration, ECR)."""
    partition: str
    """AWS partition."""
    vpc_id: str
    """VPC of the target groups."""
    public_subnet_ids: Sequence[str]
    """Subnets of the load balancer (at least 2 AZs)."""
    app_subnet_ids: Sequence[str]
    """Private subnets of the Fargate tasks."""
    alb_security_group_id: str
    """Security group of the load balancer."""
    app_security_group_id: str
    """Security group of the tasks."""
    access_log_bucket: str
    """Bucket (SSE-S3) that takes the load balancer's access logs."""
    access_log_prefix: str
    """Prefix of the access logs in the log bucket."""
    ops_key_arn: str
    """CMK of the log group, the database secret and Fargate ephemeral storage."""
    image_bucket_arn: str
    """The image bucket the app reads and writes."""
    image_key_arn: str
    """CMK of the image bucket."""
    database_environment: Mapping[str, str]
    """Non-secret database settings handed to the container (host, port, name)."""
    blue_weight: int
    """The phase's listener weight of blue (on-prem)."""
    green_weight: int
    """The phase's listener weight of green (ECS)."""
    blue_registered: bool
    """The phase's: blue's target group exists with ``app.blue_targets`` in it (false: decommissioned, no blue)."""
    log_retention_days: int
    """App log retention (``monitoring.log_retention_days``)."""
    secret_recovery_window_days: int
    """Database secret's recovery window on destroy; 0 deletes at once."""

    def __post_init__(self) -> None:
        check_wiring(
            self,
            (self.blue_weight + self.green_weight != 100, "blue_weight + green_weight: must be 100"),
            (bool(self.blue_weight) and not self.blue_registered, "blue_weight: blue has traffic but no targets"),
            (len(self.public_subnet_ids) < 2, "public_subnet_ids: a load balancer needs 2 AZs"),
            (not self.app_subnet_ids, "app_subnet_ids: at least one"),
        )


class BlueGreenApplication(WeightedLoadBalancer):
    """ECS Fargate (green), the on-prem servers (blue) and the weighted load balancer between them."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: ApplicationConfig, wiring: BlueGreenApplicationWiring
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings, self.wiring = settings, wiring
        s, w = settings, wiring
        self.blue_targets = s.blue_targets if w.blue_registered else ()
        """The on-prem servers in blue's target group in this phase."""
        n = w.namer
        self.cluster_name = n.name(ResourceType.ECS_CLUSTER, "app")
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "logs",
            name=n.name(ResourceType.LOG_GROUP, "ecs-app"),
            kms_key_id=w.ops_key_arn,
            retention_in_days=w.log_retention_days,
            tags=name_tag(n.name(ResourceType.LOG_GROUP, "ecs-app")),
        )
        self.cluster = aws.ecs_cluster.EcsCluster(
            self,
            "cluster",
            name=self.cluster_name,
            setting=[aws.ecs_cluster.EcsClusterSetting(name="containerInsights", value="enabled")],
            configuration=aws.ecs_cluster.EcsClusterConfiguration(
                managed_storage_configuration=aws.ecs_cluster.EcsClusterConfigurationManagedStorageConfiguration(
                    fargate_ephemeral_storage_kms_key_id=w.ops_key_arn
                )
            ),
            tags=name_tag(self.cluster_name),
        )
        aws.ecs_cluster_capacity_providers.EcsClusterCapacityProviders(
            self,
            "capacity-providers",
            cluster_name=self.cluster.name,
            capacity_providers=list(CAPACITY_PROVIDERS),
            default_capacity_provider_strategy=[
                aws.ecs_cluster_capacity_providers.EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                    capacity_provider="FARGATE", base=1, weight=1
                )
            ],
        )
        self.database_secret = self._database_secret()
        self.execution_role = self._execution_role()
        self.task_role = self._task_role()
        self._load_balancer()
        self._firewall()
        self.service: aws.ecs_service.EcsService | None = None
        if s.container_image:
            self._service()

    # ------------------------------------------------------------------------------------------ roles

    def _role(self, construct_id: str, qualifier: str, statements: list[Statement]) -> aws.iam_role.IamRole:
        n = self.wiring.namer
        role = aws.iam_role.IamRole(
            self,
            construct_id,
            name=n.name(ResourceType.IAM_ROLE, qualifier),
            assume_role_policy=service_assume_role_policy(self, "ecs-tasks.amazonaws.com"),
            tags=name_tag(n.name(ResourceType.IAM_ROLE, qualifier)),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            f"{construct_id}-policy",
            name=n.name(ResourceType.IAM_POLICY, qualifier),
            role=role.id,
            policy=policy_json(self, *statements),
        )
        return role

    def _execution_role(self) -> aws.iam_role.IamRole:
        """What ECS itself needs to start a task: write its logs, read the database secret it injects, pull the image."""
        s, w = self.settings, self.wiring
        statements = [
            statement("WriteAppLogs", LOG_WRITE_ACTIONS, [f"{self.log_group.arn}:*"]),
            statement("InjectDatabaseSecret", SECRET_READ_ACTIONS[:1], [self.database_secret.arn]),
            statement(
                "DecryptDatabaseSecret",
                ["kms:Decrypt"],
                [w.ops_key_arn],
                condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{w.region}.amazonaws.com"}},
            ),
        ]
        ecr = ECR_IMAGE.match(s.container_image)
        if ecr:
            repository = f"arn:{w.partition}:ecr:{ecr['region']}:{ecr['account']}:repository/{ecr['repository']}"
            statements += [
                statement("PullAppImage", ECR_PULL_ACTIONS, [repository]),
                statement("LogInToEcr", ECR_AUTH_ACTIONS, "*"),
            ]
        return self._role("execution-role", "ecs-task-execution", statements)

    def _task_role(self) -> aws.iam_role.IamRole:
        """What the application does: read and write product images (and nothing else)."""
        w = self.wiring
        return self._role(
            "task-role",
            "ecs-task",
            [
                statement("ListImageBucket", S3_BUCKET_LIST_ACTIONS, [w.image_bucket_arn]),
                statement("ReadWriteImages", S3_OBJECT_READ_WRITE_ACTIONS, [f"{w.image_bucket_arn}/*"]),
                statement(
                    "UseImageBucketKey",
                    KMS_DATA_KEY_ACTIONS,
                    [w.image_key_arn],
                    condition={"StringEquals": {"kms:ViaService": f"s3.{w.region}.amazonaws.com"}},
                ),
            ],
        )

    def _database_secret(self) -> aws.secretsmanager_secret.SecretsmanagerSecret:
        name = self.wiring.namer.name(ResourceType.SECRET, "app-db")
        return aws.secretsmanager_secret.SecretsmanagerSecret(
            self,
            "database-secret",
            name=name,
            description="The application's Aurora credentials: JSON with username and password (set by the runbook)",
            kms_key_id=self.wiring.ops_key_arn,
            recovery_window_in_days=self.wiring.secret_recovery_window_days,
            tags=name_tag(name),
        )

    # ------------------------------------------------------------------------------------------ load balancer

    def container_definitions(self) -> list[dict[str, Any]]:
        """The one container of the task: the image, its port, its logs, the database settings and secret."""
        s, w = self.settings, self.wiring
        return [
            {
                "name": CONTAINER_NAME,
                "image": s.container_image,
                "essential": True,
                "readonlyRootFilesystem": True,
                "portMappings": [{"containerPort": s.container_port, "hostPort": s.container_port, "protocol": "tcp"}],
                "environment": [{"name": k, "value": v} for k, v in sorted(w.database_environment.items())],
                "secrets": [{"name": "DATABASE_CREDENTIALS", "valueFrom": self.database_secret.arn}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": self.log_group.name,
                        "awslogs-region": w.region,
                        "awslogs-stream-prefix": CONTAINER_NAME,
                    },
                },
            }
        ]

    def _service(self) -> None:
        s, w, n = self.settings, self.wiring, self.wiring.namer
        family = n.name(ResourceType.TASK_DEFINITION, "app")
        self.task_definition = aws.ecs_task_definition.EcsTaskDefinition(
            self,
            "task-definition",
            family=family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(s.cpu),
            memory=str(s.memory_mib),
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            runtime_platform=aws.ecs_task_definition.EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            container_definitions=json_attribute(self, self.container_definitions(), sort_keys=True),
            tags=name_tag(family),
        )
        strategy = [aws.ecs_service.EcsServiceCapacityProviderStrategy(capacity_provider="FARGATE", base=1, weight=1)]
        if s.spot_weight:
            strategy.append(
                aws.ecs_service.EcsServiceCapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=s.spot_weight)
            )
        name = n.name(ResourceType.ECS_SERVICE, "app")
        self.service = aws.ecs_service.EcsService(
            self,
            "service",
            name=name,
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=s.desired_count,
            capacity_provider_strategy=strategy,
            network_configuration=aws.ecs_service.EcsServiceNetworkConfiguration(
                subnets=list(w.app_subnet_ids), security_groups=[w.app_security_group_id], assign_public_ip=False
            ),
            load_balancer=[
                aws.ecs_service.EcsServiceLoadBalancer(
                    target_group_arn=self.green.arn, container_name=CONTAINER_NAME, container_port=s.container_port
                )
            ],
            health_check_grace_period_seconds=s.health_check_grace_seconds,
            deployment_circuit_breaker=aws.ecs_service.EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            tags=name_tag(name),
            depends_on=[self.https_listener],
        )
