"""Build a construct's settings and wiring from one set of named values, as the tests write them.

A value goes to the settings when the construct's configuration section has a field of that name, else to the
wiring (which names an unknown one: a typo fails). The tests' wiring values that most tests share live in each test
module's builder, not here.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from inventory_migration.synth.naming import Namer

NAMER = Namer(environment="dev", suffix="t1")
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
OPS = "arn:aws:kms:us-east-1:123456789012:key/ops"
S3KEY = "arn:aws:kms:us-east-1:123456789012:key/s3"
BUCKET = "arn:aws:s3:::s3-images-dev-t1"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"


def policy(resource: dict[str, Any], attribute: str = "policy") -> dict[str, Any]:
    """A resource's JSON policy document, parsed."""
    return dict(json.loads(resource[attribute]))


def actions_of(document: dict[str, Any]) -> dict[str, tuple[set[str], Any]]:
    """Statement id -> (its actions, its resources)."""
    out = {}
    for s in document["Statement"]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        out[s["Sid"]] = (set(actions), s.get("Resource"))
    return out


def settings_and_wiring(settings_type: type, wiring_type: type, values: dict[str, Any]) -> dict[str, Any]:
    """``{"settings": ..., "wiring": ...}`` for a construct's keyword arguments."""
    names = {f.name for f in dataclasses.fields(settings_type)}
    settings = settings_type(**{k: v for k, v in values.items() if k in names})
    wiring = wiring_type(**{k: v for k, v in values.items() if k not in names})
    return {"settings": settings, "wiring": wiring}


def ref(stack: Any, resource: Any, attribute: str) -> str:
    """The Terraform expression that refers to ``resource``'s ``attribute`` in ``stack``."""
    return f"${{{resource.terraform_resource_type}.{stack.get_logical_id(resource)}.{attribute}}}"
