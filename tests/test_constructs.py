"""Each construct in a fresh stack: properties of the synthesized JSON."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from inventory_migration.config import EngineLifecycleSupport, NatGatewayMode, OnPremConnectivity
from inventory_migration.dms_settings import CONTROL_SCHEMA
from inventory_migration.naming import Namer
from inventory_migration.phases import TaskState
from tests.conftest import one, resources_of, synth_of

NAMER = Namer(environment="dev", suffix="t1")
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def policy(resource: dict[str, Any], attribute: str = "policy") -> dict[str, Any]:
    return json.loads(resource[attribute])


# ----------------------------------------------------------------------------- kms


def test_kms_keys_rotate_with_scoped_policies(construct_stack: Any) -> None:
    from inventory_migration.constructs.kms import EncryptionKeys, EncryptionKeysProps

    EncryptionKeys(
        construct_stack,
        "kms",
        props=EncryptionKeysProps(namer=NAMER, region="us-east-1", account_id="123456789012", partition="aws"),
    )
    synth = synth_of(construct_stack)
    keys = resources_of(synth, "aws_kms_key")
    assert len(keys) == 3
    assert all(k["enable_key_rotation"] and k["deletion_window_in_days"] == 7 for k in keys)
    aliases = sorted(a["name"] for a in resources_of(synth, "aws_kms_alias"))
    assert aliases == ["alias/kms-ops-dev-t1", "alias/kms-rds-dev-t1", "alias/kms-s3-dev-t1"]
    by_name = {k["tags"]["Name"]: policy(k) for k in keys}
    rds = {s["Sid"]: s for s in by_name["kms-rds-dev-t1"]["Statement"]}
    assert rds["ServicesUseOnBehalfOfAccount"]["Condition"]["StringEquals"]["kms:ViaService"] == ["rds.us-east-1.amazonaws.com"]
    assert set(rds) == {"AccountAdministers", "ServicesUseOnBehalfOfAccount"}
    ops = {s["Sid"]: s for s in by_name["kms-ops-dev-t1"]["Statement"]}
    assert ops["ServicesUseOnBehalfOfAccount"]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "sns.us-east-1.amazonaws.com",
        "secretsmanager.us-east-1.amazonaws.com",
        "dms.us-east-1.amazonaws.com",
    ]
    logs = ops["CloudWatchLogsEncryptsOurLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:*"
    assert "cloudwatch.amazonaws.com" in ops["PublishersWriteToEncryptedTopic"]["Principal"]["Service"]


def test_kms_props_reject_a_bad_deletion_window() -> None:
    from inventory_migration.constructs.kms import EncryptionKeysProps

    with pytest.raises(ValueError, match="deletion_window_days = 5"):
        EncryptionKeysProps(namer=NAMER, region="us-east-1", account_id="1", partition="aws", deletion_window_days=5)


# ----------------------------------------------------------------------------- network


def network(stack: Any, **overrides: Any) -> Any:
    from inventory_migration.constructs.network import Network, NetworkProps

    props = dict(
        namer=NAMER,
        region="us-east-1",
        vpc_cidr="10.80.0.0/16",
        on_prem_cidrs=("192.168.0.0/16",),
        flow_log_key_arn=KEY,
        customer_gateway_ip="198.51.100.10",
    )
    props.update(overrides)
    return Network(stack, "network", props=NetworkProps(**props))


def test_network_tiers_across_three_azs(construct_stack: Any) -> None:
    net = network(construct_stack)
    synth = synth_of(construct_stack)
    subnets = resources_of(synth, "aws_subnet")
    assert len(subnets) == 12
    assert sorted({s["tags"]["Tier"] for s in subnets}) == ["database", "private-app", "private-dms", "public"]
    assert not any(s["map_public_ip_on_launch"] for s in subnets)
    assert {s["cidr_block"] for s in subnets if s["tags"]["Tier"] == "database"} == {
        "10.80.192.0/20",
        "10.80.208.0/20",
        "10.80.224.0/20",
    }
    assert len(resources_of(synth, "aws_nat_gateway")) == 1
    endpoint = one(synth, "aws_vpc_endpoint")
    assert endpoint["service_name"] == "com.amazonaws.us-east-1.s3" and endpoint["vpc_endpoint_type"] == "Gateway"
    assert len(endpoint["route_table_ids"]) == 5
    assert one(synth, "aws_default_security_group").get("ingress") is None
    assert len(net.availability_zones) == 3


def test_database_subnets_have_no_route_out(construct_stack: Any) -> None:
    net = network(construct_stack)
    synth = synth_of(construct_stack)
    db_rt = f"${{aws_route_table.{construct_stack.get_logical_id(net.database_route_table)}.id}}"
    assert not [r for r in resources_of(synth, "aws_route") if r["route_table_id"] == db_rt]


def test_flow_logs_go_to_an_encrypted_log_group(construct_stack: Any) -> None:
    net = network(construct_stack)
    synth = synth_of(construct_stack)
    group = one(synth, "aws_cloudwatch_log_group")
    assert group["kms_key_id"] == KEY and group["retention_in_days"] == 365
    flow = one(synth, "aws_flow_log")
    assert flow["traffic_type"] == "ALL"
    assert flow["log_destination"] == f"${{aws_cloudwatch_log_group.{construct_stack.get_logical_id(net.flow_log_group)}.arn}}"
    role = one(synth, "aws_iam_role")
    assert policy(role, "assume_role_policy")["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}


def test_vpn_path_routes_on_prem_from_private_and_public_tables(construct_stack: Any) -> None:
    net = network(construct_stack, on_prem_cidrs=("192.168.0.0/16", "172.20.0.0/16"))
    synth = synth_of(construct_stack)
    assert one(synth, "aws_customer_gateway")["ip_address"] == "198.51.100.10"
    assert one(synth, "aws_vpn_connection")["static_routes_only"] is True
    assert len(resources_of(synth, "aws_vpn_connection_route")) == 2
    on_prem = [r for r in resources_of(synth, "aws_route") if r["destination_cidr_block"] != "0.0.0.0/0"]
    # 3 private tables and the public one (the load balancer there forwards to blue on-prem), per on-prem network.
    assert len(on_prem) == 8 and all("aws_vpn_gateway" in r["gateway_id"] for r in on_prem)
    public = f"${{aws_route_table.{construct_stack.get_logical_id(net.public_route_table)}.id}}"
    assert sorted(r["destination_cidr_block"] for r in on_prem if r["route_table_id"] == public) == [
        "172.20.0.0/16",
        "192.168.0.0/16",
    ]


def test_the_database_tier_routes_only_the_operators_network(construct_stack: Any) -> None:
    net = network(construct_stack, operator_cidrs=("192.168.100.0/24",))
    synth = synth_of(construct_stack)
    database = f"${{aws_route_table.{construct_stack.get_logical_id(net.database_route_table)}.id}}"
    routes = [r for r in resources_of(synth, "aws_route") if r["route_table_id"] == database]
    assert [(r["destination_cidr_block"], "aws_vpn_gateway" in r["gateway_id"]) for r in routes] == [("192.168.100.0/24", True)]


def test_transit_gateway_path(construct_stack: Any) -> None:
    network(
        construct_stack,
        connectivity=OnPremConnectivity.TRANSIT_GATEWAY,
        transit_gateway_id="tgw-0123456789abcdef0",
        nat_gateways=NatGatewayMode.PER_AZ,
    )
    synth = synth_of(construct_stack)
    assert one(synth, "aws_ec2_transit_gateway_vpc_attachment")["transit_gateway_id"] == "tgw-0123456789abcdef0"
    assert "aws_vpn_gateway" not in synth["resource"]
    assert len(resources_of(synth, "aws_nat_gateway")) == 3
    tgw_routes = [r for r in resources_of(synth, "aws_route") if r.get("transit_gateway_id")]
    assert len(tgw_routes) == 4  # the three private tables and the public one


def test_no_nat(construct_stack: Any) -> None:
    network(construct_stack, nat_gateways=NatGatewayMode.NONE)
    synth = synth_of(construct_stack)
    assert "aws_nat_gateway" not in synth["resource"]
    assert all(
        r["destination_cidr_block"] != "0.0.0.0/0" or "aws_internet_gateway" in r.get("gateway_id", "")
        for r in resources_of(synth, "aws_route")
    )


def test_network_props_validation() -> None:
    from inventory_migration.constructs.network import NetworkProps

    with pytest.raises(ValueError) as info:
        NetworkProps(namer=NAMER, region="us-east-1", vpc_cidr="10.0.0.0/16", on_prem_cidrs=(), flow_log_key_arn=KEY, az_count=1)
    assert "az_count = 1" in str(info.value) and "customer_gateway_ip" in str(info.value)
    with pytest.raises(ValueError, match="transit_gateway_id"):
        NetworkProps(
            namer=NAMER,
            region="us-east-1",
            vpc_cidr="10.0.0.0/16",
            on_prem_cidrs=(),
            flow_log_key_arn=KEY,
            connectivity=OnPremConnectivity.TRANSIT_GATEWAY,
        )


# ----------------------------------------------------------------------------- security groups


def test_security_groups(construct_stack: Any) -> None:
    from inventory_migration.constructs.security import SecurityGroups, SecurityGroupsProps

    sgs = SecurityGroups(
        construct_stack,
        "sg",
        props=SecurityGroupsProps(
            namer=NAMER,
            vpc_id="vpc-1",
            on_prem_cidrs=("192.168.0.0/16",),
            source_port=5433,
            aurora_port=5432,
            alb_ingress_cidrs=("203.0.113.0/24",),
            blue_targets=("192.168.10.11",),
            blue_port=8081,
            operator_cidrs=("192.168.100.0/24",),
        ),
    )
    synth = synth_of(construct_stack)
    names = sorted(g["name"] for g in resources_of(synth, "aws_security_group"))
    assert names == ["secgroup-alb-dev-t1", "secgroup-app-dev-t1", "secgroup-aurora-dev-t1", "secgroup-dms-dev-t1"]

    def ref(group: Any) -> str:
        return f"${{aws_security_group.{construct_stack.get_logical_id(group)}.id}}"

    def rules(kind: str, group: Any) -> list[tuple[int, str]]:
        found = resources_of(synth, f"aws_vpc_security_group_{kind}_rule")
        return sorted(
            (r["from_port"], r.get("cidr_ipv4") or r["referenced_security_group_id"])
            for r in found
            if r["security_group_id"] == ref(group)
        )

    # Aurora: the app, DMS and the operator's network on-prem (migrationctl), nothing else.
    assert rules("ingress", sgs.aurora) == sorted([(5432, ref(sgs.app)), (5432, ref(sgs.dms)), (5432, "192.168.100.0/24")])
    # DMS: the source on-prem, Aurora, and HTTPS for its endpoints' secrets.
    assert rules("egress", sgs.dms) == sorted([(443, "0.0.0.0/0"), (5432, ref(sgs.aurora)), (5433, "192.168.0.0/16")])
    # The load balancer: 80/443 from the clients only; out only to green (app) and the blue server's port.
    assert rules("ingress", sgs.alb) == [(80, "203.0.113.0/24"), (443, "203.0.113.0/24")]
    assert rules("egress", sgs.alb) == sorted([(8080, ref(sgs.app)), (8081, "192.168.10.11/32")])
    # The app: in only from the load balancer; out to Aurora and HTTPS (AWS APIs, the image registry).
    assert rules("ingress", sgs.app) == [(8080, ref(sgs.alb))]
    assert rules("egress", sgs.app) == sorted([(443, "0.0.0.0/0"), (5432, ref(sgs.aurora))])


def test_security_groups_without_replication_drop_the_dms_group(construct_stack: Any) -> None:
    from inventory_migration.constructs.security import SecurityGroups, SecurityGroupsProps

    sgs = SecurityGroups(
        construct_stack,
        "sg",
        props=SecurityGroupsProps(
            namer=NAMER, vpc_id="vpc-1", on_prem_cidrs=("192.168.0.0/16",), source_port=5433, aurora_port=5432, replication=False
        ),
    )
    synth = synth_of(construct_stack)
    assert sgs.dms is None
    assert "secgroup-dms-dev-t1" not in {g["name"] for g in resources_of(synth, "aws_security_group")}
    assert not [r for r in resources_of(synth, "aws_vpc_security_group_egress_rule") if r["from_port"] == 5433]


def test_security_group_props_validation() -> None:
    from inventory_migration.constructs.security import SecurityGroupsProps

    with pytest.raises(ValueError) as info:
        SecurityGroupsProps(
            namer=NAMER, vpc_id="v", on_prem_cidrs=(), source_port=0, aurora_port=5432, alb_ingress_cidrs=("0.0.0.0/0",)
        )
    assert "source_port = 0" in str(info.value) and "opens the load balancer to the internet" in str(info.value)


# ----------------------------------------------------------------------------- aurora


def aurora_props(**overrides: Any) -> Any:
    from inventory_migration.constructs.aurora import AuroraClusterProps

    props = dict(
        namer=NAMER,
        partition="aws",
        engine_major=16,
        engine_version="16.6",
        subnet_ids=["a", "b", "c"],
        availability_zones=["us-east-1a", "us-east-1b", "us-east-1c"],
        security_group_ids=["sg-1"],
        storage_key_arn=KEY,
        secret_key_arn=KEY + "ops",
        logs_key_arn=KEY + "logs",
    )
    props.update(overrides)
    return AuroraClusterProps(**props)


def test_aurora_cluster(construct_stack: Any) -> None:
    from inventory_migration.constructs.aurora import AuroraCluster

    AuroraCluster(
        construct_stack, "aurora", props=aurora_props(source_parameters={"work_mem": "16384", "max_connections": "800"})
    )
    synth = synth_of(construct_stack)
    cluster = one(synth, "aws_rds_cluster")
    assert cluster["engine"] == "aurora-postgresql" and cluster["engine_version"] == "16.6"
    assert cluster["storage_encrypted"] is True and cluster["kms_key_id"] == KEY
    assert cluster["manage_master_user_password"] is True and cluster["master_user_secret_kms_key_id"] == KEY + "ops"
    assert cluster["iam_database_authentication_enabled"] is True
    assert cluster["enabled_cloudwatch_logs_exports"] == ["postgresql"]
    assert cluster["copy_tags_to_snapshot"] is True
    assert "engine_lifecycle_support" not in cluster and "final_snapshot_identifier" not in cluster
    instances = resources_of(synth, "aws_rds_cluster_instance")
    assert [i["availability_zone"] for i in instances] == ["us-east-1a", "us-east-1b"]
    assert all(i["performance_insights_enabled"] and i["performance_insights_kms_key_id"] == KEY for i in instances)
    assert all(i["monitoring_interval"] == 60 and not i["publicly_accessible"] for i in instances)
    group = one(synth, "aws_rds_cluster_parameter_group")
    assert group["family"] == "aurora-postgresql16"
    params = {p["name"]: (p["value"], p["apply_method"]) for p in group["parameter"]}
    assert params["rds.logical_replication"] == ("1", "pending-reboot")
    assert params["rds.force_ssl"] == ("1", "immediate")
    assert params["max_connections"] == ("800", "pending-reboot")
    assert params["work_mem"] == ("16384", "immediate")
    assert params["log_statement"] == ("ddl", "immediate")
    log_group = one(synth, "aws_cloudwatch_log_group")
    assert log_group["name"] == "/aws/rds/cluster/aurora-dev-t1/postgresql"
    assert "aws_db_option_group" not in synth["resource"]


def test_aurora_13_with_extended_support_and_final_snapshot(construct_stack: Any) -> None:
    from inventory_migration.constructs.aurora import AuroraCluster

    AuroraCluster(
        construct_stack,
        "aurora",
        props=aurora_props(
            engine_major=13,
            engine_version="13.18",
            engine_lifecycle_support=EngineLifecycleSupport.EXTENDED_SUPPORT,
            skip_final_snapshot=False,
            deletion_protection=True,
            instance_count=4,
        ),
    )
    synth = synth_of(construct_stack)
    cluster = one(synth, "aws_rds_cluster")
    assert cluster["engine_lifecycle_support"] == "open-source-rds-extended-support"
    assert cluster["final_snapshot_identifier"] == "aurora-dev-t1-final" and cluster["deletion_protection"] is True
    assert one(synth, "aws_rds_cluster_parameter_group")["family"] == "aurora-postgresql13"
    azs = [i["availability_zone"] for i in resources_of(synth, "aws_rds_cluster_instance")]
    assert azs == ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a"]


def test_source_cannot_override_what_the_migration_needs() -> None:
    from inventory_migration.constructs.aurora import cluster_parameters

    params = {p["name"]: p["value"] for p in cluster_parameters({"rds.logical_replication": "0", "log_statement": "all"})}
    assert params["rds.logical_replication"] == "1" and params["log_statement"] == "all"


def test_aurora_props_validation() -> None:
    with pytest.raises(ValueError) as info:
        aurora_props(instance_count=1, subnet_ids=["a"], availability_zones=["x"], engine_version="15.1")
    text = str(info.value)
    assert all(s in text for s in ("instance_count = 1", "subnet_ids", "availability_zones", "engine_version = '15.1'"))


# ----------------------------------------------------------------------------- dms


def dms_props(**overrides: Any) -> Any:
    from inventory_migration.constructs.dms import DmsReplicationProps, EndpointSpec

    props = dict(
        namer=NAMER,
        region="us-east-1",
        partition="aws",
        subnet_ids=["a", "b"],
        security_group_ids=["sg-1"],
        kms_key_arn=KEY,
        source=EndpointSpec(database_name="inventory", engine_name="postgres"),
        target=EndpointSpec(database_name="inventory", engine_name="aurora-postgresql"),
        schemas=("inventory", "catalog"),
        alarm_topic_arn="arn:aws:sns:us-east-1:123456789012:t",
    )
    props.update(overrides)
    return DmsReplicationProps(**props)


def test_dms_replication(construct_stack: Any) -> None:
    from inventory_migration.constructs.dms import DmsReplication

    dms = DmsReplication(construct_stack, "dms", props=dms_props())
    synth = synth_of(construct_stack)
    instance = one(synth, "aws_dms_replication_instance")
    assert instance["multi_az"] is True and instance["publicly_accessible"] is False and instance["kms_key_arn"] == KEY
    assert instance["replication_instance_id"] == "dms-instance-dev-t1"
    roles = {r["name"] for r in resources_of(synth, "aws_iam_role")}
    assert {"dms-vpc-role", "dms-cloudwatch-logs-role", "role-dms-secrets-access-dev-t1"} <= roles
    endpoints = {e["endpoint_type"]: e for e in resources_of(synth, "aws_dms_endpoint")}
    source, target = endpoints["source"], endpoints["target"]
    assert source["engine_name"] == "postgres" and target["engine_name"] == "aurora-postgresql"
    assert source["ssl_mode"] == "require" and "certificate_arn" not in source
    assert source["postgres_settings"]["heartbeat_enable"] is True
    assert source["postgres_settings"]["map_boolean_as_boolean"] is True
    assert target["postgres_settings"]["map_boolean_as_boolean"] is True
    assert target["postgres_settings"]["after_connect_script"] == "SET session_replication_role = 'replica'"
    assert "password" not in source and "username" not in source
    access = policy(one(synth, "aws_iam_role_policy"))["Statement"]
    secret_ids = {
        f"${{aws_secretsmanager_secret.{construct_stack.get_logical_id(s)}.arn}}" for s in (dms.source_secret, dms.target_secret)
    }
    assert set(access[0]["Resource"]) == secret_ids
    assert access[1]["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"
    trust = policy(resources_of(synth, "aws_iam_role")[2], "assume_role_policy")["Statement"][0]["Principal"]
    assert trust == {"Service": "dms.us-east-1.amazonaws.com"}
    task = one(synth, "aws_dms_replication_task")
    assert task["migration_type"] == "full-load-and-cdc" and task["start_replication_task"] is False
    settings = json.loads(task["replication_task_settings"])
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"
    assert settings["TargetMetadata"]["LimitedSizeLobMode"] is True and settings["ValidationSettings"]["EnableValidation"] is True
    assert settings["Logging"]["EnableLogging"] is True
    mappings = json.loads(task["table_mappings"])["rules"]
    assert [r["object-locator"]["schema-name"] for r in mappings] == ["inventory", "catalog", CONTROL_SCHEMA]
    subs = {s["source_type"]: s for s in resources_of(synth, "aws_dms_event_subscription")}
    assert set(subs) == {"replication-task", "replication-instance"}
    assert one(synth, "aws_cloudwatch_log_group")["name"] == "dms-tasks-dms-instance-dev-t1"


def test_dms_verify_full_with_ca_and_existing_account_roles(construct_stack: Any) -> None:
    from inventory_migration.constructs.dms import DmsReplication, EndpointSpec

    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    DmsReplication(
        construct_stack,
        "dms",
        props=dms_props(
            source=EndpointSpec(database_name="inventory", engine_name="postgres", ca_certificate_pem=pem),
            create_account_roles=False,
            forward_task=TaskState.RUNNING,
            secret_recovery_window_days=30,
        ),
    )
    synth = synth_of(construct_stack)
    source = next(e for e in resources_of(synth, "aws_dms_endpoint") if e["endpoint_type"] == "source")
    assert source["ssl_mode"] == "verify-full" and "aws_dms_certificate" in source["certificate_arn"]
    assert one(synth, "aws_dms_certificate")["certificate_pem"] == pem
    assert {r["name"] for r in resources_of(synth, "aws_iam_role")} == {"role-dms-secrets-access-dev-t1"}
    assert one(synth, "aws_dms_replication_task")["start_replication_task"] is True


def test_dms_props_validation() -> None:
    with pytest.raises(ValueError) as info:
        dms_props(subnet_ids=["a"], schemas=(), secret_recovery_window_days=3)
    assert all(s in str(info.value) for s in ("subnet_ids", "schemas", "secret_recovery_window_days = 3"))


# ----------------------------------------------------------------------------- storage


def test_image_storage(construct_stack: Any) -> None:
    from inventory_migration.constructs.storage import ImageStorage, ImageStorageProps

    storage = ImageStorage(
        construct_stack,
        "storage",
        props=ImageStorageProps(namer=NAMER, account_id="123456789012", partition="aws", kms_key_arn=KEY),
    )
    synth = synth_of(construct_stack)
    buckets = {b["bucket"]: b for b in resources_of(synth, "aws_s3_bucket")}
    assert set(buckets) == {"s3-images-dev-t1", "s3-access-logs-dev-t1"}
    assert all(b["force_destroy"] for b in buckets.values())
    images_ref = f"${{aws_s3_bucket.{construct_stack.get_logical_id(storage.bucket)}.id}}"
    encryption = {e["bucket"]: e["rule"][0] for e in resources_of(synth, "aws_s3_bucket_server_side_encryption_configuration")}
    assert encryption[images_ref]["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": KEY,
    }
    assert encryption[images_ref]["bucket_key_enabled"] is True
    assert all(
        o["rule"]["object_ownership"] == "BucketOwnerEnforced" for o in resources_of(synth, "aws_s3_bucket_ownership_controls")
    )
    assert all(
        all(b[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
        for b in resources_of(synth, "aws_s3_bucket_public_access_block")
    )
    assert all(v["versioning_configuration"]["status"] == "Enabled" for v in resources_of(synth, "aws_s3_bucket_versioning"))
    lifecycle = {lc["bucket"]: lc["rule"] for lc in resources_of(synth, "aws_s3_bucket_lifecycle_configuration")}[images_ref]
    tiers = lifecycle[0]
    assert tiers["filter"] == [{"object_size_greater_than": 131072}]
    assert [(t["days"], t["storage_class"]) for t in tiers["transition"]] == [(30, "STANDARD_IA"), (90, "GLACIER_IR")]
    noncurrent = lifecycle[1]
    assert noncurrent["noncurrent_version_transition"] == [{"noncurrent_days": 30, "storage_class": "GLACIER"}]
    assert noncurrent["noncurrent_version_expiration"] == [{"noncurrent_days": 365}]
    assert noncurrent["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert all(
        any(r.get("abort_incomplete_multipart_upload") for r in lc["rule"])
        for lc in resources_of(synth, "aws_s3_bucket_lifecycle_configuration")
    )
    statements = {s["Sid"]: s for p in resources_of(synth, "aws_s3_bucket_policy") for s in policy(p)["Statement"]}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["DenyOtherEncryption"]["Condition"]["StringNotEqualsIfExists"] == {
        "s3:x-amz-server-side-encryption": "aws:kms"
    }
    assert statements["S3ServerAccessLogDelivery"]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert one(synth, "aws_s3_bucket_logging")["target_prefix"] == "images/"


def test_operator_state_bucket(construct_stack: Any) -> None:
    """migrationctl's state: its own bucket, our key, versioned, private, TLS only, old versions expire."""
    from inventory_migration.constructs.state import OperatorState, OperatorStateProps

    state = OperatorState(construct_stack, "operator-state", props=OperatorStateProps(namer=NAMER, kms_key_arn=KEY))
    synth = synth_of(construct_stack)
    bucket = one(synth, "aws_s3_bucket")
    assert bucket["bucket"] == "s3-state-dev-t1" and bucket["force_destroy"] is True
    ref = f"${{aws_s3_bucket.{construct_stack.get_logical_id(state.bucket)}.id}}"
    rule = one(synth, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY}
    assert one(synth, "aws_s3_bucket_versioning")["bucket"] == ref
    assert one(synth, "aws_s3_bucket_lifecycle_configuration")["rule"][0]["noncurrent_version_expiration"] == [
        {"noncurrent_days": 90}
    ]
    sids = {s["Sid"] for s in policy(one(synth, "aws_s3_bucket_policy"))["Statement"]}
    assert sids == {"DenyInsecureTransport", "DenyOtherEncryption", "DenyOtherKmsKeys"}


