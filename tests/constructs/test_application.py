"""The blue-green application construct (constructs/application.py: ECS Fargate, the weighted load balancer, WAF) in a fresh stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import one, resources_of, synth_of
from tests.constructs.build import BUCKET, CERT, NAMER, OPS, S3KEY, actions_of, policy, ref, settings_and_wiring


def application(stack: Any, **overrides: Any) -> Any:
    from inventory_migration.config import ApplicationConfig
    from inventory_migration.constructs.application import BlueGreenApplication, BlueGreenApplicationWiring

    props: dict[str, Any] = dict(
        namer=NAMER,
        region="us-east-1",
        partition="aws",
        vpc_id="vpc-1",
        public_subnet_ids=["pub-1", "pub-2"],
        app_subnet_ids=["app-1", "app-2"],
        alb_security_group_id="sg-alb",
        app_security_group_id="sg-app",
        certificate_arn=CERT,
        access_log_bucket="s3-access-logs-dev-t1",
        ops_key_arn=OPS,
        image_bucket_arn=BUCKET,
        image_key_arn=S3KEY,
        database_environment={"DATABASE_HOST": "aurora.example", "DATABASE_PORT": "5432"},
        blue_targets=("192.168.10.11", "192.168.10.12"),
        container_image="public.ecr.aws/nginx/nginx:1.27",
        access_log_prefix="alb",
        blue_weight=100,
        green_weight=0,
        blue_registered=True,
        log_retention_days=365,
        secret_recovery_window_days=0,
    )
    props.update(overrides)
    return BlueGreenApplication(stack, "application", **settings_and_wiring(ApplicationConfig, BlueGreenApplicationWiring, props))


def test_ecs_cluster_and_service(construct_stack: Any) -> None:
    app = application(construct_stack)
    synth = synth_of(construct_stack)
    cluster = one(synth, "aws_ecs_cluster")
    assert cluster["name"] == "ecs-app-dev-t1"
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    assert cluster["configuration"]["managed_storage_configuration"]["fargate_ephemeral_storage_kms_key_id"] == OPS
    providers = one(synth, "aws_ecs_cluster_capacity_providers")
    assert providers["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    log_group = next(g for g in resources_of(synth, "aws_cloudwatch_log_group") if g["name"] == "logs-ecs-app-dev-t1")
    assert log_group["kms_key_id"] == OPS
    service = one(synth, "aws_ecs_service")
    assert service["desired_count"] == 2
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert service["network_configuration"] == {
        "subnets": ["app-1", "app-2"],
        "security_groups": ["sg-app"],
        "assign_public_ip": False,
    }
    assert service["load_balancer"] == [
        {"target_group_arn": ref(construct_stack, app.green, "arn"), "container_name": "app", "container_port": 8080}
    ]
    assert service["capacity_provider_strategy"] == [{"capacity_provider": "FARGATE", "base": 1, "weight": 1}]
    task = one(synth, "aws_ecs_task_definition")
    assert task["requires_compatibilities"] == ["FARGATE"] and task["network_mode"] == "awsvpc"
    (container,) = json.loads(task["container_definitions"])
    assert container["image"] == "public.ecr.aws/nginx/nginx:1.27" and container["readonlyRootFilesystem"] is True
    assert container["secrets"] == [
        {"name": "DATABASE_CREDENTIALS", "valueFrom": ref(construct_stack, app.database_secret, "arn")}
    ]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert one(synth, "aws_secretsmanager_secret")["kms_key_id"] == OPS


def test_without_an_image_the_service_is_the_application_teams(construct_stack: Any) -> None:
    application(construct_stack, container_image="", spot_weight=0)
    synth = synth_of(construct_stack)
    assert "aws_ecs_service" not in synth["resource"] and "aws_ecs_task_definition" not in synth["resource"]
    assert one(synth, "aws_ecs_cluster")


def test_roles_are_least_privilege(construct_stack: Any) -> None:
    app = application(construct_stack, container_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/inventory/app:1.4.2")
    synth = synth_of(construct_stack)
    roles = {r["name"]: r for r in resources_of(synth, "aws_iam_role")}
    trust = policy(roles["role-ecs-task-execution-dev-t1"], "assume_role_policy")["Statement"][0]["Principal"]
    assert trust == {"Service": "ecs-tasks.amazonaws.com"}
    policies = {p["name"]: actions_of(policy(p)) for p in resources_of(synth, "aws_iam_role_policy")}
    execution = policies["policy-ecs-task-execution-dev-t1"]
    assert execution == {
        "WriteAppLogs": ({"logs:CreateLogStream", "logs:PutLogEvents"}, [f"{ref(construct_stack, app.log_group, 'arn')}:*"]),
        "InjectDatabaseSecret": ({"secretsmanager:GetSecretValue"}, [ref(construct_stack, app.database_secret, "arn")]),
        "DecryptDatabaseSecret": ({"kms:Decrypt"}, [OPS]),
        "PullAppImage": (
            {"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
            ["arn:aws:ecr:us-east-1:123456789012:repository/inventory/app"],
        ),
        "LogInToEcr": ({"ecr:GetAuthorizationToken"}, "*"),
    }
    task = policies["policy-ecs-task-dev-t1"]
    assert task == {
        "ListImageBucket": ({"s3:ListBucket", "s3:GetBucketLocation"}, [BUCKET]),
        "ReadWriteImages": ({"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectVersion"}, [f"{BUCKET}/*"]),
        "UseImageBucketKey": ({"kms:Decrypt", "kms:GenerateDataKey"}, [S3KEY]),
    }
    assert all("*" not in action for statements in policies.values() for actions, _ in statements.values() for action in actions)


def app_log_group_names(synth: dict[str, Any]) -> set[str]:
    return {g["name"] for g in resources_of(synth, "aws_cloudwatch_log_group") if g["kms_key_id"] == OPS}


def test_application_wiring_validation() -> None:
    from inventory_migration.constructs.wiring import WiringError

    with pytest.raises(WiringError) as info:
        application(None, blue_weight=60, green_weight=30, blue_registered=False, public_subnet_ids=["one"])
    text = str(info.value)
    assert "must be 100" in text and "no targets" in text and "2 AZs" in text
