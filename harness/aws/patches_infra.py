"""moto patches for the network, storage, database, compute and monitoring resources of the stack (registered on
import; :mod:`.moto_patches` applies them)."""

from __future__ import annotations

import json
from typing import Any, cast

from harness.aws.patch_registry import patch


@patch("ec2", "VPN connections: static routes (CreateVpnConnectionRoute) and Options (StaticRoutesOnly) are not kept")
def _vpn_routes() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.ec2.models.vpn_connections import VPNConnectionBackend
    from moto.ec2.responses.vpn_connections import VPNConnections

    original = VPNConnections.create_vpn_connection

    def create_vpn_connection(self: Any) -> Any:
        result = original(self)
        options = self._get_param("Options", {}) or {}
        connection = cast(Any, result).result["VpnConnection"] if hasattr(result, "result") else None
        if connection is not None:
            static = str(options.get("StaticRoutesOnly", "false")).lower() == "true"
            connection.options = {"StaticRoutesOnly": static, "TunnelInsideIpVersion": "ipv4"}
            connection.routes = []
        return result

    def create_vpn_connection_route(self: Any) -> Any:
        connection = self.ec2_backend.describe_vpn_connections(vpn_connection_ids=[self._get_param("VpnConnectionId")])[0]
        routes = getattr(connection, "routes", None) or []
        cidr = self._get_param("DestinationCidrBlock")
        if not any(r["DestinationCidrBlock"] == cidr for r in routes):
            routes.append({"DestinationCidrBlock": cidr, "Source": "Static", "State": "available"})
        connection.routes = routes
        return EmptyResult()

    def delete_vpn_connection_route(self: Any) -> Any:
        connection = self.ec2_backend.describe_vpn_connections(vpn_connection_ids=[self._get_param("VpnConnectionId")])[0]
        cidr = self._get_param("DestinationCidrBlock")
        connection.routes = [r for r in (getattr(connection, "routes", None) or []) if r["DestinationCidrBlock"] != cidr]
        return EmptyResult()

    from moto.ec2.models.vpn_connections import VPNConnection

    original_filter = VPNConnection.get_filter_value

    def get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "route.destination-cidr-block":
            return [r["DestinationCidrBlock"] for r in getattr(self, "routes", None) or []]
        if filter_name == "vpn-connection-id":
            return self.id
        return original_filter(self, filter_name, method_name)

    VPNConnection.get_filter_value = get_filter_value  # type: ignore[method-assign]
    VPNConnections.create_vpn_connection = create_vpn_connection  # type: ignore[method-assign]
    VPNConnections.create_vpn_connection_route = create_vpn_connection_route  # type: ignore[attr-defined]
    VPNConnections.delete_vpn_connection_route = delete_vpn_connection_route  # type: ignore[attr-defined]
    del ActionResult, VPNConnectionBackend


