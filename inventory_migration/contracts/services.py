"""The AWS services DMS and the app reach from inside the VPC, and how: through an interface endpoint each (private
DNS on, so the service's own name resolves to it), S3 through its gateway endpoint. One declaration, read by the
stack (``constructs/endpoints.py`` creates one endpoint per member) and by the flow matrix
(``reachability/flows.py`` proves each client reaches it without leaving the VPC).

Not here, and why: STS (the tasks' credentials come from the ECS credential endpoint, 169.254.170.2, inside the
task's network; DMS assumes its roles on the service side); KMS (Secrets Manager, S3, CloudWatch Logs and Aurora
call it on the service side, never from the client's address). CloudWatch metrics, SNS, DMS and ELB APIs are called
by the operator's host, not from the VPC.
"""

from __future__ import annotations

from enum import Enum


class InterfaceService(Enum):
    """An AWS service with an interface endpoint in the VPC; the value is its endpoint service's suffix
    (``com.amazonaws.<region>.<value>``)."""

    SECRETS_MANAGER = "secretsmanager"
    """DMS reads its endpoints' credentials; ECS injects the app's database secret."""
    LOGS = "logs"
    """The app's tasks send their logs (awslogs driver)."""
    ECR_API = "ecr.api"
    """The image pull's authorisation and manifest calls."""
    ECR_DKR = "ecr.dkr"
    """The image pull itself (the layers then come from S3, through the gateway endpoint)."""

    @property
    def qualifier(self) -> str:
        """The endpoint's name qualifier (``ecr-api``)."""
        return self.value.replace(".", "-")

    def service_name(self, region: str) -> str:
        return f"com.amazonaws.{region}.{self.value}"


GATEWAY_SERVICE = "s3"
"""S3, reached through the VPC's gateway endpoint (a prefix-list route), not an interface endpoint."""
