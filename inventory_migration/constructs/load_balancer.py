"""The weighted load balancer in front of blue and green: the Application Load Balancer (HTTPS with TLS 1.3, HTTP
redirected, invalid header fields dropped, access logs), the blue target group (the on-prem servers as IP targets over
the VPN) and the green one (the Fargate tasks), the HTTPS listener's weighted forward and the testers' header rule, and
the WAF web ACL with AWS's managed rule groups.

A part of :class:`~inventory_migration.constructs.application.BlueGreenApplication`: its resources are the application
construct's children (their ids, and so their Terraform addresses, are those of one construct).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inventory_migration.config import ApplicationConfig
from inventory_migration.config.application import TESTER_HEADER
from inventory_migration.synth.cdk import Construct, TerraformResourceLifecycle, aws
from inventory_migration.synth.naming import ResourceType
from inventory_migration.synth.rendering import override
from inventory_migration.synth.tagging import name_tag

if TYPE_CHECKING:
    from inventory_migration.constructs.application import BlueGreenApplicationWiring


SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 (and 1.2 for older clients): the ELB policy AWS recommends for HTTPS listeners."""

TESTER_RULE_PRIORITY = 10

HEALTHY_HTTP_CODES = "200-399"

WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
"""AWS managed rule groups in front of the load balancer: the core OWASP-style set, known bad inputs (Log4Shell and
friends) and Amazon's IP reputation list. Each runs with its own actions (``override_action { none }``)."""


class WeightedLoadBalancer(Construct):
    """The load balancer half of the application construct (a mixin: the construct that inherits it is the scope)."""

    settings: ApplicationConfig
    wiring: BlueGreenApplicationWiring
    blue_targets: tuple[str, ...]
    green: aws.lb_target_group.LbTargetGroup
    blue: aws.lb_target_group.LbTargetGroup | None

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

    # ------------------------------------------------------------------------------------------ for others

    @property
    def green_target_group_arn_suffix(self) -> str:
        return str(self.green.arn_suffix)

    @property
    def load_balancer_arn_suffix(self) -> str:
        return str(self.load_balancer.arn_suffix)