def test_operator_state_access_logs_go_to_the_log_bucket(construct_stack: Any) -> None:
    from inventory_migration.constructs.state import OperatorState, OperatorStateProps

    props = OperatorStateProps(namer=NAMER, kms_key_arn=KEY, access_log_bucket="s3-access-logs-dev-t1")
    OperatorState(construct_stack, "operator-state", props=props)
    logging = one(synth_of(construct_stack), "aws_s3_bucket_logging")
    assert (logging["target_bucket"], logging["target_prefix"]) == ("s3-access-logs-dev-t1", "state/")


def test_the_log_bucket_takes_the_state_buckets_access_logs(construct_stack: Any) -> None:
    from inventory_migration.constructs.storage import ImageStorage, ImageStorageProps

    props = ImageStorageProps(
        namer=NAMER, account_id="123456789012", partition="aws", kms_key_arn=KEY, logged_bucket_names=("s3-state-dev-t1",)
    )
    ImageStorage(construct_stack, "storage", props=props)
    statements = {
        s["Sid"]: s for p in resources_of(synth_of(construct_stack), "aws_s3_bucket_policy") for s in policy(p)["Statement"]
    }
    sources = statements["S3ServerAccessLogDelivery"]["Condition"]["ArnLike"]["aws:SourceArn"]
    assert sources[1:] == ["arn:aws:s3:::s3-state-dev-t1"]


