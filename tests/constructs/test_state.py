"""The operator state construct (constructs/state.py) in a fresh stack."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import one, synth_of
from tests.constructs.build import KEY, NAMER, policy


def test_operator_state_bucket(construct_stack: Any) -> None:
    """migrationctl's state: its own bucket, our key, versioned, private, TLS only, old versions expire."""
    from inventory_migration.constructs.state import OperatorState, OperatorStateProps

    props = OperatorStateProps(namer=NAMER, kms_key_arn=KEY, force_destroy=True, access_log_bucket="")
    state = OperatorState(construct_stack, "operator-state", props=props)
    synth = synth_of(construct_stack)
    bucket = one(synth, "aws_s3_bucket")
    assert bucket["bucket"] == "s3-state-dev-t1" and bucket["force_destroy"] is True
    ref = f"${{aws_s3_bucket.{construct_stack.get_logical_id(state.bucket)}.id}}"
    rule = one(synth, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY}
    assert one(synth, "aws_s3_bucket_versioning")["bucket"] == ref
    assert one(synth, "aws_s3_bucket_lifecycle_configuration")["rule"][0]["noncurrent_version_expiration"] == [
        {"noncurrent_days": 90}
    ]
    sids = {s["Sid"] for s in policy(one(synth, "aws_s3_bucket_policy"))["Statement"]}
    assert sids == {"DenyInsecureTransport", "DenyOtherEncryption", "DenyOtherKmsKeys"}


def test_operator_state_access_logs_go_to_the_log_bucket(construct_stack: Any) -> None:
    from inventory_migration.constructs.state import OperatorState, OperatorStateProps

    props = OperatorStateProps(namer=NAMER, kms_key_arn=KEY, force_destroy=True, access_log_bucket="s3-access-logs-dev-t1")
    OperatorState(construct_stack, "operator-state", props=props)
    logging = one(synth_of(construct_stack), "aws_s3_bucket_logging")
    assert (logging["target_bucket"], logging["target_prefix"]) == ("s3-access-logs-dev-t1", "state/")


def test_operator_state_props_validation() -> None:
    from inventory_migration.constructs.state import OperatorStateProps

    with pytest.raises(ValueError, match="replaced_version_days = 0: at least 1"):
        OperatorStateProps(namer=NAMER, kms_key_arn=KEY, force_destroy=True, access_log_bucket="", replaced_version_days=0)
