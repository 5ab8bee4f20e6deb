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


def human(size: float) -> str:
    """Bytes as a person reads them: ``512 B``, ``1.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def clock(seconds: float) -> str:
    """Elapsed time on a progress line: ``45s``, ``2m10s``, ``1h05m``."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def emit(fmt: OutputFormat, payload: Mapping[str, Any], text: str, stream: TextIO) -> None:
    """Write the JSON payload or the human text: the one way a command's result reaches standard output."""
    if fmt is OutputFormat.JSON:
        stream.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    else:
        stream.write(text.rstrip("\n") + "\n")


def plain(text: str) -> str:
    """A docstring as a terminal shows it: reStructuredText's double backticks dropped (``--help`` prints plain text)."""
    return text.replace("``", "")
