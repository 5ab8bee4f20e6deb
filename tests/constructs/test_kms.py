"""The encryption keys construct (constructs/kms.py) in a fresh stack."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import resources_of, synth_of
from tests.constructs.build import NAMER, policy


def test_kms_keys_rotate_with_scoped_policies(construct_stack: Any) -> None:
    from inventory_migration.config import KmsConfig
    from inventory_migration.constructs.kms import EncryptionKeys, EncryptionKeysWiring

    EncryptionKeys(
        construct_stack,
        "kms",
        settings=KmsConfig(),
        wiring=EncryptionKeysWiring(
            namer=NAMER, region="us-east-1", account_id="123456789012", partition="aws", fargate_cluster_name=""
        ),
    )
    synth = synth_of(construct_stack)
    keys = resources_of(synth, "aws_kms_key")
    assert len(keys) == 3
    assert all(k["enable_key_rotation"] and k["deletion_window_in_days"] == 7 for k in keys)
    aliases = sorted(a["name"] for a in resources_of(synth, "aws_kms_alias"))
    assert aliases == ["alias/kms-ops-dev-t1", "alias/kms-rds-dev-t1", "alias/kms-s3-dev-t1"]
    by_name = {k["tags"]["Name"]: policy(k) for k in keys}
    rds = {s["Sid"]: s for s in by_name["kms-rds-dev-t1"]["Statement"]}
    assert rds["ServicesUseOnBehalfOfAccount"]["Condition"]["StringEquals"]["kms:ViaService"] == ["rds.us-east-1.amazonaws.com"]
    assert set(rds) == {"AccountAdministers", "ServicesUseOnBehalfOfAccount"}
    ops = {s["Sid"]: s for s in by_name["kms-ops-dev-t1"]["Statement"]}
    assert ops["ServicesUseOnBehalfOfAccount"]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "sns.us-east-1.amazonaws.com",
        "secretsmanager.us-east-1.amazonaws.com",
        "dms.us-east-1.amazonaws.com",
    ]
    logs = ops["CloudWatchLogsEncryptsOurLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:*"
    assert "cloudwatch.amazonaws.com" in ops["PublishersWriteToEncryptedTopic"]["Principal"]["Service"]


def test_kms_settings_reject_a_bad_deletion_window() -> None:
    from inventory_migration.config import ConfigError, KmsConfig

    with pytest.raises(ConfigError, match="deletion_window_days = 5"):
        KmsConfig(deletion_window_days=5)
