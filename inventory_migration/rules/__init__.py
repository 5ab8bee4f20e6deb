"""Policy rules over synthesized Terraform JSON, in the style of cdk-nag.

Each rule is a small pure function ``(resource_type, resource_config, context) -> Finding`` returning
compliant, non-compliant (with a reason) or not applicable. :func:`evaluate` walks *every* resource of a
synthesized stack, so a new resource cannot slip past a rule: where a rule must know a resource type
(encryption, tags), an unknown type is non-compliant until it is classified here.

Each rule lives in a module named for what it guards (:mod:`.encryption`, :mod:`.destroyable`, :mod:`.network`,
:mod:`.tags`, :mod:`.names`, :mod:`.iam`); :mod:`.core` holds what they share; :mod:`.checkov` the accepted checkov
skips.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from inventory_migration.rules.core import NA, OK, Compliance, Finding, Resource, Rule, RuleContext, bad, construct_path, lookup
from inventory_migration.rules.destroyable import rule_destroyable
from inventory_migration.rules.encryption import CMK_ATTRIBUTES, ENCRYPTION_EXCEPTIONS, NO_DATA_AT_REST, rule_encrypted_with_cmk
from inventory_migration.rules.iam import rule_no_wildcard_actions
from inventory_migration.rules.names import NAME_ATTRIBUTES, rule_named_with_suffix
from inventory_migration.rules.network import OPEN_CIDRS, rule_no_open_ingress, rule_rules_described
from inventory_migration.rules.tags import UNTAGGABLE, rule_tagged

RULES: Mapping[str, Rule] = {
    "encrypted-with-cmk": rule_encrypted_with_cmk,
    "destroyable": rule_destroyable,
    "no-open-ingress": rule_no_open_ingress,
    "rules-described": rule_rules_described,
    "tagged": rule_tagged,
    "named-with-suffix": rule_named_with_suffix,
    "no-wildcard-actions": rule_no_wildcard_actions,
}


def resources(synth: Mapping[str, Any]) -> Iterator[tuple[str, str, Resource]]:
    """Every (type, logical id, config) of a synthesized stack."""
    for resource_type, by_id in synth.get("resource", {}).items():
        for logical_id, config in by_id.items():
            yield resource_type, logical_id, config


def evaluate(synth: Mapping[str, Any], ctx: RuleContext) -> list[str]:
    """Every rule over every resource; returns the violations as readable lines."""
    return [
        f"{rule_id}: {resource_type}.{logical_id}: {finding.reason}"
        for resource_type, logical_id, config in resources(synth)
        for rule_id, rule in RULES.items()
        if (finding := rule(resource_type, logical_id, config, ctx)).compliance is Compliance.NON_COMPLIANT
    ]


__all__ = [
    "CMK_ATTRIBUTES",
    "ENCRYPTION_EXCEPTIONS",
    "NA",
    "NAME_ATTRIBUTES",
    "NO_DATA_AT_REST",
    "OK",
    "OPEN_CIDRS",
    "RULES",
    "UNTAGGABLE",
    "Compliance",
    "Finding",
    "Resource",
    "Rule",
    "RuleContext",
    "bad",
    "construct_path",
    "evaluate",
    "lookup",
    "resources",
    "rule_destroyable",
    "rule_encrypted_with_cmk",
    "rule_named_with_suffix",
    "rule_no_open_ingress",
    "rule_no_wildcard_actions",
    "rule_rules_described",
    "rule_tagged",
]
