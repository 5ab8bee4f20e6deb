"""The database commands' connection and usage errors, and the console script, against a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.migrationctl.database.support import execute, run


def test_unreachable_server() -> None:
    code, out, err = run("preflight", "host=127.0.0.1 port=1 dbname=x user=x password=secret-pw connect_timeout=2")
    assert code == 2 and out == ""
    assert err.startswith("migrationctl: error: cannot connect to the source (host 127.0.0.1 port 1 database x user x)")
    assert "secret-pw" not in err and "Traceback" not in err and err.count("\n") == 1


def test_wrong_password(pg_server: Any) -> None:
    code, _out, err = run("verify", pg_server.dsn("postgres", password="wrong"), pg_server.dsn("postgres"))
    assert code == 2 and "password authentication failed" in err and "wrong" not in err.replace("wrong password", "")
    assert err.count("\n") == 1


def test_missing_privileges(pg_server: Any, source_db: str, target_copy: str) -> None:
    execute(
        source_db,
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nobody') THEN "
        "CREATE ROLE nobody LOGIN PASSWORD 'nobody-pw'; END IF; END $$",
    )
    code, _out, err = run("verify", "--data-only", pg_server.dsn("inv_source", user="nobody", password="nobody-pw"), target_copy)
    assert code == 2 and err.startswith("migrationctl: error:") and "permission denied" in err and err.count("\n") == 1


def test_unknown_table(source_db: str, target_copy: str) -> None:
    code, _out, err = run("verify", "--tables", "catalog.nope", source_db, target_copy)
    assert code == 2 and "unknown table(s) in --tables: catalog.nope" in err and err.count("\n") == 1


def test_console_script_as_a_user_runs_it(source_db: str, target_copy: str, tmp_path: Path) -> None:
    """The installed `migrationctl` entry point, DSNs from the environment, exit codes as documented."""
    import os
    import shutil
    import subprocess
    import sys

    binary = shutil.which("migrationctl", path=str(Path(sys.executable).parent))
    assert binary, "the package is installed editable by pipenv: migrationctl is on the venv's PATH"
    env = {**os.environ, "MIGRATION_SOURCE_DSN": source_db, "MIGRATION_TARGET_DSN": target_copy}
    ok = subprocess.run(
        [binary, "verify", "--tables", "inventory.warehouse"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert ok.returncode == 0 and "RESULT: target equals source" in ok.stdout
    assert "password" not in ok.stdout + ok.stderr
    bad = subprocess.run(
        [binary, "verify", "--tables", "nope"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    usage = subprocess.run([binary, "--output", "yaml", "lag"], env=env, capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "invalid choice: 'yaml'" in usage.stderr
