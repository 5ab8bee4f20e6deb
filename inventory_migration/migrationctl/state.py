"""Where migrationctl keeps its state, and one run at a time.

``--state`` names it: a local directory (the default, ``.migrationctl``: enough for dev and a rehearsal), or
``s3://bucket/prefix`` — the stack's state bucket (output ``state_bucket_name``), so that a cutover is not tied to one
laptop. With S3:

* **A working copy.** The journals and the verify and ``files verify`` records (:data:`SYNCED`) are pulled into a local
  directory first; every write of one of them (:func:`~inventory_migration.migrationctl.records.write_json`) is pushed
  back at once, before the command goes on.
* **Compare-and-swap.** Each push is a conditional write: ``If-Match`` the version this run last read or wrote, or
  ``If-None-Match: *`` for a new object. Another writer in between makes it fail (:class:`StateConflict`), and the run
  stops before it acts on a journal someone else has moved on.
* **The lock.** ``cutover`` and ``rollback`` first create ``lock.json`` with ``If-None-Match: *``; a second operator's
  run is refused while it exists (:class:`LockHeld`, exit 1, nothing changed). The holder renews it every third of its
  lease; a lock not renewed for a whole lease — measured on S3's clock, its ``Last-Modified`` against the response's
  ``Date``, so no operator's clock enters — belongs to a run that died, and the next run takes it over with
  ``If-Match`` on the stale version (only one can) and resumes the journal from S3 — on any machine. On the machine
  the dead run ran on, a lock whose process is gone is taken over at once. Snapshot holders
  are local processes: a run resumed elsewhere after the switch reports its switch-point snapshots lost (exit 4) and
  the runbook's ``verify`` takes over.

S3 conditional writes: ``PutObject`` ``If-None-Match`` (August 2024) and ``If-Match`` (November 2024), and
``DeleteObject`` ``If-Match``; a conflicting concurrent conditional write fails with 412 or 409 — both are conflicts
here. moto implements the same headers, which is what the tests run against.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.utils
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from inventory_migration.migrationctl import records
from inventory_migration.migrationctl.errors import UsageError

S3_SCHEME = "s3://"
LOCK_KEY = "lock.json"
DEFAULT_LEASE_SECONDS = 60.0
"""A lock not renewed for this long belongs to a run that died. Default of ``--lock-lease``."""
SYNCED = (
    *(f"{records.JOURNAL_DIR}/{Path(name).stem}*.json" for name in records.JOURNALS.values()),
    records.VERIFY_RECORD,
    records.FILES_VERIFY_RECORD,
)
"""What lives in S3 (relative to the state): the journals and the verdicts the gates read. Checkpoints, progress files
and the snapshot holders' files stay on the machine that made them."""
CONFLICT_CODES = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


class StateConflict(RuntimeError):
    """Someone else changed the state since this run read it."""


class LockHeld(RuntimeError):
    """Another run holds the state."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class StateLocation:
    """A parsed ``--state``: the local directory the commands read and write, and the S3 place it mirrors (if any)."""

    local: Path
    bucket: str = ""
    prefix: str = ""

    @property
    def remote(self) -> bool:
        return bool(self.bucket)

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.prefix}" if self.remote else str(self.local)


def parse_state(value: str | Path, *, cache: Path = records.STATE_DIR) -> StateLocation:
    """``--state``: a directory, or ``s3://bucket/prefix`` (its working copy under ``cache``/s3/bucket/prefix)."""
    text = str(value)
    if not text.startswith(S3_SCHEME):
        return StateLocation(local=Path(text))
    bucket, _, prefix = text[len(S3_SCHEME) :].partition("/")
    prefix = prefix.strip("/")
    if not bucket or not all(c.isalnum() or c in ".-" for c in bucket) or ".." in prefix.split("/"):
        raise UsageError(f"--state {text!r}: expected s3://bucket/prefix (the stack's output state_bucket_name)")
    return StateLocation(local=cache / "s3" / bucket / prefix, bucket=bucket, prefix=prefix)


