"""Placeholders and stand-ins (inventory_migration/config/placeholders.py): what prod refuses."""

from __future__ import annotations

import pytest

from inventory_migration.config import ConfigError, config_from_mapping, load_config
from inventory_migration.config.placeholders import placeholders, why_placeholder

SHIPPED_STAND_INS = {
    "network.vpc_cidr",
    "network.on_prem_cidrs",
    "network.operator_cidrs",
    "app.blue_targets",
    "app.container_image",
    "source.addresses",
    "files.agent_address",
    "backend.bucket",
}


def test_prod_names_every_shipped_stand_in_among_its_placeholders() -> None:
    found = {p.field for p in placeholders(load_config("prod"))}
    assert found >= SHIPPED_STAND_INS
    assert {"network.customer_gateway_ip", "app.certificate_arn", "app.ingress_cidrs"} <= found


def test_a_stand_in_shows_its_value_and_what_to_do() -> None:
    (image,) = [p for p in placeholders(load_config("prod")) if p.field == "app.container_image"]
    assert image.value == "public.ecr.aws/nginx/nginx:1.27" and "delete the field from stand_ins" in image.message


def test_a_list_stand_in_shows_every_value() -> None:
    networks = {"on_prem_cidrs": ["192.168.0.0/16", "172.20.0.0/16"]}
    config = config_from_mapping({"stand_ins": ["network.on_prem_cidrs"], "network": networks})
    (listed,) = [p for p in placeholders(config) if p.field == "network.on_prem_cidrs"]
    assert listed.value == "192.168.0.0/16, 172.20.0.0/16"


def test_a_field_taken_off_the_list_is_no_longer_a_placeholder() -> None:
    config = config_from_mapping({"stand_ins": [], "network": {"vpc_cidr": "10.90.0.0/16"}})
    assert "network.vpc_cidr" not in {p.field for p in placeholders(config)}


def test_a_stand_in_that_names_no_field_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"stand_ins": ["network.vpc"]})
    assert any(p.field == "stand_ins" and p.value == "network.vpc" for p in info.value.problems)


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [("192.0.2.10", True), ("10.0.0.1", False), ("db.corp.example", True), ("arn:aws:iam::123456789012:role/x", True)],
)
def test_a_value_is_a_placeholder_by_its_form(value: str, placeholder: bool) -> None:
    assert (why_placeholder(value) is not None) is placeholder