@patch(
    "ec2",
    "Transit Gateway: a VPC route to a gateway the VPC has no attachment to is accepted (AWS refuses it), a static "
    "gateway route's attachment is not listed by SearchTransitGatewayRoutes, and a VPC attachment's TagSpecifications "
    "are read under the route table's resource type (its tags lost); a deleted VPC attachment vanishes at once (AWS "
    "describes it as `deleted` for a while, and the provider's delete waits for that state: 'couldn't find resource')",
)
def _transit_gateway() -> None:
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.route_tables import RouteBackend
    from moto.ec2.models.transit_gateway_route_tables import TransitGatewayRouteTableBackend

    original_route = RouteBackend.create_route
    original_tgw_route = TransitGatewayRouteTableBackend.create_transit_gateway_route

    def create_route(self: Any, route_table_id: str, *args: Any, **kwargs: Any) -> Any:
        gateway = kwargs.get("transit_gateway_id")
        if gateway:
            vpc = self.get_route_table(route_table_id).vpc_id
            attached = any(
                a.resource_type == "vpc" and a.resource_id == vpc and a.transit_gateway_id == gateway
                for a in self.transit_gateway_attachments.values()
                if getattr(a, "state", "available") == "available"
            )
            if not attached:
                raise EC2ClientError(
                    "InvalidParameterValue",
                    f"route table {route_table_id} and network gateway {gateway} belong to different networks",
                )
        return original_route(self, route_table_id, *args, **kwargs)

    def create_transit_gateway_route(self: Any, *args: Any, **kwargs: Any) -> Any:
        route = original_tgw_route(self, *args, **kwargs)
        if isinstance(route.get("transitGatewayAttachments"), dict):
            route["transitGatewayAttachments"] = [route["transitGatewayAttachments"]]  # type: ignore[assignment]
        return route

    def create_vpc_attachment(self: Any) -> Any:
        from moto.core.responses import ActionResult

        tags = self._parse_tag_specification().get("transit-gateway-attachment", {})
        attachment = self.ec2_backend.create_transit_gateway_vpc_attachment(
            transit_gateway_id=self._get_param("TransitGatewayId"),
            tags=tags,
            vpc_id=self._get_param("VpcId"),
            subnet_ids=self._get_param("SubnetIds", []),
            options=self._get_param("Options", {}),
        )
        return ActionResult({"TransitGatewayVpcAttachment": attachment})

    from moto.ec2.models.transit_gateway_attachments import TransitGatewayAttachmentBackend
    from moto.ec2.responses.transit_gateway_attachments import TransitGatewayAttachment

    original_delete = TransitGatewayAttachmentBackend.delete_transit_gateway_vpc_attachment
    original_create = TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment

    def create_backend_attachment(self: Any, *, transit_gateway_id: str, vpc_id: str, **kwargs: Any) -> Any:
        for key, a in list(self.transit_gateway_attachments.items()):  # a deleted one does not block re-attaching
            if a.state == "deleted" and a.transit_gateway_id == transit_gateway_id and a.resource_id == vpc_id:
                del self.transit_gateway_attachments[key]
        return original_create(self, transit_gateway_id=transit_gateway_id, vpc_id=vpc_id, **kwargs)

    def delete_vpc_attachment(self: Any, transit_gateway_attachment_id: str) -> Any:
        attachment = original_delete(self, transit_gateway_attachment_id)
        attachment.state = "deleted"
        self.transit_gateway_attachments[transit_gateway_attachment_id] = attachment
        return attachment

    TransitGatewayAttachmentBackend.delete_transit_gateway_vpc_attachment = delete_vpc_attachment  # type: ignore[method-assign]
    TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment = create_backend_attachment  # type: ignore[method-assign,assignment]
    TransitGatewayAttachment.create_transit_gateway_vpc_attachment = create_vpc_attachment  # type: ignore[method-assign]
    RouteBackend.create_route = create_route  # type: ignore[method-assign]
    TransitGatewayRouteTableBackend.create_transit_gateway_route = create_transit_gateway_route  # type: ignore[method-assign]


@patch("s3", "lifecycle rule filters lose ObjectSizeGreaterThan / ObjectSizeLessThan (the provider then waits forever)")
def _lifecycle_object_size() -> None:
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    original_put = S3Backend.put_bucket_lifecycle_configuration
    original_get = S3Response.get_bucket_lifecycle

    def put_bucket_lifecycle_configuration(self: Any, bucket_name: str, rules: list[dict[str, Any]]) -> None:
        original_put(self, bucket_name, rules)
        sizes = {}
        for rule in rules:
            flt = rule.get("Filter") or {}
            found = {k: int(flt[k]) for k in ("ObjectSizeGreaterThan", "ObjectSizeLessThan") if k in flt}
            if found:
                sizes[rule.get("ID")] = found
        self.get_bucket(bucket_name).lifecycle_object_sizes = sizes

    def get_bucket_lifecycle(self: Any) -> Any:
        sizes = getattr(self.backend.get_bucket(self.bucket_name), "lifecycle_object_sizes", {})
        serialized = self.serialized

        def with_sizes(result: Any) -> Any:
            rules = result.result.get("Rules", []) if isinstance(result.result, dict) else []
            for rule in rules:
                if rule["ID"] in sizes:
                    rule["Filter"] = {**{k: v for k, v in rule.get("Filter", {}).items() if v}, **sizes[rule["ID"]]}
            return serialized(result)

        self.serialized = with_sizes
        return original_get(self)

    S3Backend.put_bucket_lifecycle_configuration = put_bucket_lifecycle_configuration  # type: ignore[method-assign]
    S3Response.get_bucket_lifecycle = get_bucket_lifecycle  # type: ignore[method-assign]


