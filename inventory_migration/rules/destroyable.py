"""In a destroyable environment (dev) nothing blocks ``terraform destroy`` or keeps data behind."""

from __future__ import annotations

from inventory_migration.rules.core import NA, OK, Finding, Resource, RuleContext, bad


def rule_destroyable(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """In a destroyable environment nothing blocks ``terraform destroy`` or keeps data behind."""
    if not ctx.destroyable:
        return NA
    if config.get("lifecycle", {}).get("prevent_destroy"):
        return bad("lifecycle.prevent_destroy is set")
    checks = {
        "aws_rds_cluster": [
            (config.get("deletion_protection") is True, "deletion_protection is on"),
            (config.get("skip_final_snapshot") is not True, "a final snapshot would be kept"),
        ],
        "aws_s3_bucket": [(config.get("force_destroy") is not True, "force_destroy is off")],
        "aws_secretsmanager_secret": [(config.get("recovery_window_in_days") != 0, "recovery window keeps the secret")],
        "aws_kms_key": [(config.get("deletion_window_in_days", 30) > 7, "deletion window longer than 7 days")],
        "aws_lb": [(config.get("enable_deletion_protection") is True, "deletion protection is on")],
    }.get(resource_type, [])
    problems = [msg for broken, msg in checks if broken]
    return bad("; ".join(problems)) if problems else OK
