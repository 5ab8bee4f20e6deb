"""The harness's moto patches: applied, and each closing the gap it names."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.wide  # the rehearsals' machinery, not the product: make check runs it


def test_every_patch_names_its_service_and_gap() -> None:
    from harness.aws.moto_patches import apply_patches
    from harness.aws.patch_registry import PATCHES

    apply_patches()
    assert PATCHES and all(p.service and len(p.gap) > 20 for p in PATCHES)


def test_a_request_waits_while_another_is_served() -> None:
    """Terraform sends requests in parallel; moto's backends change their state without locks (a lost security group
    rule, then a lost ELBv2 target group, failed CI's deploy rehearsal at its destroy). A request now waits while
    another holds the server's lock, and is answered once it is released."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    apply_patches()  # applying twice wraps once
    client = Client(DomainDispatcherApplication(create_backend_app))
    lock = DomainDispatcherApplication.request_lock  # type: ignore[attr-defined]
    answered: list[int] = []
    finished = threading.Event()

    def request() -> None:
        answered.append(client.get("/moto-api/data.json").status_code)
        finished.set()

    with lock:
        thread = threading.Thread(target=request)
        thread.start()
        assert not finished.wait(0.3), "a request was served while another held the lock"
    assert finished.wait(10)
    thread.join()
    assert answered == [200]


def test_a_retried_resolver_rule_request_returns_the_rule_the_first_one_created() -> None:
    """CreatorRequestId is AWS's idempotency token: the SDK's retry of a slow CreateResolverRule (CI's deploy rehearsal,
    under load) must get the first rule back, not ResourceExistsException."""
    import boto3
    from moto import mock_aws

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    with mock_aws():
        resolver = boto3.client("route53resolver", region_name="us-east-1")
        first, again = (
            resolver.create_resolver_rule(CreatorRequestId="tf-r53-1", RuleType="SYSTEM", DomainName="example.com")
            for _ in range(2)
        )
        assert first["ResolverRule"]["Id"] == again["ResolverRule"]["Id"]


def _create_subnet_group(account_roles: str) -> str:
    """Create a DMS subnet group in a fresh emulator where ``account_roles`` is none, role (no policy) or both."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        if account_roles in ("role", "both"):
            iam.create_role(RoleName="dms-vpc-role", AssumeRolePolicyDocument="{}")
        if account_roles == "both":
            policy = "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"
            iam.attach_role_policy(RoleName="dms-vpc-role", PolicyArn=policy)
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in range(2)]
        try:
            boto3.client("dms", region_name="us-east-1").create_replication_subnet_group(
                ReplicationSubnetGroupIdentifier="g", ReplicationSubnetGroupDescription="g", SubnetIds=subnets
            )
        except ClientError as error:
            return f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"
        return "created"


def test_a_dms_subnet_group_waits_for_dms_vpc_role_and_its_policy() -> None:
    """AWS refuses a subnet group until dms-vpc-role has AmazonDMSVPCManagementRole (the provider's known race); the
    emulator now does too, so every rehearsed first deploy proves the stack orders them."""
    assert _create_subnet_group("none").startswith("AccessDeniedFault: The IAM Role")
    assert "dms-vpc-role is not configured properly" in _create_subnet_group("role")
    assert _create_subnet_group("both") == "created"


def test_a_route_to_a_transit_gateway_waits_for_the_vpcs_attachment_and_a_static_route_names_its_attachment() -> None:
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        tgw = ec2.create_transit_gateway()["TransitGateway"]
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        route = {"RouteTableId": table, "DestinationCidrBlock": "192.168.0.0/16", "TransitGatewayId": tgw["TransitGatewayId"]}
        with pytest.raises(ClientError, match="belong to different networks"):
            ec2.create_route(**route)
        tags = [{"ResourceType": "transit-gateway-attachment", "Tags": [{"Key": "Name", "Value": "tgw-attach-dev"}]}]
        attachment = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw["TransitGatewayId"], VpcId=vpc, SubnetIds=[subnet], TagSpecifications=tags
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        (described,) = ec2.describe_transit_gateway_vpc_attachments(TransitGatewayAttachmentIds=[attachment])[
            "TransitGatewayVpcAttachments"
        ]
        assert described["Tags"] == [{"Key": "Name", "Value": "tgw-attach-dev"}]
        assert ec2.create_route(**route)["Return"]
        rtb = tgw["Options"]["AssociationDefaultRouteTableId"]
        ec2.create_transit_gateway_route(
            DestinationCidrBlock="172.20.0.0/16", TransitGatewayRouteTableId=rtb, TransitGatewayAttachmentId=attachment
        )
        (found,) = ec2.search_transit_gateway_routes(
            TransitGatewayRouteTableId=rtb, Filters=[{"Name": "state", "Values": ["active"]}]
        )["Routes"]
        assert found["TransitGatewayAttachments"][0]["ResourceType"] == "vpc"
        ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment)
        (gone,) = ec2.describe_transit_gateway_vpc_attachments(TransitGatewayAttachmentIds=[attachment])[
            "TransitGatewayVpcAttachments"
        ]
        assert gone["State"] == "deleted"
        again = ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw["TransitGatewayId"], VpcId=vpc, SubnetIds=[subnet])
        assert again["TransitGatewayVpcAttachment"]["State"] == "available"


def test_a_prefix_list_rule_keeps_its_description() -> None:
    """Was: moto dropped it, so the re-plan after the first apply wanted to set it again (the app's rule to S3)."""
    import boto3
    from moto import mock_aws

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        group = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]
        permission = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
        prefix = {"PrefixListId": "pl-63a5400a", "Description": "to S3"}
        ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[{**permission, "PrefixListIds": [prefix]}])
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
        assert [r.get("Description") for r in rules if r.get("PrefixListId")] == ["to S3"]


