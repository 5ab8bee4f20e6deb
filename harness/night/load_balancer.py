"""The night's load balancer on the emulator: the weighted blue/green HTTPS listener, the cutover-blocked composite
alarm and the alarm topic, created with boto3 as the stack declares them and returned as the stack's outputs."""

from __future__ import annotations

from harness.aws.clients import REGION, client, import_certificate
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.cutover import switch as switch_mod

ENVIRONMENT = "rehearsal"
SUFFIX = "night"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def create_load_balancer(endpoint: str, suffix: str = SUFFIX) -> dict[StackOutput, str]:
    """A VPC, the weighted blue/green HTTPS listener (all traffic on blue), the cutover-blocked composite alarm and the
    alarm topic, named as the stack names them (``suffix``: another set on the same emulator); returns them as stack
    outputs."""
    ec2, elbv2 = client(endpoint, "ec2"), client(endpoint, "elbv2")
    name = f"{ENVIRONMENT}-{suffix}"
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab")
    ]
    group = ec2.create_security_group(GroupName=f"sg-alb-{name}", Description="rehearsal load balancer", VpcId=vpc)["GroupId"]
    alb = elbv2.create_load_balancer(Name=f"alb-app-{name}", Subnets=subnets, SecurityGroups=[group], Scheme="internal")
    alb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"]
    groups = {
        colour: elbv2.create_target_group(Name=f"tg-{colour}-{name}", Protocol="HTTPS", Port=443, VpcId=vpc, TargetType="ip")[
            "TargetGroups"
        ][0]["TargetGroupArn"]
        for colour in ("blue", "green")
    }
    placeholder = switch_mod.Listener(
        listener_arn="", blue_target_group_arn=groups["blue"], green_target_group_arn=groups["green"]
    )
    listener = elbv2.create_listener(
        LoadBalancerArn=alb_arn,
        Protocol="HTTPS",
        Port=443,
        SslPolicy=TLS_POLICY,
        Certificates=[{"CertificateArn": import_certificate(endpoint)}],
        DefaultActions=[switch_mod.forward_action(placeholder, 100, 0)],
    )["Listeners"][0]["ListenerArn"]
    topic = client(endpoint, "sns").create_topic(Name=f"sns-alarms-{name}")["TopicArn"]
    alarm = f"alarm-cutover-blocked-{name}"
    cloudwatch = client(endpoint, "cloudwatch")
    cloudwatch.put_composite_alarm(AlarmName=alarm, AlarmRule="FALSE", AlarmActions=[topic])
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="rehearsal: nothing blocks")
    return {
        StackOutput.HTTPS_LISTENER_ARN: listener,
        StackOutput.BLUE_TARGET_GROUP_ARN: groups["blue"],
        StackOutput.GREEN_TARGET_GROUP_ARN: groups["green"],
        StackOutput.CUTOVER_BLOCKED_ALARM_NAME: alarm,
        StackOutput.ALARM_TOPIC_ARN: topic,
    }
