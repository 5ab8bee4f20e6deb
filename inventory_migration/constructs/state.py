"""The migration's own state in S3: where ``migrationctl --state s3://...`` keeps its journals and records.

A small bucket, separate from the images (DataSync writes there, the applications read there): versioned (every
journal write is a version an operator can read back), SSE-KMS with our key and a bucket key, ACLs disabled, public
access blocked, a policy that denies plain HTTP and uploads encrypted any other way. ``migrationctl`` writes it with
S3's conditional writes (``If-None-Match``/``If-Match``), which make one object the lock of a cutover and every
journal write a compare-and-swap: a second operator is refused while a cutover runs, and another machine resumes it
once the first one stopped (``docs/migrationctl.md``, "State and lock").
"""

from __future__ import annotations

import dataclasses

from inventory_migration.constructs.storage import (
    default_encryption,
    deny_insecure_transport,
    only_our_key,
    private_bucket,
)
from inventory_migration.constructs.wiring import check_wiring
from inventory_migration.synth.cdk import Construct, aws
from inventory_migration.synth.iam import policy_json
from inventory_migration.synth.naming import Namer, ResourceType

_LC = aws.s3_bucket_lifecycle_configuration


@dataclasses.dataclass(frozen=True, kw_only=True)
class OperatorStateProps:
    """Props of :class:`OperatorState`."""

    namer: Namer
    """Derives the bucket's name."""
    kms_key_arn: str
    """CMK of the bucket."""
    force_destroy: bool
    """Destroy empties the bucket (``storage.force_destroy``)."""
    access_log_bucket: str
    """Bucket (id) that takes this bucket's S3 server access logs under ``state/``: who read or wrote a journal (empty:
    none). It must let S3's logging service deliver for this bucket (``ImageStorageWiring.logged_bucket_names``)."""
    replaced_version_days: int = 90
    """Days a replaced journal version is kept. Default: 90."""

    def __post_init__(self) -> None:
        check_wiring(
            self,
            (
                self.replaced_version_days < 1,
                f"replaced_version_days = {self.replaced_version_days!r}: at least 1",
            ),
        )


class OperatorState(Construct):
    """The bucket of ``migrationctl``'s journals, records and lock."""

    def __init__(self, scope: Construct, construct_id: str, *, props: OperatorStateProps) -> None:
        super().__init__(scope, construct_id)
        p = props
        name = state_bucket_name(p.namer)
        self.bucket, block = private_bucket(self, "state", name, force_destroy=p.force_destroy)
        default_encryption(self, "state-encryption", self.bucket, kms_key_arn=p.kms_key_arn)
        _LC.S3BucketLifecycleConfiguration(
            self,
            "state-lifecycle",
            bucket=self.bucket.id,
            rule=[
                _LC.S3BucketLifecycleConfigurationRule(
                    id="noncurrent-versions",
                    status="Enabled",
                    filter=[_LC.S3BucketLifecycleConfigurationRuleFilter()],
                    noncurrent_version_expiration=[
                        _LC.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=p.replaced_version_days)
                    ],
                    abort_incomplete_multipart_upload=[
                        _LC.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=1)
                    ],
                )
            ],
        )
        self.policy = aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "state-policy",
            bucket=self.bucket.id,
            policy=policy_json(self, deny_insecure_transport(self.bucket), *only_our_key(self.bucket, p.kms_key_arn)),
            depends_on=[block],
        )
        self.logging = (
            aws.s3_bucket_logging.S3BucketLoggingA(
                self, "state-logging", bucket=self.bucket.id, target_bucket=p.access_log_bucket, target_prefix="state/"
            )
            if p.access_log_bucket
            else None
        )


def state_bucket_name(namer: Namer) -> str:
    """The state bucket's name (the access-log bucket's policy names it before the bucket exists)."""
    return namer.name(ResourceType.S3_BUCKET, "state")
