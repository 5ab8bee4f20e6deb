"""Least privilege: role policies allow named actions only."""

from __future__ import annotations

import json

from inventory_migration.rules.core import NA, OK, Finding, Resource, RuleContext, bad


def rule_no_wildcard_actions(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """Role policies allow named actions only: no ``*`` in an Allow statement's actions."""
    if resource_type != "aws_iam_role_policy":
        return NA
    try:
        document = json.loads(config["policy"])
    except (KeyError, TypeError, ValueError):
        return bad("policy is not a JSON document")
    for stmt in document.get("Statement", []):
        actions = stmt.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        wild = [a for a in actions if "*" in a]
        if stmt.get("Effect") == "Allow" and wild:
            return bad(f"statement {stmt.get('Sid', '?')} allows wildcard actions {', '.join(wild)}")
    return OK
