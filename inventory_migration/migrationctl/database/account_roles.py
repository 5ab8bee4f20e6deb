"""The account-level roles DMS looks up by name (``dms-vpc-role``, ``dms-cloudwatch-logs-role``), against what the
environment will do with them (``dms.create_account_roles``) — before the first apply, which otherwise fails partway:
``EntityAlreadyExists`` when the stack creates a role the account already has, "dms-vpc-role is not configured
properly" when neither creates it.

Asked of IAM: ``GetRole`` per name and ``ListAttachedRolePolicies`` for the managed policy DMS needs.
"""

from __future__ import annotations

from typing import Any

from inventory_migration.migrationctl.database.preflight import Finding, Severity
from inventory_migration.synth.naming import DMS_ACCOUNT_ROLES

CHECK = "DMS account roles"


def check_account_roles(iam: Any, *, create: bool, partition: str = "aws") -> list[Finding]:
    """One finding per role: a blocker when the environment and the account disagree, else info."""
    out = []
    for name, policy in DMS_ACCOUNT_ROLES.items():
        try:
            iam.get_role(RoleName=name)
            exists = True
        except iam.exceptions.NoSuchEntityException:
            exists = False
        if exists and create:
            out.append(
                Finding(
                    Severity.BLOCKER,
                    CHECK,
                    f"{name} already exists in the account and dms.create_account_roles = true: the apply would fail "
                    "(EntityAlreadyExists); set it to false, or import the role (docs/state-migration.md)",
                )
            )
            continue
        if not exists and not create:
            out.append(
                Finding(
                    Severity.BLOCKER,
                    CHECK,
                    f"{name} is missing and dms.create_account_roles = false: DMS cannot create its subnet group; set it "
                    "to true (the stack creates the role)",
                )
            )
            continue
        if exists:
            arn = f"arn:{partition}:iam::aws:policy/service-role/{policy}"
            attached = {
                p["PolicyArn"]
                for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                for p in page["AttachedPolicies"]
            }
            if arn not in attached:
                out.append(Finding(Severity.BLOCKER, CHECK, f"{name} exists without {policy}: attach {arn}"))
                continue
        out.append(
            Finding(Severity.INFO, CHECK, f"{name}: {'exists, used as it is' if exists else 'absent, the stack creates it'}")
        )
    return out
