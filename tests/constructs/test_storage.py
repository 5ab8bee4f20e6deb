"""The image storage construct (constructs/storage.py) in a fresh stack."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import one, resources_of, synth_of
from tests.constructs.build import KEY, NAMER, policy, settings_and_wiring


def storage(**overrides: Any) -> dict[str, Any]:
    from inventory_migration.config import StorageConfig
    from inventory_migration.constructs.storage import ImageStorageWiring

    values: dict[str, Any] = dict(
        namer=NAMER,
        account_id="123456789012",
        partition="aws",
        region="us-east-1",
        kms_key_arn=KEY,
        load_balancer_log_prefix="",
        logged_bucket_names=(),
    )
    values.update(overrides)
    return settings_and_wiring(StorageConfig, ImageStorageWiring, values)


def test_image_storage(construct_stack: Any) -> None:
    from inventory_migration.constructs.storage import ImageStorage

    built = ImageStorage(construct_stack, "storage", **storage())
    synth = synth_of(construct_stack)
    buckets = {b["bucket"]: b for b in resources_of(synth, "aws_s3_bucket")}
    assert set(buckets) == {"s3-images-dev-t1", "s3-access-logs-dev-t1"}
    assert all(b["force_destroy"] for b in buckets.values())
    images_ref = f"${{aws_s3_bucket.{construct_stack.get_logical_id(built.bucket)}.id}}"
    encryption = {e["bucket"]: e["rule"][0] for e in resources_of(synth, "aws_s3_bucket_server_side_encryption_configuration")}
    assert encryption[images_ref]["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": KEY,
    }
    assert encryption[images_ref]["bucket_key_enabled"] is True
    assert all(
        o["rule"]["object_ownership"] == "BucketOwnerEnforced" for o in resources_of(synth, "aws_s3_bucket_ownership_controls")
    )
    assert all(
        all(b[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
        for b in resources_of(synth, "aws_s3_bucket_public_access_block")
    )
    assert all(v["versioning_configuration"]["status"] == "Enabled" for v in resources_of(synth, "aws_s3_bucket_versioning"))
    lifecycle = {lc["bucket"]: lc["rule"] for lc in resources_of(synth, "aws_s3_bucket_lifecycle_configuration")}[images_ref]
    tiers = lifecycle[0]
    assert tiers["filter"] == [{"object_size_greater_than": 131072}]
    assert [(t["days"], t["storage_class"]) for t in tiers["transition"]] == [(30, "STANDARD_IA"), (90, "GLACIER_IR")]
    noncurrent = lifecycle[1]
    assert noncurrent["noncurrent_version_transition"] == [{"noncurrent_days": 30, "storage_class": "GLACIER"}]
    assert noncurrent["noncurrent_version_expiration"] == [{"noncurrent_days": 365}]
    assert noncurrent["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert all(
        any(r.get("abort_incomplete_multipart_upload") for r in lc["rule"])
        for lc in resources_of(synth, "aws_s3_bucket_lifecycle_configuration")
    )
    statements = {s["Sid"]: s for p in resources_of(synth, "aws_s3_bucket_policy") for s in policy(p)["Statement"]}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["DenyOtherEncryption"]["Condition"]["StringNotEqualsIfExists"] == {
        "s3:x-amz-server-side-encryption": "aws:kms"
    }
    assert statements["S3ServerAccessLogDelivery"]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert one(synth, "aws_s3_bucket_logging")["target_prefix"] == "images/"


def test_the_log_bucket_takes_the_state_buckets_access_logs(construct_stack: Any) -> None:
    from inventory_migration.constructs.storage import ImageStorage

    ImageStorage(construct_stack, "storage", **storage(logged_bucket_names=("s3-state-dev-t1",)))
    statements = {
        s["Sid"]: s for p in resources_of(synth_of(construct_stack), "aws_s3_bucket_policy") for s in policy(p)["Statement"]
    }
    sources = statements["S3ServerAccessLogDelivery"]["Condition"]["ArnLike"]["aws:SourceArn"]
    assert sources[1:] == ["arn:aws:s3:::s3-state-dev-t1"]


def test_storage_settings_validation() -> None:
    from inventory_migration.config import ConfigError

    with pytest.raises(ConfigError) as info:
        storage(infrequent_access_days=10, glacier_instant_retrieval_days=20, noncurrent_expiration_days=1)
    assert all(
        s in str(info.value) for s in ("infrequent_access_days", "glacier_instant_retrieval_days", "noncurrent_expiration_days")
    )
