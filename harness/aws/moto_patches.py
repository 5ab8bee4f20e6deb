"""Where moto (5.2) falls short of what ``terraform apply`` / ``plan`` / ``destroy`` of our stack needs, patched in
the emulator process only. Each patch names the gap; :data:`PATCHES` is the list the rehearsal prints.

Test-only: imported by ``emulator.py`` in the emulator's own process, never by the stack or ``migrationctl``.
The patches live in :mod:`.patches_infra` (EC2, S3, RDS, ECS, CloudWatch, ELBv2) and :mod:`.patches_data` (DataSync,
DMS), each registered in :mod:`.patch_registry` when imported.
"""

from __future__ import annotations

from harness.aws import patches_data, patches_infra, patches_s3  # noqa: F401 - importing registers their patches
from harness.aws.patch_registry import PATCHES, Patch

__all__ = ["PATCHES", "Patch", "apply_patches"]


_APPLIED: list[bool] = []


def apply_patches() -> None:
    """Apply every patch, once per process (a patch wraps what it patches: twice would wrap twice)."""
    import os

    if _APPLIED:
        return
    _APPLIED.append(True)

    # AWS managed policies (AmazonDMSVPCManagementRole, AmazonRDSEnhancedMonitoringRole, ...) exist only when loaded.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    for p in PATCHES:
        p.apply()
