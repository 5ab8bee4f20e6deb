"""What every configuration section shares: problems, the all-at-once validation mixin, small checks.

A section's ``__post_init__`` runs every rule of its ``_checks`` and raises one :class:`ConfigError` listing
every violation, so bad input never half-works and a user fixes a file in one pass.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from pathlib import Path
from typing import Any

from inventory_migration.contracts.environment import Variable

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
"""Where the shipped environment files live."""

DEFAULT_ENVIRONMENT = "dev"
"""The embedded default environment, used when neither ``MIGRATION_ENV`` nor a context value is set."""

ENV_VAR = Variable.MIGRATION_ENV
"""Environment variable that selects the environment file."""

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
"""Retention values CloudWatch Logs accepts."""

AWS_REGIONS = frozenset(
    {
        # aws
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        # aws-cn
        "cn-north-1",
        "cn-northwest-1",
        # aws-us-gov
        "us-gov-east-1",
        "us-gov-west-1",
    }
)
"""AWS regions of the commercial, China and GovCloud partitions (botocore's endpoints data, 2026-11; the tests
cross-check this list against the installed botocore)."""

SUFFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){0,14}[a-z0-9]$|^[a-z0-9]$")
ENVIRONMENT_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,9}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: the field's dotted path, its value and what is allowed."""

    field: str
    value: Any
    message: str

    def within(self, section: str) -> Problem:
        return dataclasses.replace(self, field=f"{section}.{self.field}" if self.field else section)

    def __str__(self) -> str:
        return f"{self.field} = {self.value!r}: {self.message}"


class ConfigError(ValueError):
    """Every problem of one configuration source, reported together."""

    def __init__(self, problems: list[Problem], source: str = "<config>") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid configuration in {source} ({len(self.problems)} problem(s)):\n{lines}")


Check = tuple[bool, Problem]
"""A rule: (is it violated?, the problem to report)."""


class Validated:
    """Mixin: ``__post_init__`` runs every rule of ``_checks`` and raises all violations at once."""

    def _checks(self) -> list[Check]:  # pragma: no cover - every subclass overrides
        return []

    def __post_init__(self) -> None:
        problems = [problem for violated, problem in self._checks() if violated]
        if problems:
            raise ConfigError(problems, source=type(self).__name__)


def field_default(cls: type, name: str) -> Any:
    """The default of dataclass ``cls``'s field ``name``: where another place must show or use the same default
    (argparse defaults and help, a command's default that follows the stack's), it reads it from here."""
    for field in dataclasses.fields(cls):
        if field.name == name:
            if field.default is dataclasses.MISSING:
                raise ValueError(f"{cls.__name__}.{name} has no default")
            return field.default
    raise ValueError(f"{cls.__name__} has no field {name!r}")


def positive(obj: object, *names: str) -> list[Check]:
    """Each named field must be greater than 0."""
    return [(getattr(obj, n) <= 0, Problem(n, getattr(obj, n), "must be greater than 0")) for n in names]


def retention_check(name: str, days: int) -> Check:
    """``days`` must be a retention CloudWatch Logs accepts."""
    return (
        days not in LOG_RETENTION_DAYS,
        Problem(name, days, f"must be a CloudWatch Logs retention ({', '.join(map(str, LOG_RETENTION_DAYS))})"),
    )


def port_check(name: str, port: int) -> Check:
    return (not 1 <= port <= 65535, Problem(name, port, "must be a TCP port, 1 to 65535"))


_PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))


def is_public_ipv4(value: str) -> bool:
    try:
        ip = ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return not (
        ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local or any(ip in n for n in _PRIVATE_RANGES)
    )


def cidr(value: str) -> ipaddress.IPv4Network | None:
    """``value`` as a strict IPv4 network, or ``None``."""
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return None


def ipv4(value: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        return None


def cidr_checks(name: str, values: tuple[str, ...]) -> list[Check]:
    """Every entry is an IPv4 network in CIDR notation, none is the whole internet."""
    checks: list[Check] = []
    for value in values:
        net = cidr(value)
        checks.append((net is None, Problem(name, value, "must be an IPv4 network in CIDR notation")))
        checks.append((net is not None and net.prefixlen == 0, Problem(name, value, "must not be 0.0.0.0/0; list the networks")))
    return checks
