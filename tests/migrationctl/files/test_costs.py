"""The storage-class costs files plan prints (migrationctl/files/costs.py)."""

from __future__ import annotations

import pytest

from inventory_migration.migrationctl.files import costs as fc


def test_lifecycle_costs_follow_the_numbers() -> None:
    gib = 1 << 30
    # 2 TiB of 400 KiB images, 100 GiB of thumbnails under 128 KiB, 10 % of the large bytes read a month.
    large = (int(2048 * gib / (400 << 10)), 2048 * gib)
    small = (int(100 * gib / (40 << 10)), 100 * gib)
    costs = {c.tier: c for c in fc.lifecycle_costs(small, large, 0.1)}
    standard = costs[fc.Tier.STANDARD].monthly_usd
    assert standard == pytest.approx(2148 * 0.023)
    assert costs[fc.Tier.LIFECYCLE].monthly_usd == pytest.approx(100 * 0.023 + 2048 * 0.004 + 0.1 * 2048 * 0.03)
    assert costs[fc.Tier.LIFECYCLE].monthly_usd < costs[fc.Tier.INTELLIGENT_TIERING].monthly_usd < standard
    # Read the whole collection every month and Glacier IR's retrieval fees make the lifecycle the dearest option.
    hot = {c.tier: c.monthly_usd for c in fc.lifecycle_costs(small, large, 1.0)}
    assert hot[fc.Tier.LIFECYCLE] > hot[fc.Tier.STANDARD]
