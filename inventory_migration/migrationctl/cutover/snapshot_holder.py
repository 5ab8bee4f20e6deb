"""Hold an exported snapshot open: the state of a database at the switch point, for the verify that runs while
green already serves (the target changes with green's writes, the source with the way back's).

``migrationctl cutover`` starts one holder per side as its own detached process (``start_new_session``), so the
snapshots survive the orchestrator being killed: a re-run finds a holder alive (its file names the snapshot, its pid
and its backend) and verifies against the same snapshot. A holder opens a REPEATABLE READ transaction, exports its
snapshot, writes ``{"snapshot", "pid", "backend_pid", "at"}`` to ``snapshot-<name>.json`` and waits until
``snapshot-<name>.release`` exists or ``max_seconds`` have passed; the DSN comes from the environment (never the
command line).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from inventory_migration.contracts.environment import Variable
from inventory_migration.migrationctl.db import connect, query
from inventory_migration.migrationctl.polling import poll
from inventory_migration.migrationctl.records import SNAPSHOT_HOLDER_FILE, process_alive, read_json, write_json

DEFAULT_MAX_SECONDS = 6 * 3600
DSN_ENV = Variable.MIGRATION_SNAPSHOT_DSN


def hold(dsn: str, info_file: Path, release_file: Path, max_seconds: float) -> int:  # pragma: no cover - child process
    conn = connect(dsn, info_file.stem.removeprefix("snapshot-"))
    query(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    snapshot = str(query(conn, "SELECT pg_export_snapshot()")[0][0])
    backend = int(query(conn, "SELECT pg_backend_pid()")[0][0])
    write_json(info_file, {"snapshot": snapshot, "pid": os.getpid(), "backend_pid": backend, "at": time.time()})
    stop = False

    def on_term(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    deadline = time.monotonic() + max_seconds
    while not stop and not release_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    conn.close()
    info_file.unlink(missing_ok=True)
    return 0


def _files(directory: Path, name: str) -> tuple[Path, Path]:
    info = directory / SNAPSHOT_HOLDER_FILE.format(name=name)
    return info, info.with_suffix(".release")


def start(
    dsns: dict[str, str], directory: Path, *, max_seconds: float = DEFAULT_MAX_SECONDS, timeout: float = 30.0
) -> dict[str, str]:
    """Start one detached holder per ``name -> dsn``, all at once, and wait for their snapshots: ``name -> snapshot``."""
    directory.mkdir(parents=True, exist_ok=True)
    started: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name, dsn in dsns.items():
        info_file, release_file = _files(directory, name)
        release_file.unlink(missing_ok=True)
        info_file.unlink(missing_ok=True)
        with info_file.with_suffix(".log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(info_file), str(release_file), str(max_seconds)],
                env={**os.environ, DSN_ENV: dsn},
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        started[name] = (process, info_file)
    snapshots: dict[str, str] = {}

    def all_exported() -> bool:
        for name, (process, info_file) in started.items():
            if name in snapshots:
                continue
            if info_file.is_file():
                snapshots[name] = str(read_json(info_file)["snapshot"])
            elif process.poll() is not None:
                error = info_file.with_suffix(".log").read_text(errors="replace").strip().splitlines()
                raise RuntimeError(f"the {name} snapshot holder failed: {error[-1] if error else process.returncode}")
        return len(snapshots) == len(started)

    poll(
        all_exported,
        timeout=timeout,
        interval=0.01,
        timed_out=lambda: RuntimeError(f"the snapshot holders did not export their snapshots in {timeout:.0f} s"),
    )
    return snapshots


def alive(snapshot: str, directory: Path, name: str) -> bool:
    """Whether the holder that exported ``snapshot`` still holds it."""
    info_file = _files(directory, name)[0]
    if not info_file.is_file():
        return False
    current = read_json(info_file)
    return current.get("snapshot") == snapshot and process_alive(current.get("pid"))


def release(directory: Path, name: str) -> None:
    """Ask the holder to end its transaction (it exits within a fraction of a second)."""
    release_file = _files(directory, name)[1]
    if release_file.parent.is_dir():
        release_file.touch()


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - child process
    parser = argparse.ArgumentParser(prog="snapshot-holder")
    parser.add_argument("info_file", type=Path)
    parser.add_argument("release_file", type=Path)
    parser.add_argument("max_seconds", type=float)
    args = parser.parse_args(argv)
    return hold(os.environ[DSN_ENV], args.info_file, args.release_file, args.max_seconds)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
