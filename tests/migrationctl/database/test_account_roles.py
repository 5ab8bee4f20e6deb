"""``migrationctl preflight --account-roles`` (migrationctl/database/account_roles.py) against moto's IAM."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from inventory_migration.migrationctl import cli
from inventory_migration.migrationctl.database.account_roles import check_account_roles
from inventory_migration.migrationctl.database.preflight import Severity

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "dms.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


@pytest.fixture(scope="module")
def account() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # AWS's managed policies, attachable as in an account
        with mock_aws():
            yield boto3.client("iam", region_name="us-east-1")


@pytest.fixture
def iam(account: Any) -> Iterator[Any]:
    """The account with neither DMS role, and as it was after the test."""
    yield account
    for role in account.list_roles()["Roles"]:
        name = role["RoleName"]
        for attached in account.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            account.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        account.delete_role(RoleName=name)


def _create(iam: Any, name: str, policy: str | None) -> None:
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    if policy:
        iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:aws:iam::aws:policy/service-role/{policy}")


def _blockers(found: list[Any]) -> list[str]:
    return [f.message for f in found if f.severity is Severity.BLOCKER]


def test_an_empty_account_and_a_stack_that_creates_the_roles_agree(iam: Any) -> None:
    assert not _blockers(check_account_roles(iam, create=True))


def test_a_role_the_account_already_has_is_a_blocker_when_the_stack_would_create_it(iam: Any) -> None:
    _create(iam, "dms-vpc-role", "AmazonDMSVPCManagementRole")
    (blocker,) = _blockers(check_account_roles(iam, create=True))
    assert blocker.startswith("dms-vpc-role already exists") and "create_account_roles" in blocker


def test_a_missing_role_is_a_blocker_when_the_stack_would_not_create_it(iam: Any) -> None:
    _create(iam, "dms-vpc-role", "AmazonDMSVPCManagementRole")
    (blocker,) = _blockers(check_account_roles(iam, create=False))
    assert blocker.startswith("dms-cloudwatch-logs-role is missing")


def test_an_existing_role_without_its_policy_is_a_blocker(iam: Any) -> None:
    _create(iam, "dms-vpc-role", None)
    _create(iam, "dms-cloudwatch-logs-role", "AmazonDMSCloudWatchLogsRole")
    (blocker,) = _blockers(check_account_roles(iam, create=False))
    assert "without AmazonDMSVPCManagementRole" in blocker


def test_the_cli_exits_1_on_a_conflict_and_names_it(iam: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "t"), ("AWS_SECRET_ACCESS_KEY", "t"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    _create(iam, "dms-vpc-role", "AmazonDMSVPCManagementRole")
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["preflight", "--skip-source", "--account-roles", "--env", "dev"], out, err)
    assert code == 1, err.getvalue()
    assert "blocker: dms-vpc-role already exists" in out.getvalue()
