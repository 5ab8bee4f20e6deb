"""Rendering: ``--output table`` (aligned text for people) or ``json`` (for scripts)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, TextIO


class OutputFormat(Enum):
    TABLE = "table"
    JSON = "json"


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as an aligned text table with a header."""
    if not rows:
        return "(none)"
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join([header.rstrip(), *lines])


def emit(fmt: OutputFormat, payload: Mapping[str, Any], text: str, stream: TextIO) -> None:
    """Write the JSON payload or the human text: the one way a command's result reaches standard output."""
    if fmt is OutputFormat.JSON:
        stream.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    else:
        stream.write(text.rstrip("\n") + "\n")