@patch(
    "s3",
    "PutBucketLogging only recognises a bucket-policy grant whose Resource is a string, and fails on a Principal of '*'",
)
def _logging_policy_lists() -> None:
    from moto.s3.models import FakeBucket

    original = FakeBucket._log_permissions_enabled_policy

    def enabled(target_bucket: Any, target_prefix: str | None) -> bool:
        policy = target_bucket.policy
        if policy:
            document = json.loads(policy.decode())
            for stmt in document["Statement"]:
                if not isinstance(stmt.get("Principal"), dict):
                    continue  # "*" (a deny-all statement) grants the logging service nothing
                resources = stmt.get("Resource")
                for resource in resources if isinstance(resources, list) else [resources]:
                    single = {**stmt, "Resource": resource}
                    target_bucket.policy = json.dumps({"Statement": [single]}).encode()
                    try:
                        if original(target_bucket, target_prefix):
                            return True
                    finally:
                        target_bucket.policy = policy
        return False

    FakeBucket._log_permissions_enabled_policy = staticmethod(enabled)  # type: ignore[method-assign]


@patch(
    "all",
    "the server answers requests on parallel threads while its backends read, change and write back their state "
    "without locks: Terraform's parallel requests lost a security group rule and an ELBv2 target group (each failed "
    "CI's deploy rehearsal at its destroy). Every request is served under one lock, one at a time",
)
def _one_request_at_a_time() -> None:
    import threading

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if hasattr(DomainDispatcherApplication, "request_lock"):
        return
    lock = threading.RLock()
    original = DomainDispatcherApplication.__call__

    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET")
        status: list[str] = []

        def recording(code: str, headers: Any, *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        with lock:
            response = original(self, environ, recording if target else start_response)
            try:
                body = b"".join(response)  # the body too is produced under the lock
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()
        if target:
            _journal(target, status[0] if status else "?", body)
        return [body]

    DomainDispatcherApplication.request_lock = lock  # type: ignore[attr-defined]
    DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign]


def _journal(target: str, status: str, body: bytes) -> None:
    """One line per JSON-protocol request in the emulator's log (werkzeug's own line names no action): the action, its
    status and, for an error, AWS's code and message, so a failed rehearsal's log says which call failed and why."""
    import sys

    line = f"emulator: {target} {status.split(' ', 1)[0]}"
    if not status.startswith("2"):
        line += f" {body[:300].decode('utf-8', 'replace')}"
    print(line, file=sys.stderr, flush=True)


@patch(
    "ec2",
    "security group rules that reference a group or a prefix list lose their Description in DescribeSecurityGroupRules",
)
def _rule_descriptions() -> None:
    from moto.ec2.models.security_groups import SecurityGroupRule

    original_init = SecurityGroupRule.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        prefix_list = kwargs.get("prefix_list_id") or (args[7] if len(args) > 7 else None)
        self._prefix_list_description = prefix_list.get("Description") if isinstance(prefix_list, dict) else None

    def description(self: Any) -> str | None:
        return (
            self.ip_range.get("Description")
            or (self.source_group or {}).get("Description")
            or getattr(self, "_prefix_list_description", None)
        )

    if not getattr(SecurityGroupRule.__init__, "_patched", False):
        init._patched = True  # type: ignore[attr-defined]
        SecurityGroupRule.__init__ = init  # type: ignore[method-assign]
    SecurityGroupRule.description = property(description)  # type: ignore[method-assign,assignment]


