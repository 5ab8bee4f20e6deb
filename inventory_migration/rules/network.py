"""Network exposure: no security group open to the internet, every rule described."""

from __future__ import annotations

import ipaddress

from inventory_migration.rules.core import NA, OK, Finding, Resource, RuleContext, bad

OPEN_CIDRS = ("0.0.0.0/0", "::/0")


def rule_no_open_ingress(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """No security group accepts traffic from the whole internet."""
    if resource_type == "aws_vpc_security_group_ingress_rule":
        cidr = config.get("cidr_ipv4") or config.get("cidr_ipv6")
        if cidr and ipaddress.ip_network(cidr).prefixlen == 0:
            return bad(f"ingress from {cidr}")
        return OK
    if resource_type in ("aws_security_group", "aws_default_security_group"):
        for rule in config.get("ingress", []) or []:
            cidrs = [*(rule.get("cidr_blocks") or []), *(rule.get("ipv6_cidr_blocks") or [])]
            if any(c in OPEN_CIDRS for c in cidrs):
                return bad("inline ingress from the internet")
        return OK
    return NA


def rule_rules_described(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """Every security group rule says why it exists."""
    if resource_type in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
        return OK if str(config.get("description", "")).strip() else bad("rule without description")
    return NA