def test_operator_state_props_validation() -> None:
    from inventory_migration.constructs.state import OperatorStateProps

    with pytest.raises(ValueError, match="noncurrent_expiration_days = 0: at least 1"):
        OperatorStateProps(namer=NAMER, kms_key_arn=KEY, noncurrent_expiration_days=0)


def test_storage_props_validation() -> None:
    from inventory_migration.constructs.storage import ImageStorageProps

    with pytest.raises(ValueError) as info:
        ImageStorageProps(
            namer=NAMER,
            account_id="1",
            partition="aws",
            kms_key_arn=KEY,
            infrequent_access_days=10,
            glacier_instant_retrieval_days=20,
            noncurrent_expiration_days=1,
        )
    assert all(
        s in str(info.value) for s in ("infrequent_access_days", "glacier_instant_retrieval_days", "noncurrent_expiration_days")
    )


# ----------------------------------------------------------------------------- monitoring


def test_alarm_topic(construct_stack: Any) -> None:
    from inventory_migration.constructs.monitoring import AlarmTopic, AlarmTopicProps

    AlarmTopic(
        construct_stack,
        "topic",
        props=AlarmTopicProps(namer=NAMER, account_id="123456789012", kms_key_arn=KEY, emails=("a@example.com", "b@example.com")),
    )
    synth = synth_of(construct_stack)
    topic = one(synth, "aws_sns_topic")
    assert topic["kms_master_key_id"] == KEY and topic["name"] == "sns-alarms-dev-t1"
    publish = policy(one(synth, "aws_sns_topic_policy"))["Statement"][0]
    assert set(publish["Principal"]["Service"]) == {
        "cloudwatch.amazonaws.com",
        "dms.amazonaws.com",
        "events.rds.amazonaws.com",
        "events.amazonaws.com",
    }
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert sorted(s["endpoint"] for s in resources_of(synth, "aws_sns_topic_subscription")) == ["a@example.com", "b@example.com"]


