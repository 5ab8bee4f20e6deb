"""What a phase transition changes, computed from synthesized JSON or from a Terraform plan, and checked against
what the phase table intends (:func:`inventory_migration.contracts.phases.expected_changes`).

The tests diff the synthesized JSON of two phases; the deploy rehearsal reads ``terraform show -json`` of the plan
between them. Both end in :func:`violations`: every changed resource must belong to a component the transition
changes in that way, every such component must really change, nothing protected (Aurora, the KMS keys, the image
bucket) may change at all, and nothing may be replaced. A plan that only retags resources (the ``MigrationPhase``
tag lives in the provider's ``default_tags``, so every tagged resource's ``tags_all`` changes) is a retag, not a
change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from inventory_migration.contracts.phases import Change, Component, MigrationPhase, component_of, expected_changes, is_protected


class Action(Enum):
    """What happens to one resource."""

    CREATE = "create"
    DELETE = "delete"
    UPDATE = "update"
    REPLACE = "replace"
    RETAG = "retag"
    """Only ``tags_all`` changes: the phase tag reached the resource."""


ACTION_FOR_CHANGE = {Change.ADDED: Action.CREATE, Change.REMOVED: Action.DELETE, Change.CHANGED: Action.UPDATE}


@dataclasses.dataclass(frozen=True)
class ResourceChange:
    """One resource a transition touches."""

    address: str
    """``type.logical_id`` (the Terraform address)."""
    path: str
    """Construct path below the stack, e.g. ``dms/task``."""
    action: Action


def path_of_logical_id(logical_id: str) -> str:
    """``dms_reverse-task_C4127E0B`` -> ``dms/reverse-task``: construct ids never contain ``_`` (a test checks it)."""
    return logical_id.rsplit("_", 1)[0].replace("_", "/")


def _resources(synth: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        f"{resource_type}.{logical_id}": {k: v for k, v in config.items() if k != "//"}
        for resource_type, by_id in synth.get("resource", {}).items()
        for logical_id, config in by_id.items()
    }


def synth_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ResourceChange]:
    """Resources added, removed or changed between two synthesized stacks (a changed config is an update)."""
    old, new = _resources(before), _resources(after)
    changes = [ResourceChange(a, path_of_logical_id(a.split(".", 1)[1]), Action.CREATE) for a in sorted(new.keys() - old.keys())]
    changes += [ResourceChange(a, path_of_logical_id(a.split(".", 1)[1]), Action.DELETE) for a in sorted(old.keys() - new.keys())]
    changes += [
        ResourceChange(a, path_of_logical_id(a.split(".", 1)[1]), Action.UPDATE)
        for a in sorted(old.keys() & new.keys())
        if old[a] != new[a]
    ]
    return changes


def _changed_attributes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> set[str]:
    before, after = before or {}, after or {}
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def plan_changes(plan: Mapping[str, Any]) -> list[ResourceChange]:
    """Resource changes of ``terraform show -json`` of a plan (no-ops and reads left out)."""
    out = []
    for rc in plan.get("resource_changes", []):
        if rc.get("mode") != "managed":
            continue
        actions = tuple(rc["change"]["actions"])
        if actions in (("no-op",), ("read",)):
            continue
        if actions == ("create",):
            action = Action.CREATE
        elif actions == ("delete",):
            action = Action.DELETE
        elif actions == ("update",):
            changed = _changed_attributes(rc["change"].get("before"), rc["change"].get("after"))
            unknown = set((rc["change"].get("after_unknown") or {}).keys())
            action = Action.RETAG if changed <= {"tags_all"} and not (unknown - {"tags_all"}) else Action.UPDATE
        else:
            action = Action.REPLACE  # ["delete", "create"] or ["create", "delete"]
        out.append(ResourceChange(rc["address"], path_of_logical_id(rc["name"]), action))
    return out


def violations(
    changes: Iterable[ResourceChange], previous: MigrationPhase, current: MigrationPhase, *, image_agent: bool = True
) -> list[str]:
    """Everything about ``changes`` the transition ``previous`` -> ``current`` does not intend (empty when all is as
    intended); ``image_agent``: whether the DataSync agent is configured (see :func:`~.phases.component_state`)."""
    expected = expected_changes(previous, current, image_agent=image_agent)
    problems: list[str] = []
    seen: set[Component] = set()
    for change in changes:
        if change.action is Action.RETAG:
            continue
        component = component_of(change.path)
        if is_protected(change.path):
            problems.append(f"{change.address}: protected resource would be {change.action.value}d")
            continue
        if change.action is Action.REPLACE:
            problems.append(f"{change.address}: would be replaced")
            continue
        wanted = expected.get(component) if component is not None else None
        if wanted is None or ACTION_FOR_CHANGE[wanted] is not change.action:
            reason = f"component {component.value}" if component is not None else "no phase-dependent component"
            problems.append(f"{change.address}: unintended {change.action.value} ({reason})")
            continue
        seen.add(component)  # type: ignore[arg-type]
    for component in sorted(set(expected) - seen, key=lambda c: c.value):
        problems.append(f"{component.value}: should be {expected[component].value} but nothing changed")
    return problems


def summarize(changes: Iterable[ResourceChange]) -> dict[str, int]:
    """Count of changes per action, for reports."""
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action.value] = counts.get(change.action.value, 0) + 1
    return counts
