"""The one place that imports the CDK for Terraform libraries.

Every module of this package takes cdktf, constructs and the AWS provider bindings from here, so
moving to CDK Terrain (``cdktn``), the maintained fork of cdktf, or to another provider-bindings
release changes this file only.
"""

from __future__ import annotations

import cdktf_cdktf_provider_aws as aws
from cdktf import (
    App,
    Aspects,
    Fn,
    IAspect,
    LocalBackend,
    S3Backend,
    TerraformElement,
    TerraformOutput,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    TerraformVariable,
    Testing,
    Token,
)
from constructs import Construct, IConstruct

__all__ = [
    "App",
    "Aspects",
    "Construct",
    "Fn",
    "IAspect",
    "IConstruct",
    "LocalBackend",
    "S3Backend",
    "TerraformElement",
    "TerraformOutput",
    "TerraformResource",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "TerraformVariable",
    "Testing",
    "Token",
    "aws",
]
