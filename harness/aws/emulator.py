"""A local AWS emulator for the rehearsal: moto's server, patched where it falls short, on loopback only.

It needs the dev dependencies (moto); nothing of the shipped package imports it.
``python -m harness.aws.emulator --port N`` serves until killed or until ``--lifetime`` seconds
have passed (a watchdog ends the process, so a forgotten emulator cannot outlive a CI job);
:func:`running_emulator` starts one as a child process on a free port and always stops it (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from inventory_migration.migrationctl.polling import poll

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LIFETIME_SECONDS = 3600
STARTUP_TIMEOUT_SECONDS = 60


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def serve(host: str, port: int, lifetime_seconds: float) -> None:  # pragma: no cover - runs in the child process
    from moto.server import ThreadedMotoServer

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()

    def watchdog() -> None:
        time.sleep(lifetime_seconds)
        print(f"emulator: lifetime of {lifetime_seconds:.0f} s reached, exiting", file=sys.stderr, flush=True)
        os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


@dataclasses.dataclass
class Emulator:
    """A running emulator child process."""

    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def running_emulator(
    log: Path, *, lifetime_seconds: float = DEFAULT_LIFETIME_SECONDS, environment: Mapping[str, str] | None = None
) -> Iterator[Emulator]:
    """Start the patched emulator on a free loopback port; stop it however the block ends. ``environment``: added to
    the emulator process's (e.g. the DMS stand-in's stop time, :data:`harness.dms.served.STOP_SECONDS_ENV`)."""
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.aws.emulator",
                "--port",
                str(port),
                "--lifetime",
                str(lifetime_seconds),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(environment or {})},
            cwd=ROOT,  # the harness is a checkout's folder, not an installed package
        )
    emulator = Emulator(endpoint=endpoint, process=process, log=log)
    try:

        def answering() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"the emulator exited at start (exit {process.returncode}); see {log}")
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()  # loopback only
            except OSError:
                return False
            return True

        poll(
            answering,
            timeout=STARTUP_TIMEOUT_SECONDS,
            interval=0.2,
            timed_out=lambda: RuntimeError(f"the emulator did not answer within {STARTUP_TIMEOUT_SECONDS} s; see {log}"),
        )
        yield emulator
    finally:
        emulator.stop()


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - the child process
    parser = argparse.ArgumentParser(prog="emulator", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=HOST, choices=[HOST, "::1"], help="loopback only")
    parser.add_argument("--lifetime", type=float, default=DEFAULT_LIFETIME_SECONDS, help="seconds before the process exits")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.lifetime)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
