"""The load balancer's side of a switch (the databases' side is :mod:`.freeze`).

**Weights**: the HTTPS listener forwards to blue and green with weights; :func:`set_weights` writes exactly the action
the stack declares for a phase (forward, both target groups, stickiness off), so the next ``cdktf deploy`` of that
phase plans no change to the listener.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import psycopg

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.errors import UsageError


def existing_roles(conn: psycopg.Connection, roles: Sequence[str]) -> list[str]:
    found = {r[0] for r in query(conn, "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(roles),))}
    missing = [r for r in roles if r not in found]
    if missing:
        raise UsageError(f"application role(s) not found: {', '.join(missing)}")
    return list(roles)


# --------------------------------------------------------------------------------------------- load balancer


@dataclasses.dataclass(frozen=True, kw_only=True)
class Listener:
    """The blue-green listener (``terraform output``: https_listener_arn, blue/green_target_group_arn)."""

    listener_arn: str
    blue_target_group_arn: str
    green_target_group_arn: str


def forward_action(listener: Listener, blue_weight: int, green_weight: int) -> dict[str, Any]:
    """The listener's default action as the stack declares it for these weights."""
    return {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": listener.blue_target_group_arn, "Weight": blue_weight},
                {"TargetGroupArn": listener.green_target_group_arn, "Weight": green_weight},
            ],
            "TargetGroupStickinessConfig": {"Enabled": False, "DurationSeconds": 1},
        },
    }


def weights(elbv2: Any, listener: Listener) -> dict[str, int]:
    """Current weights by colour."""
    described = elbv2.describe_listeners(ListenerArns=[listener.listener_arn])["Listeners"][0]
    action = described["DefaultActions"][0]
    by_arn = {g["TargetGroupArn"]: int(g.get("Weight", 0)) for g in action.get("ForwardConfig", {}).get("TargetGroups", [])}
    return {
        "blue": by_arn.get(listener.blue_target_group_arn, 0),
        "green": by_arn.get(listener.green_target_group_arn, 0),
    }


def set_weights(elbv2: Any, listener: Listener, blue_weight: int, green_weight: int) -> None:
    """Send all traffic to one colour (idempotent)."""
    if weights(elbv2, listener) == {"blue": blue_weight, "green": green_weight}:
        return
    elbv2.modify_listener(ListenerArn=listener.listener_arn, DefaultActions=[forward_action(listener, blue_weight, green_weight)])
