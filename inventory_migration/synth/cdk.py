"""The one place that imports the CDK for Terraform libraries.

Every module of this package takes cdktf, constructs and the AWS provider bindings from here, so
moving to CDK Terrain (``cdktn``), the maintained fork of cdktf, or to another provider-bindings
release changes this file only. Importing it points jsii at the project's supported Node first
(:func:`inventory_migration.synth.runtime.use_supported_node`), whoever imports it: the app, a test, a script.
"""

from __future__ import annotations

from inventory_migration.synth.runtime import use_supported_node

use_supported_node()  # before jsii starts (the first import below): its Node, not the end-of-life one on the PATH

import cdktf_cdktf_provider_aws as aws  # noqa: E402
from cdktf import (  # noqa: E402
    App,
    Aspects,
    AssetType,
    Fn,
    IAspect,
    LocalBackend,
    S3Backend,
    TerraformAsset,
    TerraformElement,
    TerraformOutput,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    TerraformVariable,
    Testing,
    Token,
)
from constructs import Construct, IConstruct  # noqa: E402


def depend_on(resource: TerraformResource, *dependencies: TerraformResource) -> None:
    """Add Terraform ``depends_on`` entries to a resource created elsewhere (``node.add_dependency`` does not)."""
    addresses = [f"{d.terraform_resource_type}.{d.friendly_unique_id}" for d in dependencies]
    resource.depends_on = [*(resource.depends_on or []), *addresses]


__all__ = [
    "App",
    "Aspects",
    "AssetType",
    "Construct",
    "Fn",
    "IAspect",
    "IConstruct",
    "LocalBackend",
    "S3Backend",
    "TerraformAsset",
    "TerraformElement",
    "TerraformOutput",
    "TerraformResource",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "TerraformVariable",
    "Testing",
    "Token",
    "aws",
    "depend_on",
]
