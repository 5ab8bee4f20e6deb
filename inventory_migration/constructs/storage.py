"""S3 for the ~2 TB of product images, keys mirroring the on-prem directory tree.

Versioned, SSE-KMS with a bucket key, BucketOwnerEnforced, all public access blocked, a policy that
denies plain HTTP and uploads encrypted any other way than with our key, a lifecycle sized for images
that stay readable in milliseconds (Standard-IA, then Glacier Instant Retrieval), and server access logs
to a second bucket. Server access logging cannot deliver to an SSE-KMS bucket, so the log bucket uses
SSE-S3: the one documented exception to customer-managed keys (see ``rules/encryption.py: ENCRYPTION_EXCEPTIONS``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from inventory_migration.config import StorageConfig
from inventory_migration.synth.cdk import Construct, aws, depend_on
from inventory_migration.synth.iam import policy_json, statement
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.tagging import name_tag

_LC = aws.s3_bucket_lifecycle_configuration
_SSE = aws.s3_bucket_server_side_encryption_configuration

BLOCK_ALL_PUBLIC_ACCESS = {
    "block_public_acls": True,
    "block_public_policy": True,
    "ignore_public_acls": True,
    "restrict_public_buckets": True,
}
"""Secure default: no public access, whatever an ACL or policy says."""
OBJECT_OWNERSHIP = "BucketOwnerEnforced"
"""ACLs disabled; the bucket owner owns every object."""

ELB_LOG_DELIVERY_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-south-1": "718504428378",
    "sa-east-1": "507241528517",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-northeast-3": "383597477331",
    "ap-southeast-3": "589379963580",
    "eu-south-1": "635631232127",
    "me-south-1": "076674570225",
    "us-gov-east-1": "190560391635",
    "us-gov-west-1": "048591011584",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
}
"""Elastic Load Balancing's log-delivery account per region that existed before August 2022 (ELB user guide, "Enable
access logs for your Application Load Balancer"); newer regions deliver as the service principal
``logdelivery.elasticloadbalancing.amazonaws.com``."""


def private_bucket(
    scope: Construct, construct_id: str, name: str, *, force_destroy: bool
) -> tuple[aws.s3_bucket.S3Bucket, aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock]:
    """A bucket with ACLs disabled, every kind of public access blocked and versioning on; with its public access
    block (a bucket policy is put after it)."""
    bucket = aws.s3_bucket.S3Bucket(scope, construct_id, bucket=name, force_destroy=force_destroy, tags=name_tag(name))
    aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
        scope,
        f"{construct_id}-ownership",
        bucket=bucket.id,
        rule=aws.s3_bucket_ownership_controls.S3BucketOwnershipControlsRule(object_ownership=OBJECT_OWNERSHIP),
    )
    block = aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
        scope, f"{construct_id}-public-access", bucket=bucket.id, **BLOCK_ALL_PUBLIC_ACCESS
    )
    aws.s3_bucket_versioning.S3BucketVersioningA(
        scope,
        f"{construct_id}-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(status="Enabled"),
    )
    return bucket, block


def default_encryption(scope: Construct, construct_id: str, bucket: aws.s3_bucket.S3Bucket, *, kms_key_arn: str | None) -> None:
    """Default encryption: SSE-KMS with ``kms_key_arn`` and a bucket key, or SSE-S3 (``kms_key_arn=None``)."""
    by_default = _SSE.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA
    rule = (
        _SSE.S3BucketServerSideEncryptionConfigurationRuleA(
            apply_server_side_encryption_by_default=by_default(sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn),
            bucket_key_enabled=True,
        )
        if kms_key_arn is not None
        else _SSE.S3BucketServerSideEncryptionConfigurationRuleA(
            apply_server_side_encryption_by_default=by_default(sse_algorithm="AES256")
        )
    )
    aws.s3_bucket_server_side_encryption_configuration.S3BucketServerSideEncryptionConfigurationA(
        scope, construct_id, bucket=bucket.id, rule=[rule]
    )


def deny_insecure_transport(bucket: aws.s3_bucket.S3Bucket) -> dict[str, object]:
    """Policy statement: no request over plain HTTP."""
    return statement(
        "DenyInsecureTransport",
        ["s3:*"],
        [bucket.arn, f"{bucket.arn}/*"],
        effect="Deny",
        principal="*",
        condition={"Bool": {"aws:SecureTransport": "false"}},
    )


def only_our_key(bucket: aws.s3_bucket.S3Bucket, kms_key_arn: str) -> list[dict[str, object]]:
    """Policy statements: uploads only SSE-KMS, and only with ``kms_key_arn``."""
    return [
        statement(
            "DenyOtherEncryption",
            ["s3:PutObject"],
            [f"{bucket.arn}/*"],
            effect="Deny",
            principal="*",
            condition={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        ),
        statement(
            "DenyOtherKmsKeys",
            ["s3:PutObject"],
            [f"{bucket.arn}/*"],
            effect="Deny",
            principal="*",
            condition={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn}},
        ),
    ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageStorageWiring:
    """What :class:`ImageStorage` takes from the stack besides its settings (``[storage]``, ``StorageConfig``)."""

    namer: Namer
    """Derives bucket names."""
    account_id: str
    """Account that owns the buckets (for the log delivery condition)."""
    partition: str
    """AWS partition."""
    region: str
    """Region of the load balancer, which decides the log-delivery principal."""
    kms_key_arn: str
    """CMK of the image bucket."""
    load_balancer_log_prefix: str
    """When not empty, the log bucket also takes Application Load Balancer access logs under this prefix (they need
    SSE-S3, like server access logs)."""
    logged_bucket_names: tuple[str, ...]
    """Other buckets whose S3 server access logs the log bucket takes (each under its own prefix)."""


class ImageStorage(Construct):
    """The image bucket and its access-log bucket."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: StorageConfig, wiring: ImageStorageWiring) -> None:
        super().__init__(scope, construct_id)
        self.settings, self.wiring = settings, wiring
        self._public_access_blocks: dict[str, aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock] = {}
        self.log_bucket = self._access_log_bucket()
        self.bucket = self._image_bucket()
        self.logging = aws.s3_bucket_logging.S3BucketLoggingA(
            self,
            "images-logging",
            bucket=self.bucket.id,
            target_bucket=self.log_bucket.id,
            target_prefix="images/",
        )
        self.bucket_policy = self._image_bucket_policy()
        self.log_bucket_policy = self._access_log_bucket_policy()
        # Logging is switched on once the log bucket lets the logging service write (S3 checks it on PutBucketLogging).
        depend_on(self.logging, self.log_bucket_policy)

    def _encryption(self, construct_id: str, bucket: aws.s3_bucket.S3Bucket, *, kms_key_arn: str | None) -> None:
        default_encryption(self, construct_id, bucket, kms_key_arn=kms_key_arn)

    def _abort_incomplete_uploads(self) -> list[Any]:
        s = self.settings
        return [
            _LC.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                days_after_initiation=s.abort_incomplete_multipart_days
            )
        ]

    def _access_log_bucket(self) -> aws.s3_bucket.S3Bucket:
        """The access-log bucket: SSE-S3 (the one encryption exception), logs expire."""
        s = self.settings
        bucket = self._bucket("access-logs", "access-logs")
        self._encryption("access-logs-encryption", bucket, kms_key_arn=None)
        aws.s3_bucket_lifecycle_configuration.S3BucketLifecycleConfiguration(
            self,
            "access-logs-lifecycle",
            bucket=bucket.id,
            rule=[
                _LC.S3BucketLifecycleConfigurationRule(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=[_LC.S3BucketLifecycleConfigurationRuleFilter()],
                    expiration=[_LC.S3BucketLifecycleConfigurationRuleExpiration(days=s.access_log_retention_days)],
                    noncurrent_version_expiration=[
                        _LC.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=30)
                    ],
                    abort_incomplete_multipart_upload=self._abort_incomplete_uploads(),
                )
            ],
        )
        return bucket

    def _image_bucket(self) -> aws.s3_bucket.S3Bucket:
        """The image bucket: SSE-KMS with our key, larger images to colder tiers, old versions to Glacier then gone."""
        s, w = self.settings, self.wiring
        bucket = self._bucket("images", "images")
        self._encryption("images-encryption", bucket, kms_key_arn=w.kms_key_arn)
        aws.s3_bucket_lifecycle_configuration.S3BucketLifecycleConfiguration(
            self,
            "images-lifecycle",
            bucket=bucket.id,
            rule=[
                _LC.S3BucketLifecycleConfigurationRule(
                    id="larger-images-to-colder-tiers",
                    status="Enabled",
                    filter=[
                        _LC.S3BucketLifecycleConfigurationRuleFilter(
                            object_size_greater_than=s.infrequent_access_min_object_bytes
                        )
                    ],
                    transition=[
                        _LC.S3BucketLifecycleConfigurationRuleTransition(
                            days=s.infrequent_access_days, storage_class="STANDARD_IA"
                        ),
                        _LC.S3BucketLifecycleConfigurationRuleTransition(
                            days=s.glacier_instant_retrieval_days, storage_class="GLACIER_IR"
                        ),
                    ],
                ),
                _LC.S3BucketLifecycleConfigurationRule(
                    id="noncurrent-versions",
                    status="Enabled",
                    filter=[_LC.S3BucketLifecycleConfigurationRuleFilter()],
                    noncurrent_version_transition=[
                        _LC.S3BucketLifecycleConfigurationRuleNoncurrentVersionTransition(
                            noncurrent_days=s.noncurrent_glacier_days, storage_class="GLACIER"
                        )
                    ],
                    noncurrent_version_expiration=[
                        _LC.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=s.noncurrent_expiration_days
                        )
                    ],
                    abort_incomplete_multipart_upload=self._abort_incomplete_uploads(),
                    expiration=[_LC.S3BucketLifecycleConfigurationRuleExpiration(expired_object_delete_marker=True)],
                ),
            ],
        )
        return bucket

    def _image_bucket_policy(self) -> aws.s3_bucket_policy.S3BucketPolicy:
        """TLS only; uploads only SSE-KMS with our key."""
        w = self.wiring
        return aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "images-policy",
            bucket=self.bucket.id,
            policy=policy_json(
                self,
                self._deny_insecure_transport(self.bucket),
                *only_our_key(self.bucket, w.kms_key_arn),
            ),
            depends_on=[self._public_access_blocks["images"]],
        )

    def _access_log_bucket_policy(self) -> aws.s3_bucket_policy.S3BucketPolicy:
        """TLS only; S3 server access logs of the image bucket (and of ``logged_bucket_names``) and the load
        balancer's access logs may be delivered."""
        w = self.wiring
        return aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "access-logs-policy",
            bucket=self.log_bucket.id,
            policy=policy_json(
                self,
                self._deny_insecure_transport(self.log_bucket),
                statement(
                    "S3ServerAccessLogDelivery",
                    ["s3:PutObject"],
                    [f"{self.log_bucket.arn}/*"],
                    principal={"Service": "logging.s3.amazonaws.com"},
                    condition={
                        "ArnLike": {
                            "aws:SourceArn": [self.bucket.arn, *(f"arn:{w.partition}:s3:::{n}" for n in w.logged_bucket_names)]
                            if w.logged_bucket_names
                            else self.bucket.arn
                        },
                        "StringEquals": {"aws:SourceAccount": w.account_id},
                    },
                ),
                *self._load_balancer_log_delivery(),
            ),
            depends_on=[self._public_access_blocks["access-logs"]],
        )

    def _bucket(self, construct_id: str, qualifier: str) -> aws.s3_bucket.S3Bucket:
        name = self.wiring.namer.name(ResourceType.S3_BUCKET, qualifier)
        bucket, self._public_access_blocks[construct_id] = private_bucket(
            self, construct_id, name, force_destroy=self.settings.force_destroy
        )
        return bucket

    def _load_balancer_log_delivery(self) -> list[dict[str, object]]:
        w = self.wiring
        if not w.load_balancer_log_prefix:
            return []
        account = ELB_LOG_DELIVERY_ACCOUNTS.get(w.region)
        principal = (
            {"AWS": f"arn:{w.partition}:iam::{account}:root"}
            if account
            else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
        )
        return [
            statement(
                "LoadBalancerAccessLogDelivery",
                ["s3:PutObject"],
                [f"{self.log_bucket.arn}/{w.load_balancer_log_prefix}/AWSLogs/{w.account_id}/*"],
                principal=principal,
            )
        ]

    @staticmethod
    def _deny_insecure_transport(bucket: aws.s3_bucket.S3Bucket) -> dict[str, object]:
        return deny_insecure_transport(bucket)
