"""``[storage]``: the image bucket (feeds ``constructs/storage.py``)."""

from __future__ import annotations

import dataclasses

from inventory_migration.config.base import Check, Problem, Validated, positive


@dataclasses.dataclass(frozen=True, kw_only=True)
class StorageConfig(Validated):
    """The S3 bucket for the ~2 TB of product images."""

    infrequent_access_days: int = 30
    """Days before larger objects move to Standard-IA (at least 30). Default: 30."""
    infrequent_access_min_object_bytes: int = 131072
    """Only objects larger than this move to Standard-IA (smaller ones are billed as 128 KB). Default: 131072."""
    glacier_instant_retrieval_days: int = 90
    """Days before objects move to Glacier Instant Retrieval (still read in milliseconds). Default: 90."""
    noncurrent_glacier_days: int = 30
    """Days before noncurrent versions move to Glacier Flexible Retrieval. Default: 30."""
    noncurrent_expiration_days: int = 365
    """Days before noncurrent versions are deleted. Default: 365."""
    abort_incomplete_multipart_days: int = 7
    """Days before incomplete multipart uploads are aborted. Default: 7."""
    access_log_retention_days: int = 365
    """Days server access logs are kept. Default: 365."""
    force_destroy: bool = True
    """Let ``destroy`` empty the buckets. Default: true (dev); prod sets false."""

    def _checks(self) -> list[Check]:
        return [
            *positive(
                self,
                "infrequent_access_min_object_bytes",
                "noncurrent_glacier_days",
                "abort_incomplete_multipart_days",
                "access_log_retention_days",
            ),
            (
                self.infrequent_access_days < 30,
                Problem("infrequent_access_days", self.infrequent_access_days, "S3 requires at least 30"),
            ),
            (
                self.glacier_instant_retrieval_days < self.infrequent_access_days + 30,
                Problem(
                    "glacier_instant_retrieval_days",
                    self.glacier_instant_retrieval_days,
                    f"must be at least infrequent_access_days + 30 = {self.infrequent_access_days + 30}",
                ),
            ),
            (
                self.noncurrent_expiration_days <= self.noncurrent_glacier_days,
                Problem(
                    "noncurrent_expiration_days", self.noncurrent_expiration_days, "must be greater than noncurrent_glacier_days"
                ),
            ),
        ]
