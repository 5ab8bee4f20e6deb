"""What migrationctl keeps between runs, and how it is written: one state directory, named records, and one atomic,
durable JSON writer.

Every file here is written whole or not at all (a temporary file beside it, flushed and fsync'd, then renamed over
it, then the directory fsync'd), so a process killed at any moment — or a machine that loses power — leaves either
the old record or the new one, never half of one. The cutover journal, the verify checkpoint, the verify and
``files verify`` verdicts and the snapshot holders' files all go through :func:`write_json`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

STATE_DIR = Path(".migrationctl")
"""The default state directory (``--state``), relative to where migrationctl runs."""
JOURNAL_DIR = "journal"
"""Under the state directory: the cutover / rollback journals and the snapshot holders' files."""
JOURNALS = {"cutover": "cutover.json", "rollback": "rollback.json"}
"""Each operation's journal under :data:`JOURNAL_DIR` (archived ones: ``<name>-<time>.json``)."""
SNAPSHOT_HOLDER_FILE = "snapshot-{name}.json"
"""A switch-point snapshot holder's file under :data:`JOURNAL_DIR`: ``{"snapshot", "pid", "backend_pid", "at"}``."""
VERIFY_RECORD = "verify-last.json"
"""A full ``verify``'s verdict; ``cutover`` requires a recent clean one of the same databases."""
FILES_VERIFY_RECORD = "files-verify-last.json"
"""``files verify``'s verdict; ``cutover --require-files-verify`` requires a recent clean one."""
FILES_VERIFY_PROGRESS = "files-verify-progress.jsonl"
"""What an interrupted ``files verify --checksum`` already proved (``--resume``)."""


_MIRRORS: list[tuple[Callable[[Path], None], Callable[[Path], None]]] = []
"""(push, remove) of each mirror in force (:func:`mirror`)."""


@contextlib.contextmanager
def mirror(push: Callable[[Path], None], remove: Callable[[Path], None]) -> Iterator[None]:
    """For the block, every :func:`write_json` is followed by ``push(path)`` and every :func:`move` by ``push(new)``
    and ``remove(old)``: the state in S3 (:mod:`..state`) follows each write before the command goes on."""
    _MIRRORS.append((push, remove))
    try:
        yield
    finally:
        _MIRRORS.remove((push, remove))


def move(path: Path, target: Path) -> None:
    """Rename a record (an archived journal), mirrors included."""
    os.replace(path, target)
    for push, remove in list(_MIRRORS):
        push(target)
        remove(path)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically and durably (see the module's docstring), then to every mirror."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    for push, _remove in list(_MIRRORS):
        push(path)


def read_json(path: Path) -> Any:
    """The JSON content of ``path`` (which must exist)."""
    return json.loads(path.read_text(encoding="utf-8"))


def process_alive(pid: Any) -> bool:
    """Whether the process ``pid`` (as a holder's file records it) runs and this user may signal it."""
    try:
        number = int(pid)
    except (TypeError, ValueError):
        return False
    if number <= 0:  # 0 and negative ids signal process groups, not one process
        return False
    try:
        os.kill(number, 0)
    except (ProcessLookupError, PermissionError, OverflowError):
        return False
    return not _zombie(number)


def _zombie(pid: int) -> bool:
    """Exited but not yet reaped by its parent (a holder this process started and that has ended): not running. Read
    from ``/proc`` where there is one; elsewhere a zombie counts as running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def snapshot_holders(journal_dir: Path) -> dict[str, dict[str, Any]]:
    """The snapshot holders whose process is alive under ``journal_dir``: name -> their file."""
    out = {}
    pattern = SNAPSHOT_HOLDER_FILE.format(name="*")
    for info_file in sorted(journal_dir.glob(pattern)) if journal_dir.is_dir() else []:
        current = read_json(info_file)
        if current.get("snapshot") and process_alive(current.get("pid")):
            out[info_file.stem.removeprefix("snapshot-")] = current
    return out
