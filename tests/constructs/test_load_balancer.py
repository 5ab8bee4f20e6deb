"""The load balancer half of the application construct (constructs/load_balancer.py) in a fresh stack."""

from __future__ import annotations

from typing import Any

from tests.conftest import one, resources_of, synth_of
from tests.constructs.build import CERT, ref
from tests.constructs.test_application import app_log_group_names, application


def test_load_balancer_listeners_and_target_groups(construct_stack: Any) -> None:
    app = application(construct_stack, blue_weight=100, green_weight=0, blue_port=8081)
    synth = synth_of(construct_stack)
    lb = one(synth, "aws_lb")
    assert lb["name"] == "alb-app-dev-t1" and lb["internal"] is False and lb["subnets"] == ["pub-1", "pub-2"]
    assert lb["drop_invalid_header_fields"] is True and lb["enable_deletion_protection"] is False
    assert lb["access_logs"] == {"bucket": "s3-access-logs-dev-t1", "prefix": "alb", "enabled": True}
    listeners = {x["protocol"]: x for x in resources_of(synth, "aws_lb_listener")}
    https, http = listeners["HTTPS"], listeners["HTTP"]
    assert https["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06" and https["certificate_arn"] == CERT
    assert http["default_action"] == [
        {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}
    ]
    (forward,) = https["default_action"]
    assert forward["forward"]["target_group"] == [
        {"arn": ref(construct_stack, app.blue, "arn"), "weight": 100},
        {"arn": ref(construct_stack, app.green, "arn"), "weight": 0},
    ]
    assert forward["forward"]["stickiness"] == {"enabled": False, "duration": 1}
    groups = {g["tags"]["Colour"]: g for g in resources_of(synth, "aws_lb_target_group")}
    assert {c: (g["target_type"], g["port"], g["name"]) for c, g in groups.items()} == {
        "blue": ("ip", 8081, "tg-blue-dev-t1"),
        "green": ("ip", 8080, "tg-green-dev-t1"),
    }
    assert all(g["health_check"]["path"] == "/health" for g in groups.values())
    targets = resources_of(synth, "aws_lb_target_group_attachment")
    assert sorted((t["target_id"], t["availability_zone"], t["port"]) for t in targets) == [
        ("192.168.10.11", "all", 8081),
        ("192.168.10.12", "all", 8081),
    ]
    rule = one(synth, "aws_lb_listener_rule")
    assert rule["condition"] == [{"http_header": {"http_header_name": "X-Migration-Target", "values": ["green"]}}]
    assert rule["action"] == [{"type": "forward", "target_group_arn": ref(construct_stack, app.green, "arn")}]


def test_waf_in_front_of_the_load_balancer(construct_stack: Any) -> None:
    from inventory_migration.constructs.load_balancer import WAF_MANAGED_RULE_GROUPS

    app = application(construct_stack)
    synth = synth_of(construct_stack)
    acl = one(synth, "aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL" and acl["default_action"] == {"allow": {}}
    assert [r["statement"][0]["managed_rule_group_statement"][0]["name"] for r in acl["rule"]] == list(WAF_MANAGED_RULE_GROUPS)
    assert one(synth, "aws_wafv2_web_acl_association")["resource_arn"] == ref(construct_stack, app.load_balancer, "arn")
    logging = one(synth, "aws_wafv2_web_acl_logging_configuration")
    assert logging["log_destination_configs"] == [ref(construct_stack, app.waf_log_group, "arn")]
    assert app_log_group_names(synth) >= {"aws-waf-logs-app-dev-t1"}


def test_decommissioned_blue_leaves_green_alone(construct_stack: Any) -> None:
    app = application(construct_stack, blue_registered=False, blue_weight=0, green_weight=100, deletion_protection=True)
    synth = synth_of(construct_stack)
    assert app.blue is None and "aws_lb_target_group_attachment" not in synth["resource"]
    https = next(x for x in resources_of(synth, "aws_lb_listener") if x["protocol"] == "HTTPS")
    assert https["default_action"][0]["forward"]["target_group"] == [
        {"arn": ref(construct_stack, app.green, "arn"), "weight": 100}
    ]
    assert one(synth, "aws_lb")["enable_deletion_protection"] is True
