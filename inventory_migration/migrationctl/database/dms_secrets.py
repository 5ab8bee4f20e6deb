"""``secret fill``: put a database's credentials into a DMS endpoint's secret, proven first.

The stack creates each DMS endpoint's secret empty (credentials never pass through Terraform state); DMS reads
``{"username", "password", "host", "port"}`` from it. This command connects with the connection string the operator
already uses (libpq: the DSN, ``PGPASSWORD``, ``~/.pgpass``), so the credentials are known to work, and writes what
that connection used: the user, the password libpq sent, the host and the port (``--host`` when DMS reaches the
server by another name than this machine does). The password is never printed.

The reverse task's on-prem endpoint (``reverse-target``) is created with the ``cutover`` phase: fill it then, as the
role the way back writes as (it needs ``session_replication_role``: a superuser on PostgreSQL 13 — the cutover's
privileges gate checks it with ``--reverse-user``).

The application's secret (``app``, which the ECS tasks receive as ``DATABASE_CREDENTIALS``) is filled the same way,
from the application role's connection to Aurora: ``roles copy`` creates the role without a password, the operator
sets one (``ALTER ROLE ... PASSWORD``, from their password source), and this proves it works before the tasks use it.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.secrets import username

__all__ = ["Endpoint", "Filled", "credentials", "fill", "username"]


class Endpoint(Enum):
    """The DMS endpoint whose secret is filled, and the stack output that names the secret."""

    SOURCE = "source"
    TARGET = "target"
    REVERSE_TARGET = "reverse-target"
    APP = "app"
    """Not DMS's: the application's database secret (the same four keys)."""

    @property
    def output(self) -> StackOutput:
        return {
            Endpoint.SOURCE: StackOutput.DMS_SOURCE_SECRET_ARN,
            Endpoint.TARGET: StackOutput.DMS_TARGET_SECRET_ARN,
            Endpoint.REVERSE_TARGET: StackOutput.DMS_REVERSE_TARGET_SECRET_ARN,
            Endpoint.APP: StackOutput.APP_DATABASE_SECRET_ARN,
        }[self]


@dataclasses.dataclass(frozen=True)
class Filled:
    endpoint: Endpoint
    secret_arn: str
    username: str
    host: str
    port: int


def credentials(dsn: str, role: str, *, host: str = "") -> dict[str, Any]:
    """What DMS needs, from a working connection: user, the password libpq used, host (or ``host``), port."""
    with connection(dsn, role) as conn:
        info = conn.info
        password = info.password
        if not password:
            raise UsageError(
                f"the {role} connection used no password (trust or peer authentication?): DMS needs one; "
                "give it in the DSN, PGPASSWORD or ~/.pgpass"
            )
        return {"username": info.user, "password": password, "host": host or info.host, "port": int(info.port)}


def fill(secretsmanager: Any, endpoint: Endpoint, secret_arn: str, values: dict[str, Any]) -> Filled:
    secretsmanager.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(values))
    return Filled(endpoint, secret_arn, values["username"], values["host"], values["port"])
