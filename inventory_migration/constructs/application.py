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
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from inventory_migration.config import ApplicationConfig
from inventory_migration.config.application import TESTER_HEADER
from inventory_migration.constructs.wiring import check_wiring
from inventory_migration.synth.cdk import Construct, TerraformResourceLifecycle, aws
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
from inventory_migration.synth.rendering import json_attribute, override
from inventory_migration.synth.tagging import name_tag

SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 (and 1.2 for older clients): the ELB policy AWS recommends for HTTPS listeners."""
CONTAINER_NAME = "app"
"""Name of the container the green target group points at."""
CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
TESTER_RULE_PRIORITY = 10
HEALTHY_HTTP_CODES = "200-399"
WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
"""AWS managed rule groups in front of the load balancer: the core OWASP-style set, known bad inputs (Log4Shell and
friends) and Amazon's IP reputation list. Each runs with its own actions (``override_action { none }``)."""
ECR_IMAGE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[^:@]+)")
"""A private ECR image: the execution role may pull from exactly that repository."""


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


class BlueGreenApplication(Construct):
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

    def _target_group(self, construct_id: str, colour: str, port: int) -> aws.lb_target_group.LbTargetGroup:
        s, w = self.settings, self.wiring
        name = w.namer.name(ResourceType.TARGET_GROUP, colour)
        return aws.lb_target_group.LbTargetGroup(
            self,
            construct_id,
            name=name,
            target_type="ip",
            protocol="HTTP",
            port=port,
            vpc_id=w.vpc_id,
            deregistration_delay=str(s.deregistration_delay_seconds),
            health_check=aws.lb_target_group.LbTargetGroupHealthCheck(
                enabled=True,
                path=s.health_check_path,
                protocol="HTTP",
                port="traffic-port",
                matcher=HEALTHY_HTTP_CODES,
                interval=15,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            tags=name_tag(name, {"Colour": colour}),
            # Decommission deletes blue while the listener stops forwarding to it. Terraform would otherwise delete
            # first and ELB refuses (ResourceInUse, found by the deploy rehearsal); created-before-destroyed, the
            # group is deleted after the listener's update. Caveat: a change that replaces blue (port, protocol)
            # needs the old group gone first, as its name stays the same.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True) if colour == "blue" else None,
        )

    def _load_balancer(self) -> None:
        s, w, n = self.settings, self.wiring, self.wiring.namer
        name = n.name(ResourceType.LOAD_BALANCER, "app")
        self.load_balancer = aws.lb.Lb(
            self,
            "alb",
            name=name,
            load_balancer_type="application",
            internal=False,
            subnets=list(w.public_subnet_ids),
            security_groups=[w.alb_security_group_id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=s.deletion_protection,
            access_logs=aws.lb.LbAccessLogs(bucket=w.access_log_bucket, prefix=w.access_log_prefix, enabled=True),
            tags=name_tag(name),
        )
        self.green = self._target_group("green", "green", s.container_port)
        self.blue: aws.lb_target_group.LbTargetGroup | None = None
        if self.blue_targets:
            self.blue = self._target_group("blue", "blue", s.blue_port)
            for i, address in enumerate(self.blue_targets):
                aws.lb_target_group_attachment.LbTargetGroupAttachment(
                    self,
                    f"blue-target-{i + 1}",
                    target_group_arn=self.blue.arn,
                    target_id=address,
                    port=s.blue_port,
                    availability_zone="all",
                )
        self.https_listener = aws.lb_listener.LbListener(
            self,
            "https",
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=SSL_POLICY,
            certificate_arn=s.certificate_arn,
            default_action=[self._weighted_forward()],
            tags=name_tag(n.name(ResourceType.LISTENER, "https")),
        )
        aws.lb_listener.LbListener(
            self,
            "http",
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_action=[
                aws.lb_listener.LbListenerDefaultAction(
                    type="redirect",
                    redirect=aws.lb_listener.LbListenerDefaultActionRedirect(
                        port="443", protocol="HTTPS", status_code="HTTP_301"
                    ),
                )
            ],
            tags=name_tag(n.name(ResourceType.LISTENER, "http")),
        )
        aws.lb_listener_rule.LbListenerRule(
            self,
            "green-testers",
            listener_arn=self.https_listener.arn,
            priority=TESTER_RULE_PRIORITY,
            condition=[
                aws.lb_listener_rule.LbListenerRuleCondition(
                    http_header=aws.lb_listener_rule.LbListenerRuleConditionHttpHeader(
                        http_header_name=TESTER_HEADER, values=[s.tester_header_value]
                    )
                )
            ],
            action=[aws.lb_listener_rule.LbListenerRuleAction(type="forward", target_group_arn=self.green.arn)],
            tags=name_tag(n.name(ResourceType.LISTENER_RULE, "green-testers")),
        )

    def _weighted_forward(self) -> aws.lb_listener.LbListenerDefaultAction:
        """Forward to blue and green with the phase's weights, without stickiness, so a switch moves every client."""
        w = self.wiring
        groups = (
            [aws.lb_listener.LbListenerDefaultActionForwardTargetGroup(arn=self.blue.arn, weight=w.blue_weight)]
            if self.blue is not None
            else []
        )
        groups.append(aws.lb_listener.LbListenerDefaultActionForwardTargetGroup(arn=self.green.arn, weight=w.green_weight))
        return aws.lb_listener.LbListenerDefaultAction(
            type="forward",
            forward=aws.lb_listener.LbListenerDefaultActionForward(
                target_group=groups,
                stickiness=aws.lb_listener.LbListenerDefaultActionForwardStickiness(enabled=False, duration=1),
            ),
        )

    def _firewall(self) -> None:
        """A regional WAF web ACL on the load balancer, logging to a CMK-encrypted log group."""
        w, n = self.wiring, self.wiring.namer
        name = n.name(ResourceType.WEB_ACL, "app")

        def visibility(metric: str) -> dict[str, Any]:
            return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}

        self.web_acl = aws.wafv2_web_acl.Wafv2WebAcl(
            self,
            "waf",
            name=name,
            scope="REGIONAL",
            description="Managed rule groups in front of the blue-green load balancer",
            default_action=aws.wafv2_web_acl.Wafv2WebAclDefaultAction(allow=aws.wafv2_web_acl.Wafv2WebAclDefaultActionAllow()),
            visibility_config=aws.wafv2_web_acl.Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            ),
            tags=name_tag(name),
        )
        # The provider bindings stop short of the rule statement blocks: the rules go in as plain Terraform JSON.
        override(
            self.web_acl,
            "rule",
            [
                {
                    "name": group,
                    "priority": i + 1,
                    "override_action": [{"none": [{}]}],
                    "statement": [{"managed_rule_group_statement": [{"name": group, "vendor_name": "AWS"}]}],
                    "visibility_config": [visibility(group)],
                }
                for i, group in enumerate(WAF_MANAGED_RULE_GROUPS)
            ],
        )
        aws.wafv2_web_acl_association.Wafv2WebAclAssociation(
            self, "waf-association", resource_arn=self.load_balancer.arn, web_acl_arn=self.web_acl.arn
        )
        log_name = n.name(ResourceType.WAF_LOG_GROUP, "app")
        self.waf_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "waf-logs",
            name=log_name,
            kms_key_id=w.ops_key_arn,
            retention_in_days=w.log_retention_days,
            tags=name_tag(log_name),
        )
        aws.wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfiguration(
            self,
            "waf-logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[self.waf_log_group.arn],
        )

    # ------------------------------------------------------------------------------------------ service

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

    # ------------------------------------------------------------------------------------------ for others

    @property
    def green_target_group_arn_suffix(self) -> str:
        return str(self.green.arn_suffix)

    @property
    def load_balancer_arn_suffix(self) -> str:
        return str(self.load_balancer.arn_suffix)
