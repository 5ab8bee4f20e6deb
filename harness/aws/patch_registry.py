"""The registry of moto patches: each names the service and the gap it closes (:data:`PATCHES`, which the
rehearsal prints)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Patch:
    service: str
    gap: str
    apply: Callable[[], None]


PATCHES: list[Patch] = []


def patch(service: str, gap: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(fn: Callable[[], None]) -> Callable[[], None]:
        PATCHES.append(Patch(service, gap, fn))
        return fn

    return register


def epoch(value: Any) -> Any:
    """An ISO timestamp as epoch seconds (what the provider expects where moto keeps the string)."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).timestamp()
        except ValueError:
            return value
    return value
