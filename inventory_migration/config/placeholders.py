"""Placeholders: the values the shipped environment files carry until someone replaces them.

A placeholder passes every format check (it *is* a valid IP, host name, ARN or address) and fails only when AWS meets
it, partway through an apply. So every string of the configuration is walked — every section, every field, lists
included, no list of fields to keep up to date — and these are refused:

* addresses and networks in the documentation ranges (RFC 5737: ``192.0.2.0/24``, ``198.51.100.0/24``,
  ``203.0.113.0/24``);
* host names and e-mail domains under the names reserved for examples (RFC 2606 / 6761: ``.example``, ``.invalid``,
  ``.test``, ``.localhost``, ``example.com|net|org``);
* ARNs in the account AWS's own documentation uses (``123456789012``), or with the all-zero ids of a template;
* every field the file lists in ``stand_ins``: values that look real (private networks, on-prem addresses, a public
  image, a bucket name) but are the stand-ins the repository shipped, until someone sets the real value and deletes
  the field from the list.

:class:`PlaceholderPolicy` decides what a synth does with them: ``warn`` (dev: one line on stderr) or ``refuse``
(prod: one error naming every field and value). Rehearsal mode, whose every endpoint is a loopback emulator, only
warns.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterator
from enum import Enum
from typing import Any

from inventory_migration.config.base import Problem

DOCUMENTATION_NETWORKS = tuple(ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
"""RFC 5737: addresses reserved for documentation; nothing real lives there."""
RESERVED_SUFFIXES = (".example", ".invalid", ".test", ".localhost", "example.com", "example.net", "example.org")
"""RFC 2606 / RFC 6761: names reserved for examples and tests."""
EXAMPLE_ACCOUNT = "123456789012"
"""The account id AWS's documentation (and moto) uses."""
TEMPLATE_IDS = re.compile(r"00000000-0000-0000-0000-000000000000|0123456789abcdef0|11111111-2222-3333-4444-555555555555")
"""The ids a template fills in where a real one goes."""
_HOST = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z0-9-]+$", re.IGNORECASE)


class PlaceholderPolicy(Enum):
    """What a synth does with placeholders."""

    WARN = "warn"
    """Keep them, with one line on standard error (dev, where the shipped values stand in for a real environment)."""
    REFUSE = "refuse"
    """Stop with one error naming every field and value (prod: nothing is deployed with a stand-in)."""


def why_placeholder(value: str) -> str | None:
    """Why ``value`` is a placeholder (``None`` when it is not)."""
    text = value.strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        network = None
    if network is not None and network.version == 4:
        if any(network.subnet_of(d) for d in DOCUMENTATION_NETWORKS):
            return "an address reserved for documentation (RFC 5737)"
        return None
    if text.startswith("arn:"):
        parts = text.split(":")
        if len(parts) > 4 and parts[4] == EXAMPLE_ACCOUNT:
            return f"an ARN in the example account {EXAMPLE_ACCOUNT}"
        if TEMPLATE_IDS.search(text):
            return "an ARN with a template id"
        return None
    host = text.rsplit("@", 1)[-1].lower()
    if _HOST.match(host) and (host.endswith(RESERVED_SUFFIXES) or host in {s.lstrip(".") for s in RESERVED_SUFFIXES}):
        return "a name reserved for examples (RFC 2606)"
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _strings(getattr(value, field.name), f"{path}.{field.name}" if path else field.name)
    elif isinstance(value, str):
        yield path, value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _strings(item, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")


def placeholders(config: Any) -> list[Problem]:
    """Every placeholder in the configuration, as (field, value, why): values that are placeholders by their form, and
    the fields ``stand_ins`` lists."""
    stand_ins = tuple(getattr(config, "stand_ins", ()))
    found = [
        Problem(field, value, f"a placeholder: {why}; replace it with the real value")
        for field, value in _strings(config, "")
        if field != "stand_ins" and (why := why_placeholder(value)) is not None
    ]
    listed = {p.field for p in found}
    for path in stand_ins:
        if path in listed:
            continue
        value: Any = config
        for part in path.split("."):
            value = getattr(value, part, None)
        shown = ", ".join(map(str, value)) if isinstance(value, tuple | list) else value
        why = "the stand-in this file shipped with (stand_ins): set the real value, then delete the field from stand_ins"
        found.append(Problem(path, shown, why))
    return found
