"""Naming: {resource-type}-{environment}-{suffix}, within each AWS limit."""

from __future__ import annotations

import pytest

from inventory_migration.synth.naming import Namer, NameTooLongError, ResourceType
from inventory_migration.synth.tagging import name_tag

NAMER = Namer(environment="dev", suffix="inv")


def test_convention() -> None:
    assert NAMER.name(ResourceType.VPC) == "vpc-dev-inv"
    assert NAMER.name(ResourceType.SUBNET, "private-app-1") == "subnet-private-app-1-dev-inv"
    assert NAMER.name(ResourceType.S3_BUCKET, "images") == "s3-images-dev-inv"
    assert NAMER.tail == "-dev-inv"


def test_limits_are_enforced() -> None:
    long = Namer(environment="production", suffix="abcdefghijklmnop")
    with pytest.raises(
        NameTooLongError, match="TARGET_GROUP name 'tg-green-production-abcdefghijklmnop' is 36 characters; AWS allows 32"
    ):
        long.name(ResourceType.TARGET_GROUP, "green")
    assert long.name(ResourceType.DMS_INSTANCE).endswith("-production-abcdefghijklmnop")
    with pytest.raises(NameTooLongError, match="AWS allows 63"):
        long.name(ResourceType.S3_BUCKET, "x" * 40)


def test_aws_character_rules() -> None:
    assert NAMER.problems(ResourceType.AURORA_CLUSTER, "a--b") == [
        "AURORA_CLUSTER name 'aurora-a--b-dev-inv' must not contain '--' or end with '-'"
    ]
    assert any("characters AWS rejects" in p for p in NAMER.problems(ResourceType.S3_BUCKET, "Images_1"))
    sg = Namer(environment="dev", suffix="inv")
    assert sg.name(ResourceType.SECURITY_GROUP, "dms").startswith("secgroup-")


def test_forbidden_prefix_and_letter_first() -> None:
    from inventory_migration.synth.naming import NameRule

    rule = NameRule("sg", 255, forbidden_prefix="sg-", starts_with_letter=True)
    fake = Namer(environment="dev", suffix="inv")
    member = type("Fake", (), {"value": rule, "name": "FAKE"})()
    problems = fake.problems(member, "x")  # type: ignore[arg-type]
    assert problems == ["FAKE name 'sg-x-dev-inv' must not start with 'sg-'"]
    digit = type("Fake", (), {"value": NameRule("1db", 63, starts_with_letter=True), "name": "DIGIT"})()
    assert fake.problems(digit) == ["DIGIT name '1db-dev-inv' must start with a letter"]  # type: ignore[arg-type]


def test_planned_names_fit_for_the_longest_allowed_inputs() -> None:
    # The longest environment (10) and suffix (16) break only the 32-character load balancer limits.
    problems = Namer(environment="abcdefghij", suffix="abcdefghijklmnop").check_planned()
    assert problems and all(p.startswith(("LOAD_BALANCER", "TARGET_GROUP")) for p in problems)
    assert Namer(environment="prod", suffix="inv").check_planned() == []


def test_name_tag() -> None:
    assert name_tag("vpc-dev-inv", {"Tier": "public"}) == {"Name": "vpc-dev-inv", "Tier": "public"}
