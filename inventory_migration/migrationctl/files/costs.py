"""What the images cost a month in S3 under each storage option: the published prices (dated) and the model.

The stack's lifecycle (Standard, then Standard-IA, then Glacier Instant Retrieval; objects under the minimum billable
size stay in Standard) against all-Standard and Intelligent-Tiering, for the tree's real size distribution and a
read fraction the operator gives (``files plan --read-fraction``).
"""

from __future__ import annotations

import dataclasses
from enum import Enum


class Tier(Enum):
    """How the images are stored after the move."""

    STANDARD = "standard"
    LIFECYCLE = "lifecycle"
    """The stack's rules: Standard, then Standard-IA, then Glacier Instant Retrieval; objects under the minimum size stay."""
    INTELLIGENT_TIERING = "intelligent-tiering"


@dataclasses.dataclass(frozen=True)
class Prices:
    """Published S3 prices, us-east-1, first 50 TB tier, USD (https://aws.amazon.com/s3/pricing/, as of ``as_of``)."""

    as_of: str = "2026-11"
    standard_gb_month: float = 0.023
    standard_ia_gb_month: float = 0.0125
    glacier_ir_gb_month: float = 0.004
    it_frequent_gb_month: float = 0.023
    it_archive_instant_gb_month: float = 0.004
    it_monitoring_per_1000_objects: float = 0.0025
    ia_retrieval_gb: float = 0.01
    glacier_ir_retrieval_gb: float = 0.03
    put_per_1000: float = 0.005
    transition_ia_per_1000: float = 0.01
    transition_glacier_ir_per_1000: float = 0.02
    transition_it_per_1000: float = 0.01
    min_billable_bytes: int = 128 * 1024
    """Standard-IA and Glacier IR bill smaller objects as 128 KB; Intelligent-Tiering does not monitor or tier them."""


PRICES = Prices()
GB = 1024**3


@dataclasses.dataclass(frozen=True)
class Cost:
    tier: Tier
    monthly_usd: float
    """Once the transitions are done (after ``glacier_instant_retrieval_days``), reads included."""
    one_time_usd: float
    """Uploads and lifecycle transitions."""
    note: str


def lifecycle_costs(small: tuple[int, int], large: tuple[int, int], read_fraction: float, prices: Prices = PRICES) -> list[Cost]:
    """Monthly cost of the images under each option. ``small``/``large``: (objects, bytes) under/over the minimum
    billable size; ``read_fraction``: share of the large objects' bytes read in a month (the rest stay cold)."""
    (small_n, small_b), (large_n, large_b) = small, large
    small_gb, large_gb = small_b / GB, large_b / GB
    puts = (small_n + large_n) / 1000 * prices.put_per_1000
    standard_small = small_gb * prices.standard_gb_month
    return [
        Cost(Tier.STANDARD, (small_gb + large_gb) * prices.standard_gb_month, puts, "everything in S3 Standard"),
        Cost(
            Tier.LIFECYCLE,
            standard_small + large_gb * prices.glacier_ir_gb_month + read_fraction * large_gb * prices.glacier_ir_retrieval_gb,
            puts + large_n / 1000 * (prices.transition_ia_per_1000 + prices.transition_glacier_ir_per_1000),
            "large objects in Glacier IR after the transitions, retrieval fees on reads; small ones stay in Standard",
        ),
        Cost(
            Tier.INTELLIGENT_TIERING,
            standard_small
            + large_gb * (read_fraction * prices.it_frequent_gb_month + (1 - read_fraction) * prices.it_archive_instant_gb_month)
            + large_n / 1000 * prices.it_monitoring_per_1000_objects,
            puts + large_n / 1000 * prices.transition_it_per_1000,
            "read objects stay frequent, the rest archive-instant after 90 days; monitoring fee per large object",
        ),
    ]
