"""Connections: DSNs from flags, environment or libpq conventions; never printed.

A DSN may be a libpq connection string or URI, or empty: then libpq's own environment (``PGHOST``,
``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``, ``PGSERVICE``, ``~/.pgpass``) applies. Errors name the
role of the connection (source/target), host, port and database, never the password or the DSN itself.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from inventory_migration.contracts.environment import Variable
from inventory_migration.migrationctl.errors import UsageError

SOURCE_ENV = Variable.MIGRATION_SOURCE_DSN
TARGET_ENV = Variable.MIGRATION_TARGET_DSN
CONNECT_TIMEOUT_SECONDS = 10
SESSION_SETTINGS: Mapping[str, str] = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
}
"""Settings that make a row's text identical on both sides, whatever each server's defaults are."""


def resolve_dsn(value: str | None, env_var: str, environ: Mapping[str, str] | None = None) -> str:
    """The flag's DSN, else ``env_var``, else empty (libpq's own environment)."""
    env = os.environ if environ is None else environ
    return value if value is not None else env.get(env_var, "")


def dsn_from_secret(secretsmanager: Any, secret_id: str, base: str = "") -> str:
    """``base`` with the user, password, host, port (and database, when the secret names one) of a Secrets Manager
    secret in the shape RDS and DMS use (``username``, ``password``, ``host``, ``port``, ``dbname``)."""
    try:
        value = json.loads(secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"])
    except (KeyError, ValueError):
        raise UsageError(f"secret {secret_id} holds no JSON with username and password") from None
    if not isinstance(value, dict) or not value.get("username") or not value.get("password"):
        raise UsageError(f"secret {secret_id} holds no JSON with username and password")
    fields = {"user": value["username"], "password": value["password"]}
    fields |= {k: str(value[s]) for k, s in (("host", "host"), ("port", "port"), ("dbname", "dbname")) if value.get(s)}
    return str(psycopg.conninfo.make_conninfo(base, **fields))


def with_iam_token(rds: Any, dsn: str) -> str:
    """``dsn`` with an RDS IAM authentication token as its password (valid 15 minutes; TLS required)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    host = info.get("host") or os.environ.get(Variable.PGHOST)
    user = info.get("user") or os.environ.get(Variable.PGUSER)
    if not host or not user:
        raise UsageError("--target-iam-auth needs the target's host and user (in the DSN, PGHOST / PGUSER, or --target-secret)")
    port = int(info.get("port") or os.environ.get(Variable.PGPORT) or 5432)
    token = rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user)
    return str(psycopg.conninfo.make_conninfo(dsn, password=token, sslmode=str(info.get("sslmode") or "require")))


def describe(dsn: str) -> str:
    """Host, port, database and user of a DSN, for messages; never the password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "an unparsable connection string"
    host = info.get("host") or os.environ.get(Variable.PGHOST, "local socket")
    port = info.get("port") or os.environ.get(Variable.PGPORT, "5432")
    dbname = info.get("dbname") or os.environ.get(Variable.PGDATABASE, "default database")
    user = info.get("user") or os.environ.get(Variable.PGUSER, "default user")
    return f"host {host} port {port} database {dbname} user {user}"


def database_identity(dsn: str) -> str:
    """``host:port/dbname`` of a DSN: which database a record was taken of (never the user or the password)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"{info.get('host')}:{info.get('port')}/{info.get('dbname')}"


def _reason(err: Exception) -> str:
    text = str(err).strip().splitlines()
    # psycopg puts the server's last word last ("FATAL: password authentication failed for user ...").
    useful = [line for line in text if line.strip()]
    return useful[-1].strip() if useful else type(err).__name__


def connect(dsn: str, role: str, *, autocommit: bool = True, read_only: bool = False) -> psycopg.Connection:
    """Connect with the session settings that make row text comparable; raise :class:`UsageError` on failure."""
    try:
        conn = psycopg.connect(
            dsn, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name="migrationctl"
        )
    except psycopg.Error as err:
        raise UsageError(f"cannot connect to the {role} ({describe(dsn)}): {_reason(err)}") from None
    with conn.cursor() as cur:
        for name, value in SESSION_SETTINGS.items():
            cur.execute(sql.SQL("SELECT set_config({}, {}, false)").format(sql.Literal(name), sql.Literal(value)))
        if read_only:
            cur.execute("SET default_transaction_read_only = on")
    return conn


@contextlib.contextmanager
def connection(dsn: str, role: str, *, read_only: bool = False) -> Iterator[psycopg.Connection]:
    conn = connect(dsn, role, read_only=read_only)
    try:
        yield conn
    finally:
        conn.close()


Params = Sequence[Any] | Mapping[str, Any] | None


def query(conn: psycopg.Connection, statement: str | sql.SQL | sql.Composed, params: Params = None) -> list[tuple[Any, ...]]:
    """Run one statement; its rows (or none)."""
    with conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def qualified(schema: str, name: str) -> sql.Identifier:
    return sql.Identifier(schema, name)


def privilege_error(err: psycopg.Error, role: str, what: str) -> UsageError:
    return UsageError(f"the {role} user lacks a privilege to {what}: {_reason(err)}")
