"""Checkov on the synthesized JSON: the skips we accept, each with its reason, in this one place.

A skip lists the environments it applies to; anything else checkov flags fails the test run.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

ALL_ENVIRONMENTS = ("*",)


@dataclasses.dataclass(frozen=True)
class CheckovSkip:
    reason: str
    environments: tuple[str, ...] = ALL_ENVIRONMENTS

    def applies_to(self, environment: str) -> bool:
        return self.environments == ALL_ENVIRONMENTS or environment in self.environments


CHECKOV_SKIPS: Mapping[str, CheckovSkip] = {
    "CKV_AWS_139": CheckovSkip(
        "dev is destroyable by design (deletion_protection = false); prod turns deletion protection on.",
        ("dev",),
    ),
    "CKV_AWS_145": CheckovSkip(
        "The access-log bucket: S3 server access logging only delivers to SSE-S3 buckets; the image bucket uses the S3 CMK."
    ),
    "CKV_AWS_144": CheckovSkip(
        "Cross-region replication is out of scope: the on-prem file system stays the second copy until decommission, "
        "and the migration targets one region (us-east-1)."
    ),
    "CKV2_AWS_62": CheckovSkip("No consumer of S3 event notifications exists; the image sync is driven by the runbook."),
    "CKV2_AWS_8": CheckovSkip(
        "Aurora automated backups (retention from config, PITR) cover the migration; an AWS Backup plan belongs to the "
        "post-migration operations baseline."
    ),
    "CKV2_AWS_57": CheckovSkip(
        "The DMS endpoint secrets are filled by the runbook for the migration's lifetime; rotating them mid-CDC would "
        "break replication. The Aurora master secret is managed (and rotated) by RDS."
    ),
    "CKV_AWS_300": CheckovSkip(
        "False positive: both lifecycle configurations abort incomplete multipart uploads in a rule with an empty "
        "filter {} (all objects), which checkov 3.2's terraform_json view reads as a non-empty filter. "
        "tests/test_constructs.py asserts the abort rule."
    ),
    "CKV_AWS_150": CheckovSkip(
        "dev is destroyable by design: the load balancer has no deletion protection there; prod turns it on "
        "(app.deletion_protection = true).",
        ("dev",),
    ),
}
"""Checkov checks we skip, with the reason and the environments each applies to."""


def skipped_checks(environment: str) -> list[str]:
    """Check ids to pass to ``--skip-check`` for one environment."""
    return sorted(check for check, skip in CHECKOV_SKIPS.items() if skip.applies_to(environment))


def checkov_view(synth: Mapping[str, Any]) -> dict[str, Any]:
    """The synthesized stack as checkov 3.2's ``terraform_json`` parser can read it.

    That parser expects every entry of the ``terraform`` block to be an object and crashes on the scalar
    ``required_version`` (fixed in checkov 3.3, which pins an old boto3 we cannot lock with). Only that
    scalar is dropped: it constrains the CLI version and holds nothing checkov checks.
    """
    view = copy.deepcopy(dict(synth))
    terraform = dict(view.get("terraform", {}))
    view["terraform"] = {k: v for k, v in terraform.items() if isinstance(v, dict)}
    return view
