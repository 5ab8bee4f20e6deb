"""Interface VPC endpoints: AWS's APIs inside the VPC, so DMS and the app reach them without the internet.

One endpoint per :class:`~inventory_migration.contracts.services.InterfaceService`, with private DNS (the service's own
name, ``secretsmanager.us-east-1.amazonaws.com``, resolves to the endpoint's addresses in the VPC: the SDKs, the ECS
agent and DMS need no setting), in the private app subnets (one interface per AZ), behind one security group that
admits HTTPS from the DMS and app groups only (``constructs/security.py``). Their 443 rules point at that group, not
at 0.0.0.0/0. Cost: an interface endpoint is billed per AZ-hour and per GB (about 0.01 USD an hour each per AZ).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from inventory_migration.constructs.wiring import check_wiring
from inventory_migration.contracts.services import InterfaceService
from inventory_migration.synth.cdk import Construct, aws
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.tagging import name_tag


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceEndpointsProps:
    """What :class:`ServiceEndpoints` takes from the stack."""

    namer: Namer
    """Derives the endpoints' names."""
    region: str
    """Region of the endpoint services."""
    vpc_id: str
    """VPC of the endpoints (DNS support and host names on: private DNS needs both)."""
    subnet_ids: Sequence[str]
    """Subnets of the endpoints' interfaces, one per AZ (the private app subnets)."""
    security_group_id: str
    """The endpoints' group (HTTPS from the DMS and app groups only)."""
    services: tuple[InterfaceService, ...] = tuple(InterfaceService)
    """Services to reach privately. Default: every :class:`InterfaceService`."""

    def __post_init__(self) -> None:
        check_wiring(self, (not self.subnet_ids, "subnet_ids: at least one"))


class ServiceEndpoints(Construct):
    """The VPC's interface endpoints for AWS services; child ids are the services' qualifiers (``ecr-api``)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ServiceEndpointsProps) -> None:
        super().__init__(scope, construct_id)
        self.props = p = props
        self.endpoints: dict[InterfaceService, aws.vpc_endpoint.VpcEndpoint] = {}
        for service in p.services:
            name = p.namer.name(ResourceType.VPC_ENDPOINT, service.qualifier)
            self.endpoints[service] = aws.vpc_endpoint.VpcEndpoint(
                self,
                service.qualifier,
                vpc_id=p.vpc_id,
                service_name=service.service_name(p.region),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=list(p.subnet_ids),
                security_group_ids=[p.security_group_id],
                tags=name_tag(name),
            )
