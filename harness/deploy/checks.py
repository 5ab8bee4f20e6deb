"""What the rehearsal checks through boto3, from the emulator (not from our JSON): encryption with our keys, tags,
the image bucket's settings, security group rules, Aurora, alarms, DMS wiring, the listener's weights, ECS — and,
after destroy, that nothing is left.

Runs against the emulator of :mod:`harness.aws.emulator`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from harness.aws.clients import client
from inventory_migration.config import MigrationConfig
from inventory_migration.contracts.phases import PHASE_PLANS, MigrationPhase
from inventory_migration.reachability.flows import check as check_flows
from inventory_migration.reachability.flows import failures
from inventory_migration.reachability.from_aws import deployed_from_state, network_from_aws
from inventory_migration.synth.tagging import REQUIRED_TAG_KEYS


class CheckFailed(AssertionError):
    """The emulator does not hold what the stack should have made."""


# --------------------------------------------------------------------------------------------- state helpers


def managed(state: Mapping[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """``values`` of every managed resource of a type in ``terraform show -json`` state."""
    resources = state.get("values", {}).get("root_module", {}).get("resources", [])
    return [r["values"] for r in resources if r["mode"] == "managed" and r["type"] == resource_type]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


Check = Callable[[str, MigrationPhase, Mapping[str, Any], MigrationConfig], str]
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def check_phase(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> list[str]:
    """Run every check; returns their descriptions (raises :class:`CheckFailed` at the first failure)."""
    return [fn(endpoint, phase, state, config) for fn in CHECKS]


def _key(state: Mapping[str, Any], purpose: str) -> str:
    keys = {k["tags"]["Name"].split("-")[1]: k["arn"] for k in managed(state, "aws_kms_key")}
    return str(keys[purpose])


@check
def encryption_with_our_keys(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    s3, rds_key, ops_key = _key(state, "s3"), _key(state, "rds"), _key(state, "ops")
    images = next(b for b in managed(state, "aws_s3_bucket") if "images" in b["bucket"])
    rule = client(endpoint, "s3").get_bucket_encryption(Bucket=images["bucket"])["ServerSideEncryptionConfiguration"]["Rules"][0]
    default = rule["ApplyServerSideEncryptionByDefault"]
    _require(default["SSEAlgorithm"] == "aws:kms" and default["KMSMasterKeyID"] == s3, f"image bucket encryption {default}")
    (cluster,) = client(endpoint, "rds").describe_db_clusters()["DBClusters"]
    _require(cluster["StorageEncrypted"] and cluster["KmsKeyId"] == rds_key, "Aurora storage encrypted with the RDS key")
    logs = client(endpoint, "logs").describe_log_groups()["logGroups"]
    ours = {g["name"] for g in managed(state, "aws_cloudwatch_log_group")}
    unencrypted = [g["logGroupName"] for g in logs if g["logGroupName"] in ours and g.get("kmsKeyId") != ops_key]
    _require(not unencrypted and len(ours) >= 5, f"log groups without the ops key: {unencrypted}")
    for secret in managed(state, "aws_secretsmanager_secret"):
        described = client(endpoint, "secretsmanager").describe_secret(SecretId=secret["arn"])
        _require(described.get("KmsKeyId") == ops_key, f"secret {secret['name']} encrypted with the ops key")
    (topic,) = managed(state, "aws_sns_topic")
    attributes = client(endpoint, "sns").get_topic_attributes(TopicArn=topic["arn"])["Attributes"]
    _require(attributes.get("KmsMasterKeyId") == ops_key, "alarm topic encrypted with the ops key")
    return "encryption at rest with our CMKs (bucket, Aurora, log groups, secrets, topic)"


@check
def tags_on_every_tagged_resource(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    tagging = client(endpoint, "resourcegroupstaggingapi")
    found = [r for page in tagging.get_paginator("get_resources").paginate() for r in page["ResourceTagMappingList"]]
    managed_arns = {
        r["values"].get("arn")
        for r in state.get("values", {}).get("root_module", {}).get("resources", [])
        if r["mode"] == "managed" and r["values"].get("arn")
    }
    # Only what the stack manages: automated snapshots, for one, keep the tags they were created with.
    ours = [r for r in found if r["ResourceARN"] in managed_arns]
    _require(len(ours) >= 40, f"only {len(ours)} tagged resources found through the tagging API")
    for resource in ours:
        tags = {t["Key"]: t["Value"] for t in resource["Tags"]}
        missing = [k for k in REQUIRED_TAG_KEYS if not tags.get(k)]
        _require(not missing, f"{resource['ResourceARN']} lacks {missing}")
        _require(tags["MigrationPhase"] == phase.value, f"{resource['ResourceARN']} is tagged {tags['MigrationPhase']}")
        _require(tags["Environment"] == config.environment, f"{resource['ResourceARN']} is tagged {tags['Environment']}")
    # And each tagged resource in the state carries the phase, read back through its own API by the provider.
    stale = [
        f"{r['type']}.{r['name']}"
        for r in state.get("values", {}).get("root_module", {}).get("resources", [])
        if r["mode"] == "managed" and "tags_all" in r["values"] and r["values"]["tags_all"].get("MigrationPhase") != phase.value
    ]
    _require(not stale, f"resources whose tags the emulator reports without the phase: {stale[:10]}")
    return f"required tags on every tagged resource ({len(ours)} through the tagging API, all in the state)"


@check
def image_bucket_settings(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    s3 = client(endpoint, "s3")
    for bucket in managed(state, "aws_s3_bucket"):
        name = bucket["bucket"]
        _require(s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled", f"{name}: versioning")
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        _require(all(block.values()) and len(block) == 4, f"{name}: public access block {block}")
        policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        deny = [st for st in policy["Statement"] if st.get("Sid") == "DenyInsecureTransport"]
        _require(bool(deny) and deny[0]["Condition"]["Bool"]["aws:SecureTransport"] == "false", f"{name}: TLS-only policy")
    images = next(b["bucket"] for b in managed(state, "aws_s3_bucket") if "images" in b["bucket"])
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=images)["Rules"]}
    tiers = rules["larger-images-to-colder-tiers"]
    _require(tiers["Filter"].get("ObjectSizeGreaterThan") == 131072, "small images stay out of the IA tiers")
    _require([t["StorageClass"] for t in tiers["Transitions"]] == ["STANDARD_IA", "GLACIER_IR"], "lifecycle tiers")
    return "buckets: versioning, public access block, TLS-only policy, lifecycle tiers"


@check
def security_group_rules(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    rules = client(endpoint, "ec2").describe_security_group_rules()["SecurityGroupRules"]
    ours = {g["id"]: g["name"] for g in managed(state, "aws_security_group")}
    mine = [r for r in rules if r["GroupId"] in ours]
    open_ingress = [r for r in mine if not r["IsEgress"] and r.get("CidrIpv4") in ("0.0.0.0/0",)]
    _require(not open_ingress, f"ingress from the internet: {open_ingress}")
    undescribed = [r["SecurityGroupRuleId"] for r in mine if not r.get("Description")]
    _require(not undescribed, f"rules without a description: {undescribed}")
    aurora = next(i for i, n in ours.items() if n.startswith("secgroup-aurora"))
    aurora_in = [r for r in mine if r["GroupId"] == aurora and not r["IsEgress"]]
    operator = set(config.network.operator_cidrs)
    _require(
        all("ReferencedGroupInfo" in r or r.get("CidrIpv4") in operator for r in aurora_in),
        "Aurora accepts security groups and the operator's network only",
    )
    return f"security group rules ({len(mine)}): none open to the internet, all described, Aurora from groups and the operator"


@check
def network_flows(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    """The flow matrix on the applied network, read back through the API, for the configuration the walk deployed."""
    network = network_from_aws(lambda service: client(endpoint, service), deployed_from_state(state))
    results = check_flows(network, config, phase)
    problems = failures(results)
    _require(not problems, "network flows on the applied stack:\n" + "\n".join(problems))
    decided = [r for r in results if r.verdict is not None]
    return f"network: {len(decided)} flows of the matrix hold on the applied network (describe calls)"


@check
def aurora_settings(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    rds = client(endpoint, "rds")
    (cluster,) = rds.describe_db_clusters()["DBClusters"]
    _require(cluster["Engine"] == "aurora-postgresql", "engine aurora-postgresql")
    _require(cluster["IAMDatabaseAuthenticationEnabled"], "IAM database authentication")
    members = cluster["DBClusterMembers"]
    _require(len(members) >= 2 and sum(m["IsClusterWriter"] for m in members) == 1, "one writer and at least one reader")
    parameters = rds.describe_db_cluster_parameters(DBClusterParameterGroupName=cluster["DBClusterParameterGroup"])["Parameters"]
    values = {p["ParameterName"]: p.get("ParameterValue") for p in parameters}
    _require(values.get("rds.logical_replication") == "1", "rds.logical_replication = 1 (the way back)")
    return "Aurora: engine, IAM auth, writer + readers, logical replication on"


@check
def alarm_actions(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    (topic,) = managed(state, "aws_sns_topic")
    alarms = client(endpoint, "cloudwatch").describe_alarms()
    metric, composite = alarms["MetricAlarms"], alarms["CompositeAlarms"]
    ours = {a["alarm_name"] for a in managed(state, "aws_cloudwatch_metric_alarm")}
    found = [a for a in metric if a["AlarmName"] in ours]
    _require(len(found) == len(ours), f"{len(found)} of {len(ours)} alarms in the emulator")
    _require(
        all(a["AlarmActions"] == [topic["arn"]] and a["OKActions"] == [topic["arn"]] for a in found), "alarms notify the topic"
    )
    blocked = [a for a in composite if a["AlarmName"].startswith("alarm-cutover-blocked")]
    _require(len(blocked) == 1 and blocked[0]["AlarmActions"] == [topic["arn"]], "cutover-blocked notifies the topic")
    return f"{len(found)} alarms and cutover-blocked notify the alarm topic"


@check
def dms_wiring(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    plan = PHASE_PLANS[phase]
    dms = client(endpoint, "dms")
    tasks = {t["MigrationType"]: t for t in dms.describe_replication_tasks()["ReplicationTasks"]}
    endpoints = {e["EndpointArn"]: e for e in dms.describe_endpoints()["Endpoints"]}
    if not plan.replication:
        _require(not tasks and not endpoints, "no DMS task or endpoint once decommissioned")
        return "DMS: nothing left after decommission"
    forward = tasks.get("full-load-and-cdc")
    _require(forward is not None, "the forward task exists")
    assert forward is not None
    source, target = endpoints[forward["SourceEndpointArn"]], endpoints[forward["TargetEndpointArn"]]
    _require((source["EndpointType"].upper(), source["EngineName"]) == ("SOURCE", "postgres"), f"forward source {source}")
    _require(target["EngineName"] == "aurora-postgresql", "forward target is Aurora")
    _require((forward["Status"] == "running") == plan.forward_task.running, f"forward task {forward['Status']} in {phase.value}")
    reverse = tasks.get("cdc")
    _require((reverse is not None) == plan.reverse_task.exists, f"reverse task present = {plan.reverse_task.exists}")
    if reverse is not None:
        _require(endpoints[reverse["SourceEndpointArn"]]["EngineName"] == "aurora-postgresql", "reverse source is Aurora")
        _require(endpoints[reverse["TargetEndpointArn"]]["EngineName"] == "postgres", "reverse target is on-prem")
        _require(reverse.get("CdcStartPosition") == REVERSE_START, "reverse task starts at the recorded LSN")
        _require((reverse["Status"] == "running") == plan.reverse_task.running, f"reverse task {reverse['Status']}")
    return "DMS: endpoints and tasks wired as the phase says (forward/reverse, running or not, start position)"


REVERSE_START = "0/1A2B3C4D"


@check
def listener_weights(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    elbv2 = client(endpoint, "elbv2")
    (lb,) = managed(state, "aws_lb")
    https = [x for x in elbv2.describe_listeners(LoadBalancerArn=lb["arn"])["Listeners"] if x["Protocol"] == "HTTPS"]
    _require(len(https) == 1, "one HTTPS listener")
    _require(https[0]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13"), "TLS 1.3 policy")
    groups = {g["TargetGroupArn"]: g.get("Weight") for g in https[0]["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]}
    colours = {tg["arn"]: tg["tags"]["Colour"] for tg in managed(state, "aws_lb_target_group")}
    weights = {colours[arn]: weight for arn, weight in groups.items()}
    plan = PHASE_PLANS[phase]
    expected = {"blue": plan.blue_weight, "green": plan.green_weight} if plan.blue_targets else {"green": 100}
    _require(weights == expected, f"listener weights {weights}, expected {expected}")
    return "load balancer: TLS 1.3 listener with the phase's blue/green weights"


@check
def ecs_cluster(endpoint: str, phase: MigrationPhase, state: Mapping[str, Any], config: MigrationConfig) -> str:
    ecs = client(endpoint, "ecs")
    (cluster,) = managed(state, "aws_ecs_cluster")
    (described,) = ecs.describe_clusters(clusters=[cluster["arn"]], include=["SETTINGS"])["clusters"]
    settings = {s["name"]: s["value"] for s in described.get("settings", [])}
    _require(settings.get("containerInsights") == "enabled", "Container Insights on")
    _require(set(described.get("capacityProviders", [])) == {"FARGATE", "FARGATE_SPOT"}, "FARGATE and FARGATE_SPOT")
    services = ecs.describe_services(cluster=cluster["arn"], services=[s["name"] for s in managed(state, "aws_ecs_service")])
    green = next(tg["arn"] for tg in managed(state, "aws_lb_target_group") if tg["tags"]["Colour"] == "green")
    for service in services["services"]:
        _require(service["loadBalancers"][0]["targetGroupArn"] == green, "the service is green's target")
    return "ECS: Container Insights, Fargate capacity providers, the service behind green"


def leftovers(endpoint: str) -> dict[str, list[str]]:
    """Every resource type the stack creates, listed from the emulator after destroy (each list must be empty)."""
    found: dict[str, list[str]] = {}
    ec2 = client(endpoint, "ec2")
    found["vpc"] = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    found["s3 buckets"] = [b["Name"] for b in client(endpoint, "s3").list_buckets()["Buckets"]]
    found["rds clusters"] = [c["DBClusterIdentifier"] for c in client(endpoint, "rds").describe_db_clusters()["DBClusters"]]
    found["dms instances"] = [
        i["ReplicationInstanceIdentifier"]
        for i in client(endpoint, "dms").describe_replication_instances()["ReplicationInstances"]
    ]
    found["load balancers"] = [
        lb["LoadBalancerName"] for lb in client(endpoint, "elbv2").describe_load_balancers()["LoadBalancers"]
    ]
    ecs = client(endpoint, "ecs")
    arns = [c for c in ecs.list_clusters()["clusterArns"] if not c.endswith("/default")]
    # A deleted cluster stays visible as INACTIVE for a while (in AWS and in moto): it is gone, not left behind.
    described = ecs.describe_clusters(clusters=arns)["clusters"] if arns else []
    found["ecs clusters"] = [c["clusterArn"] for c in described if c.get("status") != "INACTIVE"]
    return found


__all__ = ["CHECKS", "CheckFailed", "check_phase", "leftovers", "managed"]