def monitoring_props(**overrides: Any) -> Any:
    from inventory_migration.constructs.monitoring import ApplicationMonitoring, MigrationMonitoringProps, ReplicationMonitoring

    props: dict[str, Any] = dict(
        namer=NAMER,
        region="us-east-1",
        topic_arn="arn:topic",
        cluster_id="aurora-dev-t1",
        reader_instance_ids=["aurora-2-dev-t1"],
        replication=ReplicationMonitoring(replication_instance_id="dms-instance-dev-t1", task_arn=TASK_ARN),
        application=ApplicationMonitoring(
            load_balancer_arn_suffix="app/alb-app-dev-t1/1234",
            green_target_group_arn_suffix="targetgroup/tg-green-dev-t1/5678",
            blue_target_group_arn_suffix="targetgroup/tg-blue-dev-t1/9abc",
            ecs_cluster_name="ecs-app-dev-t1",
            ecs_service_name="ecs-service-app-dev-t1",
        ),
    )
    props.update(overrides)
    return MigrationMonitoringProps(**props)


TASK_ARN = "arn:aws:dms:us-east-1:123456789012:task:TASKRESOURCEID"


def dashboard_of(synth: dict[str, Any]) -> dict[str, Any]:
    template = one(synth, "aws_cloudwatch_dashboard")["dashboard_body"]
    return dict(json.loads(re.sub(r"\$\{[^}]*\}", "EXPR", template)))  # Terraform interpolates, then it is JSON


