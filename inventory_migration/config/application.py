"""``[app]``: the applications moving to ECS Fargate and the blue-green load balancer in front of them (feeds
``constructs/application.py``).

*Blue* is today's on-prem application servers, reached over the VPN as IP targets; *green* is the ECS Fargate
service on Aurora. The phase decides the listener's weights (``inventory_migration/contracts/phases.py``).
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Mapping

from inventory_migration.config.base import Check, Problem, Validated, cidr_checks, ipv4, port_check, positive

CERTIFICATE_ARN_PATTERN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}")
PLACEHOLDER_CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
"""Dev's placeholder: replace it with the ACM certificate of the application's host name before deploying."""

FARGATE_MEMORY_MIB: Mapping[int, tuple[int, int, int]] = types.MappingProxyType(
    {
        256: (512, 2048, 512),
        512: (1024, 4096, 1024),
        1024: (2048, 8192, 1024),
        2048: (4096, 16384, 1024),
        4096: (8192, 30720, 1024),
        8192: (16384, 61440, 4096),
        16384: (32768, 122880, 8192),
    }
)
"""Fargate task sizes: CPU units -> (least memory, most memory, step), in MiB (ECS developer guide, task size)."""

TESTER_HEADER = "X-Migration-Target"
"""Requests with this header set to ``tester_header_value`` reach green before the switch."""


ECR_IMAGE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[^:@]+)")
"""A private ECR image: the execution role may pull from exactly that repository."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApplicationConfig(Validated):
    """The ECS Fargate service (green), the on-prem servers (blue) and the load balancer."""

    certificate_arn: str = PLACEHOLDER_CERTIFICATE_ARN
    """ACM certificate of the HTTPS listener. Default: a placeholder to replace."""
    ingress_cidrs: tuple[str, ...] = ("203.0.113.0/24",)
    """Client networks allowed to reach the load balancer on 80/443 (0.0.0.0/0 is refused: front a world-open
    service with a WAF and list its ranges). Default: a documentation range to replace."""
    blue_targets: tuple[str, ...] = ("192.168.10.11", "192.168.10.12")
    """On-prem application servers (IPv4 inside ``network.on_prem_cidrs``). Default: two placeholders."""
    blue_port: int = 8080
    """Port the on-prem servers listen on. Default: 8080."""
    container_port: int = 8080
    """Port the container listens on. Default: 8080."""
    health_check_path: str = "/health"
    """HTTP health check path, on blue and green. Default: ``/health``."""
    container_image: str = ""
    """Image of the ECS service; when set the stack creates the task definition and the service, else the
    application team does (the outputs give them the cluster, target group, subnets, security group and roles).
    Default: none."""
    cpu: int = 512
    """Fargate CPU units per task. Default: 512."""
    memory_mib: int = 1024
    """Fargate memory per task. Default: 1024."""
    desired_count: int = 2
    """Tasks of the service (at least 2 keeps one serving during a deployment). Default: 2."""
    spot_weight: int = 0
    """Weight of FARGATE_SPOT in the service's capacity provider strategy (FARGATE has weight 1 and base 1).
    Default: 0, no Spot."""
    health_check_grace_seconds: int = 60
    """Seconds the service ignores failing load-balancer health checks of a new task. Default: 60."""
    deregistration_delay_seconds: int = 30
    """Seconds a target drains in-flight requests when it leaves a target group. Default: 30."""
    deletion_protection: bool = False
    """Refuse to delete the load balancer. Default: false (dev is destroyable); prod sets true."""
    tester_header_value: str = "green"
    """Value of the ``X-Migration-Target`` header that routes a request to green. Default: ``green``."""

    @property
    def external_image_registry(self) -> str:
        """The registry of ``container_image`` when it is outside the account's ECR (``public.ecr.aws``): the tasks
        pull it over the internet. Empty for no image or a private ECR image (pulled through the VPC endpoints)."""
        if not self.container_image or ECR_IMAGE.match(self.container_image):
            return ""
        first = self.container_image.split("/", 1)[0]
        return first if "/" in self.container_image and ("." in first or ":" in first) else "docker.io"

    def _checks(self) -> list[Check]:
        sizes = FARGATE_MEMORY_MIB.get(self.cpu)
        checks: list[Check] = [
            (
                CERTIFICATE_ARN_PATTERN.fullmatch(self.certificate_arn) is None,
                Problem("certificate_arn", self.certificate_arn, "must be an ACM certificate ARN"),
            ),
            (not self.ingress_cidrs, Problem("ingress_cidrs", self.ingress_cidrs, "must list at least one client network")),
            *cidr_checks("ingress_cidrs", self.ingress_cidrs),
            (not self.blue_targets, Problem("blue_targets", self.blue_targets, "must list the on-prem application servers")),
            *[(ipv4(t) is None, Problem("blue_targets", t, "must be an IPv4 address")) for t in self.blue_targets],
            port_check("blue_port", self.blue_port),
            port_check("container_port", self.container_port),
            (
                not self.health_check_path.startswith("/"),
                Problem("health_check_path", self.health_check_path, "must start with /"),
            ),
            (
                sizes is None,
                Problem("cpu", self.cpu, f"Fargate CPU units: {', '.join(map(str, FARGATE_MEMORY_MIB))}"),
            ),
            (
                sizes is not None
                and not (sizes[0] <= self.memory_mib <= sizes[1] and (self.memory_mib - sizes[0]) % sizes[2] == 0),
                Problem(
                    "memory_mib",
                    self.memory_mib,
                    f"with cpu {self.cpu}: {sizes[0]} to {sizes[1]} MiB in steps of {sizes[2]}" if sizes else "",
                ),
            ),
            *positive(self, "desired_count", "deregistration_delay_seconds"),
            (self.spot_weight < 0, Problem("spot_weight", self.spot_weight, "must be 0 or more")),
            (
                not 0 <= self.health_check_grace_seconds <= 2147483647,
                Problem("health_check_grace_seconds", self.health_check_grace_seconds, "must be 0 or more"),
            ),
            (
                re.fullmatch(r"[A-Za-z0-9._-]{1,64}", self.tester_header_value) is None,
                Problem("tester_header_value", self.tester_header_value, "1-64 of letters, digits, '.', '_' and '-'"),
            ),
            (
                bool(self.container_image) and re.fullmatch(r"[a-z0-9][\w./:@-]{0,254}", self.container_image) is None,
                Problem("container_image", self.container_image, "must be an image reference like repo/name:tag"),
            ),
        ]
        return checks
