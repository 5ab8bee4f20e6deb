"""The PostgreSQL client programs (pg_dump, pg_restore), run without a password on the command line."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import psycopg

from inventory_migration.migrationctl.errors import UsageError

CONNINFO_ENV = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "service": "PGSERVICE",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}
"""Connection keywords and the libpq environment variables that carry them."""


def libpq_env(dsn: str) -> dict[str, str]:
    """The environment a libpq program needs for ``dsn`` (so no secret lands in ``ps`` output)."""
    env = dict(os.environ)
    for key, value in psycopg.conninfo.conninfo_to_dict(dsn).items():
        if key in CONNINFO_ENV and value is not None:
            env[CONNINFO_ENV[key]] = str(value)
    return env


def find_program(name: str) -> str:
    """The newest ``name`` from Debian's versioned directories, else the PATH (pg_dump must be >= the server)."""
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]), reverse=True)
    found = versions[0] if versions else shutil.which(name)
    if not found:
        raise UsageError(f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)")
    return found


def run(program: str, args: list[str], dsn: str, role: str) -> str:
    proc = subprocess.run([find_program(program), *args], env=libpq_env(dsn), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.strip().splitlines() if line.strip()]
        errors = [line for line in lines if "ERROR:" in line or "error:" in line or "FATAL:" in line]
        reason = (errors or lines or [f"exit {proc.returncode}"])[0]
        raise UsageError(f"{program} failed on the {role}: {reason}")
    return proc.stdout
