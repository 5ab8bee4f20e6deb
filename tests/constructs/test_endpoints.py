"""The interface endpoints construct (constructs/endpoints.py) in a fresh stack."""

from __future__ import annotations

from typing import Any

import pytest

from inventory_migration.contracts.services import InterfaceService
from tests.conftest import resources_of, synth_of
from tests.constructs.build import NAMER


def props(**overrides: Any) -> Any:
    from inventory_migration.constructs.endpoints import ServiceEndpointsProps

    values: dict[str, Any] = dict(
        namer=NAMER, region="us-east-1", vpc_id="vpc-1", subnet_ids=["app-1", "app-2"], security_group_id="sg-endpoints"
    )
    return ServiceEndpointsProps(**(values | overrides))


def test_one_interface_endpoint_per_service_with_private_dns(construct_stack: Any) -> None:
    from inventory_migration.constructs.endpoints import ServiceEndpoints

    ServiceEndpoints(construct_stack, "endpoints", props=props())
    endpoints = resources_of(synth_of(construct_stack), "aws_vpc_endpoint")
    assert sorted(e["service_name"] for e in endpoints) == sorted(f"com.amazonaws.us-east-1.{s.value}" for s in InterfaceService)
    assert all(e["vpc_endpoint_type"] == "Interface" and e["private_dns_enabled"] is True for e in endpoints)
    assert all(e["subnet_ids"] == ["app-1", "app-2"] and e["security_group_ids"] == ["sg-endpoints"] for e in endpoints)


def test_an_endpoint_is_named_for_its_service(construct_stack: Any) -> None:
    from inventory_migration.constructs.endpoints import ServiceEndpoints

    ServiceEndpoints(construct_stack, "endpoints", props=props(services=(InterfaceService.ECR_API,)))
    (endpoint,) = resources_of(synth_of(construct_stack), "aws_vpc_endpoint")
    assert endpoint["tags"]["Name"] == "vpce-ecr-api-dev-t1"


def test_endpoints_need_a_subnet() -> None:
    from inventory_migration.constructs.wiring import WiringError

    with pytest.raises(WiringError, match="subnet_ids"):
        props(subnet_ids=[])
