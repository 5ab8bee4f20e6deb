"""A throwaway PostgreSQL server for tests and benchmarks (Debian's postgresql package).

initdb into a temporary directory, start on a free loopback port with ``wal_level=logical``, password
authentication over TCP. PostgreSQL refuses to run as root, so as root the server runs as ``postgres``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

SUPERUSER = "postgres"
PASSWORD = "test-password-1"


def find_bindir() -> Path | None:
    """Directory with initdb/pg_ctl/pg_dump: ``pg_config --bindir`` or Debian's layout, newest first."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for directory in candidates:
        if Path(directory, "initdb").exists():
            return Path(directory)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and Path(out, "initdb").exists():
            return Path(out)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One running cluster; ``dsn(dbname)`` gives a TCP DSN for the superuser."""

    def __init__(self, bindir: Path, root: Path, *, settings: dict[str, str] | None = None) -> None:
        self.bindir = bindir
        self.root = root
        self.datadir = root / "data"
        self.port = _free_port()
        self.settings = {
            "wal_level": "logical",
            "max_replication_slots": "10",
            "max_wal_senders": "10",
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "256MB",
            "max_connections": "100",
            **(settings or {}),
        }
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        if self._as_postgres:  # drop root for the server's own programs, without relying on runuser/su
            pw = pwd.getpwnam("postgres")
            return subprocess.run(
                list(args),
                capture_output=True,
                text=True,
                check=True,
                timeout=180,
                cwd=self.root,
                user=pw.pw_uid,
                group=pw.pw_gid,
                extra_groups=[],
                env={**os.environ, "HOME": pw.pw_dir},
            )
        return subprocess.run(list(args), capture_output=True, text=True, check=True, timeout=180)

    def start(self) -> PostgresServer:
        self.root.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        options += f" -p {self.port} -k {self.root}"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop")

    def dsn(self, dbname: str = "postgres", *, user: str = SUPERUSER, password: str = PASSWORD) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user} password={password}"

    def psql(self, dbname: str, sql: str) -> None:
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                dbname,
                "-c",
                sql,
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )


@contextlib.contextmanager
def running_server(settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="migrationctl-pg-"))
    os.chmod(root, 0o755)
    server = PostgresServer(bindir, root / "cluster", settings=settings)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        time.sleep(0)
