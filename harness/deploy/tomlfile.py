"""Write the configuration the rehearsal edits back as TOML (``tomllib`` only reads). Enough TOML for our environment
files: strings, integers, floats, booleans, lists of those, and nested tables."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} as TOML")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string is a JSON string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def dumps(data: Mapping[str, Any]) -> str:
    """``data`` as TOML: scalars first, then one ``[table]`` per nested mapping (recursively, dotted names)."""
    lines: list[str] = []

    def emit(table: Mapping[str, Any], prefix: str) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
        tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
        if prefix and (scalars or not tables):
            lines.append(f"[{prefix}]")
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars.items())
        if scalars:
            lines.append("")
        for key, sub in tables.items():
            emit(sub, f"{prefix}.{_key(key)}" if prefix else _key(key))

    emit(data, "")
    return "\n".join(lines).rstrip() + "\n"
