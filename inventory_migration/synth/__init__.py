"""Synth building blocks: what the constructs and the stack are written with.

================ ==========================================================================================
module           what
================ ==========================================================================================
``cdk``          every cdktf import (moving to CDK Terrain changes this file only)
``runtime``      a supported Node.js for jsii, chosen before cdktf is imported
``naming``       physical names ``{resource-type}-{environment}-{suffix}``, checked against each AWS limit
``tagging``      the tags every resource carries
``iam``          IAM and KMS policy building blocks
``rendering``    how a JSON document becomes a Terraform string (JSON or HCL synth)
``dms_settings`` DMS table mappings and task settings as typed Python
================ ==========================================================================================
"""
