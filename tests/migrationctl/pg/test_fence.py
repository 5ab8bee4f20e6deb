"""The fence's wait (migrationctl/pg/fence.py)."""

from __future__ import annotations

import pytest

from inventory_migration.migrationctl.pg import fence


def test_the_fence_wait_gives_up_at_the_timeout() -> None:
    ticks = iter(range(100))
    original = fence.visible
    fence.visible = lambda _c, _t: False  # type: ignore[assignment]
    try:
        with pytest.raises(fence.FenceTimeout, match="fence 'cutover@x' not applied on the other side after 1 s"):
            fence.wait_visible(None, "cutover@x", 1, clock=lambda: float(next(ticks)), sleep=lambda _s: None)  # type: ignore[arg-type]
    finally:
        fence.visible = original  # type: ignore[assignment]
