"""What the concerns read of a secret the stack created: plumbing, shared by ``preflight`` (which users to check) and
``cutover`` (which user to fence)."""

from __future__ import annotations

import json
from typing import Any


def username(secretsmanager: Any, secret_arn: str) -> str:
    """The ``username`` an endpoint's secret holds; empty while the secret has no value yet (``secret fill``)."""
    from botocore.exceptions import ClientError

    try:
        value = json.loads(secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":  # created empty by the stack
            return ""
        raise
    except (KeyError, ValueError):
        return ""
    return str(value.get("username") or "") if isinstance(value, dict) else ""