def test_monitoring_alarms_and_dashboard(construct_stack: Any) -> None:
    from inventory_migration.constructs.monitoring import CUTOVER_BLOCKERS, MigrationMonitoring

    MigrationMonitoring(construct_stack, "monitoring", props=monitoring_props())
    synth = synth_of(construct_stack)
    alarms = {a["metric_name"] + ":" + a["namespace"]: a for a in resources_of(synth, "aws_cloudwatch_metric_alarm")}
    expected = {
        "CDCLatencySource:AWS/DMS",
        "CDCLatencyTarget:AWS/DMS",
        "CPUUtilization:AWS/DMS",
        "FreeableMemory:AWS/DMS",
        "FreeStorageSpace:AWS/DMS",
        "CPUUtilization:AWS/RDS",
        "DatabaseConnections:AWS/RDS",
        "FreeableMemory:AWS/RDS",
        "FreeLocalStorage:AWS/RDS",
        "AuroraReplicaLag:AWS/RDS",
        "EngineUptime:AWS/RDS",
        "UnHealthyHostCount:AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count:AWS/ApplicationELB",
    }
    assert set(alarms) == expected
    assert all(a["alarm_actions"] == ["arn:topic"] and a["ok_actions"] == ["arn:topic"] for a in alarms.values())
    latency = alarms["CDCLatencySource:AWS/DMS"]
    assert latency["threshold"] == 300 and latency["comparison_operator"] == "GreaterThanThreshold"
    assert latency["dimensions"]["ReplicationTaskIdentifier"] == f'${{element(split(":", "{TASK_ARN}"), 6)}}'
    assert alarms["FreeableMemory:AWS/RDS"]["comparison_operator"] == "LessThanThreshold"
    assert alarms["AuroraReplicaLag:AWS/RDS"]["dimensions"] == {"DBInstanceIdentifier": "aurora-2-dev-t1"}
    writer = alarms["EngineUptime:AWS/RDS"]
    assert writer["dimensions"] == {"DBClusterIdentifier": "aurora-dev-t1", "Role": "WRITER"}
    assert writer["treat_missing_data"] == "breaching" and writer["comparison_operator"] == "LessThanThreshold"
    unhealthy = alarms["UnHealthyHostCount:AWS/ApplicationELB"]
    assert unhealthy["dimensions"] == {
        "TargetGroup": "targetgroup/tg-green-dev-t1/5678",
        "LoadBalancer": "app/alb-app-dev-t1/1234",
    }
    assert unhealthy["comparison_operator"] == "GreaterThanOrEqualToThreshold" and unhealthy["threshold"] == 1
    # cutover-blocked: ALARM while any blocker is, notifying the topic both ways.
    composite = one(synth, "aws_cloudwatch_composite_alarm")
    assert composite["alarm_name"] == "alarm-cutover-blocked-dev-t1"
    assert composite["alarm_actions"] == ["arn:topic"] and composite["ok_actions"] == ["arn:topic"]
    children = re.findall(
        r'ALARM\("\$\{aws_cloudwatch_metric_alarm\.monitoring_([a-z0-9-]+)_[0-9A-F]+\.alarm_name\}"\)', composite["alarm_rule"]
    )
    assert children == list(CUTOVER_BLOCKERS)
    assert composite["alarm_rule"].count(" OR ") == len(CUTOVER_BLOCKERS) - 1
    events = one(synth, "aws_db_event_subscription")
    assert events["source_type"] == "db-cluster" and events["source_ids"] == ["aurora-dev-t1"]
    template = one(synth, "aws_cloudwatch_dashboard")["dashboard_body"]
    assert f'"${{element(split(":", "{TASK_ARN}"), 6)}}"' in template
    body = dashboard_of(synth)
    verdict, lag = body["widgets"][0], body["widgets"][1]
    assert verdict["type"] == "alarm" and (verdict["x"], verdict["y"], verdict["width"]) == (0, 0, 6)
    assert (lag["x"], lag["y"], lag["width"]) == (6, 0, 18)
    assert [m[1] for m in lag["properties"]["metrics"]] == ["CDCLatencySource", "CDCLatencyTarget"]
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert any(t.startswith("Load balancer") for t in titles) and any(t.startswith("ECS") for t in titles)
    assert body["widgets"][-1]["type"] == "alarm" and len(body["widgets"][-1]["properties"]["alarms"]) == len(expected)


