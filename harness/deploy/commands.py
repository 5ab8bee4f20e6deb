"""Running one rehearsal command (``terraform``, ``npx cdktf``) so that a failure says why, and a hang says where.

The output is written to the command's log *as it runs*, so a command that never ends still leaves what it printed.
A command past its timeout is interrupted as an operator would (SIGINT: Terraform stops its walk and saves state),
then killed; the failure names the resources Terraform was still creating, modifying or destroying and the
emulator's last answers — the two places a hang hides.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

COMMAND_TIMEOUT = 600
"""Seconds one rehearsal command may take. The longest in a passing CI run (the first leg's ``cdktf deploy``) takes a
few minutes; a hang is reported after this instead of at the test's end (one hung apply once cost CI 30 minutes)."""
INTERRUPT_GRACE = 20
"""Seconds between SIGINT and SIGKILL: Terraform's own "Interrupt received … stopping operation" needs a moment."""

_IN_FLIGHT = re.compile(r"(?P<address>[\w.\-\[\]\"]+): (?P<what>Creating|Modifying|Destroying|Reading)\.\.\.")
_DONE = re.compile(r"(?P<address>[\w.\-\[\]\"]+): (?:Creation|Modifications|Destruction|Read) complete")


class CommandTimedOut(RuntimeError):
    """A rehearsal command did not end within its timeout."""


def still_in_flight(output: str) -> list[str]:
    """Resources Terraform started working on and had not finished when ``output`` ends, as ``address (Creating)``,
    in the order they started."""
    started: dict[str, str] = {}
    for line in output.splitlines():
        if done := _DONE.search(line):
            started.pop(done["address"], None)
        elif begun := _IN_FLIGHT.search(line):
            started[begun["address"]] = begun["what"]
    return [f"{address} ({what})" for address, what in started.items()]


def run_logged(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run ``command``, its stdout and stderr streamed to ``log`` (``$ command`` first); raise
    :class:`CommandTimedOut` naming what was in flight if it runs past ``timeout`` seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log.with_suffix(".stdout"), log.with_suffix(".stderr")
    with out_path.open("w", encoding="utf-8") as out, err_path.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(list(command), cwd=cwd, env=dict(env), stdout=out, stderr=err, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop(proc)
    stdout, stderr = (p.read_text(encoding="utf-8", errors="replace") for p in (out_path, err_path))
    log.write_text(f"$ {' '.join(command)}\n{stdout}\n{stderr}", encoding="utf-8")
    out_path.unlink()
    err_path.unlink()
    if timed_out:
        output = stdout + "\n" + stderr
        in_flight = still_in_flight(output)
        where = (
            "still in flight: " + ", ".join(in_flight)
            if in_flight
            else "nothing in flight by Terraform's output; its last lines:\n" + "\n".join(output.strip().splitlines()[-15:])
        )
        raise CommandTimedOut(f"{' '.join(command[:3])} did not end within {timeout:.0f} s (interrupted); see {log}\n{where}")
    return subprocess.CompletedProcess(list(command), proc.returncode, stdout, stderr)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to the command's process group (Terraform's graceful stop), SIGKILL if it is still there after the grace."""
    for sig, grace in ((signal.SIGINT, INTERRUPT_GRACE), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def failure_excerpt(output: str, *, limit: int = 4000) -> str:
    """What a person needs from a failed Terraform/cdktf command: every ``Error:`` block (Terraform's own diagnosis,
    often far from the end of the output), then the output's tail, within ``limit`` characters."""
    lines = output.splitlines()
    blocks: list[str] = []
    for i, line in enumerate(lines):
        if line.lstrip("│ ").startswith("Error:"):
            blocks.append("\n".join(lines[i : i + 8]))
    head = "\n".join(dict.fromkeys(blocks))[: limit // 2]
    return (head + "\n…\n" if head else "") + output[-(limit - len(head)) :]


def tail_lines(path: Path, size: int = 200_000) -> list[str]:
    """The last ``size`` bytes of ``path`` as lines (none if it does not exist)."""
    if not path.exists():
        return []
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - size))
        return f.read().decode("utf-8", "replace").splitlines()