def test_stopping_a_task_that_is_not_running_gets_the_answer_the_provider_treats_as_stopped() -> None:
    """The provider's delete stops a task its state says is running and treats AWS's "is currently not running" as
    already stopped; moto said "is not running", so a stop that had already happened (CI's deploy rehearsal, destroying
    the reverse task) failed the apply."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    with mock_aws():
        dms = boto3.client("dms", region_name="us-east-1")
        arn = dms.create_replication_task(
            ReplicationTaskIdentifier="t",
            SourceEndpointArn="arn:aws:dms:us-east-1:123456789012:endpoint:S",
            TargetEndpointArn="arn:aws:dms:us-east-1:123456789012:endpoint:T",
            ReplicationInstanceArn="arn:aws:dms:us-east-1:123456789012:rep:R",
            MigrationType="cdc",
            TableMappings="{}",
        )["ReplicationTask"]["ReplicationTaskArn"]
        dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
        assert dms.stop_replication_task(ReplicationTaskArn=arn)["ReplicationTask"]["Status"] == "stopped"
        with pytest.raises(ClientError) as again:
            dms.stop_replication_task(ReplicationTaskArn=arn)
        assert again.value.response["Error"]["Code"] == "InvalidResourceStateFault"
        assert "is currently not running" in again.value.response["Error"]["Message"]


def test_the_emulator_log_names_each_json_call_and_an_error_s_code() -> None:
    """werkzeug's own line is ``POST / 400``; the journal line says which action failed and AWS's answer."""
    import contextlib
    import io

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    client = Client(DomainDispatcherApplication(create_backend_app))
    headers = {
        "X-Amz-Target": "AmazonDMSv20160101.StopReplicationTask",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/dms/aws4_request, SignedHeaders=host, Signature=0",
    }
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        client.post("/", data='{"ReplicationTaskArn": "arn:aws:dms:us-east-1:123456789012:task:NONE"}', headers=headers)
    line = err.getvalue()
    assert "emulator: AmazonDMSv20160101.StopReplicationTask 4" in line
    assert "ResourceNotFoundFault" in line