def test_monitoring_without_replication_keeps_the_other_blockers(construct_stack: Any) -> None:
    from inventory_migration.constructs.monitoring import MigrationMonitoring

    MigrationMonitoring(construct_stack, "monitoring", props=monitoring_props(replication=None))
    synth = synth_of(construct_stack)
    assert not [a for a in resources_of(synth, "aws_cloudwatch_metric_alarm") if a["namespace"] == "AWS/DMS"]
    rule = one(synth, "aws_cloudwatch_composite_alarm")["alarm_rule"]
    assert "dms" not in rule and rule.count("ALARM(") == 3
    body = dashboard_of(synth)
    assert not [w for w in body["widgets"] if "DMS" in json.dumps(w)]


def test_dashboard_rows_span_the_full_width() -> None:
    from inventory_migration.dashboards.migration import layout

    placed = layout([[({"type": "text"}, 12), ({"type": "text"}, 12)], [({"type": "text"}, 24)]])
    assert [(w["x"], w["y"], w["width"]) for w in placed] == [(0, 0, 12), (12, 0, 12), (0, 6, 24)]
    with pytest.raises(ValueError, match="row 0"):
        layout([[({"type": "text"}, 12)]])


def test_dashboard_in_the_stack_keys_task_metrics_by_the_arn_tail(synthesized: Any, dev_stack: Any) -> None:
    task_id = dev_stack.get_logical_id(dev_stack.dms.task)
    body = one(synthesized("dev"), "aws_cloudwatch_dashboard")["dashboard_body"]
    assert f'${{element(split(":", aws_dms_replication_task.{task_id}.replication_task_arn), 6)}}' in body
    assert "dms-task-full-load-cdc-dev-inv" not in body  # the task name is not the dimension
