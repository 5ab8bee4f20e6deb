"""``[kms]`` and ``[backend]``: the customer-managed keys and where Terraform keeps state."""

from __future__ import annotations

import dataclasses
import re
from enum import Enum

from inventory_migration.config.base import Check, Problem, Validated


class BackendKind(Enum):
    """Where Terraform keeps this environment's state."""

    LOCAL = "local"
    """A local file next to the synthesized stack (dev, experiments)."""
    S3 = "s3"
    """An S3 bucket with native S3 locking (``use_lockfile``): shared environments."""


LOCAL_STATE_FROM_STACK_DIR = "../../../terraform.{stack}.tfstate"
"""The local backend's default state file, from the directory cdktf runs Terraform in (``cdktf.out/stacks/<stack>``):
the project's root."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class KmsConfig(Validated):
    """Customer-managed keys."""

    deletion_window_days: int = 7
    """Waiting period before a destroyed key is deleted (7 to 30). Default: 7, the shortest."""

    def _checks(self) -> list[Check]:
        return [
            (
                not 7 <= self.deletion_window_days <= 30,
                Problem("deletion_window_days", self.deletion_window_days, "must be 7 to 30"),
            ),
        ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class StateBackendConfig(Validated):
    """Where Terraform keeps this environment's state (one state per environment)."""

    kind: BackendKind = BackendKind.LOCAL
    """Backend type. Default: local (dev)."""
    bucket: str = ""
    """State bucket (S3 only; created beforehand, versioned). Default: none."""
    key: str = ""
    """State object key. Default: ``inventory-migration/<environment>/terraform.tfstate``."""
    region: str = ""
    """Region of the state bucket. Default: the stack's region."""
    use_lockfile: bool = True
    """S3-native state locking (Terraform 1.10+). Default: true."""
    kms_key_id: str = ""
    """KMS key that encrypts the state object. Default: the bucket's default encryption."""
    local_path: str = ""
    """State file for the local backend, relative to the stack's directory (``cdktf.out/stacks/<stack>``). Default:
    ``terraform.<stack>.tfstate`` in the project's root (:data:`LOCAL_STATE_FROM_STACK_DIR`), outside ``cdktf.out/``,
    which ``make clean`` deletes."""

    def _checks(self) -> list[Check]:
        return [
            (
                self.kind is BackendKind.S3 and re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", self.bucket) is None,
                Problem("bucket", self.bucket, "an S3 backend needs an existing bucket name (3-63 lowercase characters)"),
            ),
        ]