@patch(
    "rds",
    "cluster instances drop their Performance Insights settings and default to CA rds-ca-default (AWS: "
    "rds-ca-rsa2048-g1, so the provider modifies and reboots each instance); provisioned clusters report a serverless "
    "ScalingConfigurationInfo",
)
def _rds() -> None:
    from moto.rds.models import DBCluster, DBInstance

    insights = {
        "enable_performance_insights": "performance_insights_enabled",
        "performance_insights_kms_key_id": "performance_insights_kms_key_id",
        "performance_insights_retention_period": "performance_insights_retention_period",
    }
    original_init = DBInstance.__init__
    original_update = DBInstance.update

    def init(self: Any, **kwargs: Any) -> None:
        kwargs.setdefault("ca_certificate_identifier", "rds-ca-rsa2048-g1")
        original_init(self, **kwargs)
        for key, attribute in insights.items():
            if key in kwargs:
                self.__dict__[attribute] = kwargs[key]

    def update(self: Any, **kwargs: Any) -> None:
        for key, attribute in insights.items():
            if key in kwargs:
                self.__dict__[attribute] = kwargs.pop(key)
        original_update(self, **kwargs)

    def scaling_configuration_info(self: Any) -> dict[str, Any] | None:
        if self.engine_mode != "serverless":
            return None
        configuration = self.scaling_configuration or {}
        return {
            "MinCapacity": configuration.get("min_capacity"),
            "MaxCapacity": configuration.get("max_capacity"),
            "AutoPause": configuration.get("auto_pause"),
            "SecondsUntilAutoPause": configuration.get("seconds_until_auto_pause"),
            "TimeoutAction": configuration.get("timeout_action"),
            "SecondsBeforeTimeout": configuration.get("seconds_before_timeout"),
        }

    DBInstance.__init__ = init  # type: ignore[method-assign,assignment]
    DBInstance.update = update  # type: ignore[method-assign,assignment]
    DBCluster.scaling_configuration_info = property(scaling_configuration_info)  # type: ignore[method-assign,assignment]


@patch(
    "ecs",
    "services drop capacityProviderStrategy (and report launchType EC2), the deployment circuit breaker, the health "
    "check grace period and enableECSManagedTags",
)
def _ecs_service() -> None:
    from botocore import xform_name
    from moto.ecs.responses import EC2ContainerServiceResponse

    kept = (
        "capacityProviderStrategy",
        "deploymentConfiguration",
        "healthCheckGracePeriodSeconds",
        "enableECSManagedTags",
        "enableExecuteCommand",
        "availabilityZoneRebalancing",
    )
    original_create = EC2ContainerServiceResponse.create_service
    original_update = EC2ContainerServiceResponse.update_service

    def keep(self: Any, service: Any) -> None:
        body = json.loads(self.body)
        for key in kept:
            if key in body:
                service.__dict__[xform_name(key)] = body[key]
        if body.get("capacityProviderStrategy"):
            service.__dict__["launch_type"] = None

    def create_service(self: Any) -> Any:
        result = original_create(self)
        keep(self, cast(Any, result).result["service"])
        return result

    def update_service(self: Any) -> Any:
        result = original_update(self)
        keep(self, cast(Any, result).result["service"])
        return result

    EC2ContainerServiceResponse.create_service = create_service  # type: ignore[method-assign]
    EC2ContainerServiceResponse.update_service = update_service  # type: ignore[method-assign]


@patch("cloudwatch", "PutCompositeAlarm is not routed (the backend already stores alarm rules)")
def _composite_alarm() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse

    CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm  # type: ignore[attr-defined]


@patch("elbv2", "a load balancer created without Scheme is stored with none; AWS makes it internet-facing")
def _elbv2_scheme() -> None:
    from moto.elbv2.models import ELBv2Backend

    original = ELBv2Backend.create_load_balancer

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("scheme") is None:
            kwargs["scheme"] = "internet-facing"
        return original(self, *args, **kwargs)

    ELBv2Backend.create_load_balancer = create  # type: ignore[method-assign]


@patch(
    "route53resolver",
    "CreateResolverRule/CreateResolverEndpoint refuse a retried CreatorRequestId (ResourceExistsException); AWS treats it "
    "as an idempotency token and returns what the first request created (a slow answer the SDK retried failed a deploy)",
)
def _resolver_idempotency() -> None:
    from moto.route53resolver.models import Route53ResolverBackend

    for name, store in (("create_resolver_rule", "resolver_rules"), ("create_resolver_endpoint", "resolver_endpoints")):
        original = getattr(Route53ResolverBackend, name)

        def create(
            self: Any, region: str, creator_request_id: str, *args: Any, _o: Any = original, _s: str = store, **kwargs: Any
        ) -> Any:
            for existing in getattr(self, _s).values():
                if existing.region == region and existing.creator_request_id == creator_request_id:
                    return existing
            return _o(self, region, creator_request_id, *args, **kwargs)

        setattr(Route53ResolverBackend, name, create)
