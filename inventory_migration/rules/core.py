"""What every rule shares: the finding a rule returns, what it knows of the stack, and small lookups.

A rule is a small pure function ``(resource type, logical id, resource config, context) -> Finding``: compliant,
non-compliant with a reason, or not applicable (cdk-nag's shape).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any


class Compliance(Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    NOT_APPLICABLE = "not-applicable"


@dataclasses.dataclass(frozen=True)
class Finding:
    compliance: Compliance
    reason: str = ""


OK = Finding(Compliance.COMPLIANT)
NA = Finding(Compliance.NOT_APPLICABLE)


def bad(reason: str) -> Finding:
    return Finding(Compliance.NON_COMPLIANT, reason)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RuleContext:
    """What rules know about the stack besides one resource."""

    name_tail: str
    """``-{environment}-{suffix}``, which every derived name ends with (or contains, for AWS paths)."""
    default_tags: Mapping[str, str]
    """The provider's ``default_tags``."""
    destroyable: bool = True
    """Whether the environment must be destroyable (dev). Default: true."""


Resource = Mapping[str, Any]
Rule = Callable[[str, str, Resource, RuleContext], Finding]
"""(resource type, logical id, resource config, context) -> finding."""


def construct_path(logical_id: str) -> str:
    """The construct path part of a cdktf logical id (``storage_access-logs-encryption_DFC39B18``)."""
    return logical_id.rsplit("_", 1)[0]


def lookup(config: Resource, dotted: str) -> Any:
    """A (possibly nested) attribute: ``a.b.c`` descends into the first element of each block list."""
    value: Any = config
    for part in dotted.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
