"""Customer-managed KMS keys: one for RDS, one for S3, one for operations.

Each key policy lets the account administer the key and lets exactly the services that use the key use
it, through ``kms:ViaService`` / ``kms:CallerAccount`` conditions or, for services that call KMS as
themselves (CloudWatch Logs, alarm and event publishers), their service principal with the narrowest
condition they support. Rotation is on; deletion uses the shortest window unless told otherwise.
"""

from __future__ import annotations

import dataclasses
from enum import Enum

from inventory_migration.config import KmsConfig
from inventory_migration.synth.cdk import Construct, aws
from inventory_migration.synth.iam import (
    KMS_ADMIN_ACTIONS,
    KMS_DECRYPT_ACTIONS,
    KMS_GRANT_ACTIONS,
    KMS_USE_ACTIONS,
    Statement,
    policy_json,
    statement,
)
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.tagging import name_tag

"""Shortest deletion window KMS allows: a destroyed dev environment is gone in a week."""
ENABLE_KEY_ROTATION = True
"""Yearly automatic rotation, always on."""


class KeyPurpose(Enum):
    """What a key encrypts; the value is the name qualifier."""

    RDS = "rds"
    """Aurora storage, snapshots and Performance Insights."""
    S3 = "s3"
    """The image bucket."""
    OPS = "ops"
    """SNS, CloudWatch Logs, Secrets Manager and DMS."""


VIA_SERVICES: dict[KeyPurpose, tuple[str, ...]] = {
    KeyPurpose.RDS: ("rds",),
    KeyPurpose.S3: ("s3",),
    KeyPurpose.OPS: ("sns", "secretsmanager", "dms"),
}
"""Services that use each key on a caller's behalf (``kms:ViaService``)."""

PUBLISHING_SERVICES = (
    "cloudwatch.amazonaws.com",
    "events.rds.amazonaws.com",
    "dms.amazonaws.com",
    "events.amazonaws.com",
)
"""Services that publish to the encrypted SNS topic as themselves (alarms, RDS and DMS events, EventBridge rules)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EncryptionKeysWiring:
    """What :class:`EncryptionKeys` takes from the stack besides its settings (``[kms]``, ``KmsConfig``)."""

    namer: Namer
    """Derives key and alias names."""
    region: str
    """Region the keys serve."""
    account_id: str
    """Account that owns the keys (a token from ``aws_caller_identity``)."""
    partition: str
    """AWS partition (a token from ``aws_partition``)."""
    fargate_cluster_name: str
    """ECS cluster whose Fargate tasks encrypt their ephemeral storage with the operations key (empty: none)."""


class EncryptionKeys(Construct):
    """The three customer-managed keys of the migration, each with an alias by the naming convention."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: KmsConfig, wiring: EncryptionKeysWiring) -> None:
        super().__init__(scope, construct_id)
        self.settings, self.wiring = settings, wiring
        self.keys: dict[KeyPurpose, aws.kms_key.KmsKey] = {}
        self.aliases: dict[KeyPurpose, aws.kms_alias.KmsAlias] = {}
        for purpose in KeyPurpose:
            name = wiring.namer.name(ResourceType.KMS_KEY, purpose.value)
            key = aws.kms_key.KmsKey(
                self,
                purpose.value,
                description=f"Inventory migration {purpose.value} data ({name})",
                enable_key_rotation=ENABLE_KEY_ROTATION,
                deletion_window_in_days=settings.deletion_window_days,
                policy=self.key_policy(purpose),
                tags=name_tag(name),
            )
            self.keys[purpose] = key
            self.aliases[purpose] = aws.kms_alias.KmsAlias(
                self, f"{purpose.value}-alias", name=f"alias/{name}", target_key_id=key.key_id
            )

    @property
    def rds(self) -> aws.kms_key.KmsKey:
        return self.keys[KeyPurpose.RDS]

    @property
    def s3(self) -> aws.kms_key.KmsKey:
        return self.keys[KeyPurpose.S3]

    @property
    def ops(self) -> aws.kms_key.KmsKey:
        return self.keys[KeyPurpose.OPS]

    def key_policy(self, purpose: KeyPurpose) -> str:
        w = self.wiring
        root = f"arn:{w.partition}:iam::{w.account_id}:root"
        statements: list[Statement] = [
            statement("AccountAdministers", KMS_ADMIN_ACTIONS, principal={"AWS": root}),
            statement(
                "ServicesUseOnBehalfOfAccount",
                [*KMS_USE_ACTIONS, *KMS_GRANT_ACTIONS],
                principal={"AWS": "*"},
                condition={
                    "StringEquals": {
                        "kms:CallerAccount": w.account_id,
                        "kms:ViaService": [f"{svc}.{w.region}.amazonaws.com" for svc in VIA_SERVICES[purpose]],
                    }
                },
            ),
        ]
        if purpose is KeyPurpose.OPS:
            statements.append(
                statement(
                    "CloudWatchLogsEncryptsOurLogGroups",
                    ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    principal={"Service": f"logs.{w.region}.amazonaws.com"},
                    condition={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": f"arn:{w.partition}:logs:{w.region}:{w.account_id}:log-group:*"
                        }
                    },
                )
            )
            statements.append(
                statement(
                    "PublishersWriteToEncryptedTopic",
                    KMS_DECRYPT_ACTIONS,
                    principal={"Service": list(PUBLISHING_SERVICES)},
                )
            )
            if w.fargate_cluster_name:
                statements += self._fargate_ephemeral_storage(w.fargate_cluster_name)
        return policy_json(self, *statements)

    def _fargate_ephemeral_storage(self, cluster_name: str) -> list[Statement]:
        """Fargate encrypts task storage of one cluster with this key (ECS developer guide, "Create an encryption key
        for Fargate ephemeral storage"; the statements aws-cdk-lib's ``Cluster`` adds)."""
        w = self.wiring
        context = {
            "kms:EncryptionContext:aws:ecs:clusterAccount": [w.account_id],
            "kms:EncryptionContext:aws:ecs:clusterName": [cluster_name],
        }
        fargate = {"Service": "fargate.amazonaws.com"}
        return [
            statement(
                "FargateGeneratesDataKeys",
                ["kms:GenerateDataKeyWithoutPlaintext"],
                principal=fargate,
                condition={"StringEquals": context},
            ),
            statement(
                "FargateCreatesDecryptGrants",
                ["kms:CreateGrant"],
                principal=fargate,
                condition={"StringEquals": context, "ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]}},
            ),
        ]
