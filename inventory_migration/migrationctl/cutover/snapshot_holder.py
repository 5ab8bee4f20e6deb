"""Hold an exported snapshot open: the state of a database at the switch point, for the verify that runs while
green already serves (the target changes with green's writes, the source with the way back's).

``migrationctl cutover`` starts one holder per side as its own detached process (``start_new_session``), so the
snapshots survive the orchestrator being killed: a re-run finds a holder alive (its file names the snapshot, its pid
and its backend) and verifies against the same snapshot. A holder opens a REPEATABLE READ transaction, exports its
snapshot, writes ``{"snapshot", "pid", "backend_pid", "at"}`` to ``snapshot-<name>.json`` and waits until
``snapshot-<name>.release`` exists or ``max_seconds`` have passed; the DSN comes from the environment (never the
command line).

Starting a Python process and connecting costs most of a second, which would fall inside the write-unavailability
window. So the holders are **armed** before the window (:func:`arm`, when the run begins): started, connected and idle
(no transaction, nothing pinned), each waiting for ``snapshot-<name>.go``. :func:`start` at the switch point touches
the go files and waits only for the exports (milliseconds); with no armed holder alive it starts them as before. An
armed holder that is never asked exits at the run's end (:func:`disarm`) or after ``max_wait`` seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inventory_migration.contracts.environment import Variable
from inventory_migration.migrationctl.db import connect, query
from inventory_migration.migrationctl.polling import poll
from inventory_migration.migrationctl.records import SNAPSHOT_HOLDER_FILE, process_alive, read_json, write_json

DEFAULT_MAX_SECONDS = 6 * 3600
DSN_ENV = Variable.MIGRATION_SNAPSHOT_DSN


ARM_MAX_WAIT_SECONDS = 4 * 3600
"""How long an armed holder waits for its go before it exits on its own (a run that died without disarming)."""
GO_POLL_SECONDS = 0.005


def hold(
    dsn: str, info_file: Path, release_file: Path, max_seconds: float, *, go_file: Path | None = None
) -> int:  # pragma: no cover - child process
    conn = connect(dsn, info_file.stem.removeprefix("snapshot-"))
    if go_file is not None:
        armed_file = go_file.with_suffix(".armed")
        write_json(armed_file, {"pid": os.getpid(), "at": time.time()})
        deadline = time.monotonic() + ARM_MAX_WAIT_SECONDS
        while not go_file.exists():
            if release_file.exists() or time.monotonic() > deadline:
                conn.close()
                armed_file.unlink(missing_ok=True)
                return 0
            time.sleep(GO_POLL_SECONDS)
        armed_file.unlink(missing_ok=True)
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


def _go_file(directory: Path, name: str) -> Path:
    return _files(directory, name)[0].with_suffix(".go")


def _launch(name: str, dsn: str, directory: Path, max_seconds: float, *, armed: bool) -> Callable[[], int | None]:
    """A detached holder process for ``name``; its exit status, ``None`` while it runs."""
    info_file, release_file = _files(directory, name)
    with info_file.with_suffix(".log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(info_file), str(release_file), str(max_seconds)]
            + ([str(_go_file(directory, name))] if armed else []),
            env={**os.environ, DSN_ENV: dsn},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    return process.poll


def _armed_pid(directory: Path, name: str) -> int | None:
    armed = _go_file(directory, name).with_suffix(".armed")
    pid = read_json(armed).get("pid") if armed.is_file() else None
    return int(pid) if pid is not None and process_alive(pid) else None


def arm(dsns: dict[str, str], directory: Path, *, max_seconds: float = DEFAULT_MAX_SECONDS, timeout: float = 30.0) -> None:
    """Start one holder per ``name -> dsn`` now, connected and idle, for :func:`start` to set off at the switch point;
    returns once each is connected (an earlier armed one of the same name is disarmed first)."""
    directory.mkdir(parents=True, exist_ok=True)
    running: dict[str, Callable[[], int | None]] = {}
    for name, dsn in dsns.items():
        disarm(directory, name)
        info_file, release_file = _files(directory, name)
        if info_file.is_file() and process_alive(read_json(info_file).get("pid")):
            continue  # a holder holds this side's snapshot already (a re-run): :func:`start` will not be needed
        for stale in (release_file, info_file, _go_file(directory, name), _go_file(directory, name).with_suffix(".armed")):
            stale.unlink(missing_ok=True)
        running[name] = _launch(name, dsn, directory, max_seconds, armed=True)

    def all_armed() -> bool:
        for name, exited in running.items():
            if _armed_pid(directory, name) is None and exited() is not None:
                error = _files(directory, name)[0].with_suffix(".log").read_text(errors="replace").strip().splitlines()
                raise RuntimeError(f"the {name} snapshot holder failed to connect: {error[-1] if error else exited()}")
        return all(_armed_pid(directory, name) is not None for name in running)

    poll(all_armed, timeout=timeout, interval=0.02, timed_out=lambda: RuntimeError("the snapshot holders did not connect"))


def disarm(directory: Path, name: str) -> None:
    """End an armed holder that was never set off (it holds no snapshot); wait for it to go."""
    pid = _armed_pid(directory, name)  # set off, a holder drops its .armed file: it is not ours to end here
    if pid is None:
        return
    _files(directory, name)[1].touch()
    poll(lambda: not process_alive(pid), timeout=5.0, interval=0.02, timed_out=lambda: RuntimeError(f"holder {pid} stays"))
    _files(directory, name)[1].unlink(missing_ok=True)


def start(
    dsns: dict[str, str], directory: Path, *, max_seconds: float = DEFAULT_MAX_SECONDS, timeout: float = 30.0
) -> dict[str, str]:
    """The snapshot of each ``name -> dsn``, exported by its armed holder (set off now) or by one started now; waits
    for every export: ``name -> snapshot``."""
    directory.mkdir(parents=True, exist_ok=True)
    started: dict[str, Callable[[], int | None]] = {}
    for name, dsn in dsns.items():
        info_file, release_file = _files(directory, name)
        info_file.unlink(missing_ok=True)
        pid = _armed_pid(directory, name)
        if pid is not None:
            _go_file(directory, name).touch()
            started[name] = lambda pid=pid: None if process_alive(pid) else 1  # type: ignore[misc]
        else:
            release_file.unlink(missing_ok=True)
            started[name] = _launch(name, dsn, directory, max_seconds, armed=False)
    snapshots: dict[str, str] = {}

    def all_exported() -> bool:
        for name, exited in started.items():
            if name in snapshots:
                continue
            info_file = _files(directory, name)[0]
            if info_file.is_file():
                snapshots[name] = str(read_json(info_file)["snapshot"])
            elif exited() is not None:
                error = info_file.with_suffix(".log").read_text(errors="replace").strip().splitlines()
                raise RuntimeError(f"the {name} snapshot holder failed: {error[-1] if error else exited()}")
        return len(snapshots) == len(started)

    poll(
        all_exported,
        timeout=timeout,
        interval=GO_POLL_SECONDS,
        timed_out=lambda: RuntimeError(f"the snapshot holders did not export their snapshots in {timeout:.0f} s"),
    )
    for name in started:
        _go_file(directory, name).unlink(missing_ok=True)
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
    parser.add_argument("go_file", type=Path, nargs="?")
    args = parser.parse_args(argv)
    return hold(os.environ[DSN_ENV], args.info_file, args.release_file, args.max_seconds, go_file=args.go_file)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