def _conflict(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return code in CONFLICT_CODES or status in ("412", "409")


def _missing(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")) in ("NoSuchKey", "404")


def store_age(response: dict[str, Any]) -> float | None:
    """Seconds since the object in a ``GetObject`` response was last written, on the *store's* clock: its
    ``Last-Modified`` against the response's ``Date`` header — never the holder's clock against the taker's (a skewed
    clock, or a laptop that slept through its renewals, would let a second operator take a live lock). ``None`` when
    the store sent no ``Date``."""
    modified = response.get("LastModified")
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if modified is None or not date:
        return None
    now = email.utils.parsedate_to_datetime(date)
    return float((now - modified).total_seconds())


def _died_here(owner: str) -> bool:
    """The lock's owner ran on this machine and its process is gone: its lease need not run out (a killed run
    re-run at once on the same machine, the common case)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RemoteState:
    """The S3 side of a :class:`StateLocation` (see the module)."""

    def __init__(
        self,
        s3: Any,
        location: StateLocation,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
        say: Callable[[str], None] = print,
    ) -> None:
        self.s3 = s3
        self.location = location
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.say = say
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etags: dict[str, str] = {}
        self._lock_etag: str | None = None
        self._lock_body: dict[str, Any] = {}
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._guard = threading.Lock()
        self.lost = ""
        """Why this run no longer holds the lock (empty while it does)."""

    # ------------------------------------------------------------------------------------------------ objects

    def _relative(self, path: Path) -> str | None:
        try:
            relative = path.resolve().relative_to(self.location.local.resolve()).as_posix()
        except ValueError:
            return None
        return relative if any(Path(relative).match(pattern) for pattern in SYNCED) else None

    def pull(self) -> int:
        """Make the local working copy what S3 holds: the synced objects downloaded, local ones S3 lacks removed."""
        prefix = self.location.key("")
        found: dict[str, str] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                relative = item["Key"][len(prefix) :]
                if any(Path(relative).match(pattern) for pattern in SYNCED):
                    found[relative] = item["ETag"]
        root = self.location.local
        for pattern in SYNCED:
            for stale in root.glob(pattern):
                if stale.relative_to(root).as_posix() not in found:
                    stale.unlink()
        for relative in found:
            response = self.s3.get_object(Bucket=self.location.bucket, Key=self.location.key(relative))
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(response["Body"].read())
            self.etags[relative] = response["ETag"]
        return len(found)

    def push(self, path: Path) -> None:
        """Upload a synced file, conditionally on the version this run knows (a no-op for files not synced)."""
        relative = self._relative(path)
        if relative is None:
            return
        if self.lost:
            raise StateConflict(f"this run lost the lock ({self.lost}): stopped before writing {relative}")
        condition = {"IfMatch": self.etags[relative]} if relative in self.etags else {"IfNoneMatch": "*"}
        try:
            response = self.s3.put_object(
                Bucket=self.location.bucket, Key=self.location.key(relative), Body=path.read_bytes(), **condition
            )
        except Exception as error:
            if _conflict(error):
                raise StateConflict(
                    f"{self.location.key(relative)} was changed by another run since this one read it: stopped"
                ) from None
            raise
        self.etags[relative] = response["ETag"]

    def remove(self, path: Path) -> None:
        relative = self._relative(path)
        if relative is None or relative not in self.etags:
            return
        with contextlib.suppress(Exception):
            self.s3.delete_object(Bucket=self.location.bucket, Key=self.location.key(relative), IfMatch=self.etags.pop(relative))

    # ------------------------------------------------------------------------------------------------ the lock

    def _lock_document(self, operation: str, acquired_at: str | None = None) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "operation": operation,
            "acquired_at": acquired_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "renewed_at": self.clock(),
            "lease_seconds": self.lease_seconds,
        }

    def _put_lock(self, body: dict[str, Any], **condition: str) -> str:
        response = self.s3.put_object(
            Bucket=self.location.bucket, Key=self.location.key(LOCK_KEY), Body=json.dumps(body).encode(), **condition
        )
        return str(response["ETag"])

    def acquire(self, operation: str) -> None:
        """Take the lock for ``operation`` or raise :class:`LockHeld`; a stale lock is taken over."""
        body = self._lock_document(operation)
        try:
            self._lock_etag = self._put_lock(body, IfNoneMatch="*")
        except Exception as error:
            if not _conflict(error):
                raise
            self._take_over(operation, body)
        self._lock_body = body
        self._renewer = threading.Thread(target=self._renew, name="state-lock", daemon=True)
        self._renewer.start()

    def _take_over(self, operation: str, body: dict[str, Any]) -> None:
        try:
            current = self.s3.get_object(Bucket=self.location.bucket, Key=self.location.key(LOCK_KEY))
        except Exception as error:
            if _missing(error):  # released in between: try once more from the start
                self._lock_etag = self._put_lock(body, IfNoneMatch="*")
                return
            raise
        held = json.loads(current["Body"].read())
        age = store_age(current)
        if age is None:  # a store that sends no Date header: the holder's own record, on this machine's clock
            age = self.clock() - float(held.get("renewed_at", 0))
        lease = float(held.get("lease_seconds", self.lease_seconds))
        if age <= lease and not _died_here(str(held.get("owner", ""))):
            raise LockHeld(
                f"{held.get('owner')} runs `migrationctl {held.get('operation')}` on this state since "
                f"{held.get('acquired_at')} (renewed {age:.0f} s ago): wait for it, or, if it died, re-run in "
                f"{lease - age:.0f} s when its lease has run out"
            )
        try:
            self._lock_etag = self._put_lock(body, IfMatch=current["ETag"])
        except Exception as error:
            if _conflict(error):
                raise LockHeld("another run took over the stale lock at the same moment: it holds the state now") from None
            raise
        self.say(
            f"state lock of {held.get('owner')} ({held.get('operation')}) not renewed for {age:.0f} s: taken over; "
            f"resuming from {self.location}"
        )

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with self._guard:
                if self._lock_etag is None:
                    return
                body = dict(self._lock_body, renewed_at=self.clock())
                try:
                    self._lock_etag = self._put_lock(body, IfMatch=self._lock_etag)
                except Exception as error:
                    self.lost = f"renewing it failed: {error}"
                    return

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=10)
        with self._guard:
            if self._lock_etag is not None and not self.lost:
                with contextlib.suppress(Exception):
                    self.s3.delete_object(Bucket=self.location.bucket, Key=self.location.key(LOCK_KEY), IfMatch=self._lock_etag)
            self._lock_etag = None


@contextlib.contextmanager
def mirrored(
    location: StateLocation,
    s3_client: Callable[[], Any],
    *,
    lock_for: str = "",
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    say: Callable[[str], None] = print,
) -> Iterator[RemoteState | None]:
    """For the block: the local working copy pulled from S3 and every synced write pushed back; with ``lock_for``,
    the lock held. A local ``location``: nothing to do."""
    if not location.remote:
        yield None
        return
    remote = RemoteState(s3_client(), location, lease_seconds=lease_seconds, say=say)
    if lock_for:
        remote.acquire(lock_for)
    try:
        remote.pull()
        with records.mirror(remote.push, remote.remove):
            yield remote
    finally:
        if lock_for:
            remote.release()
