"""How a file and its object are compared, chosen once, up front, from :class:`VerifyOptions` (rclone check's way):
size always; then mtime (``exact``: the mtime each object keeps, one request each; ``listing``: no request, changed
when the file was modified after its object was written; ``ignore``); then, with ``--checksum``, content (an MD5
ETag, else the object's full-object checksum, else its bytes). A checksum pass records what it proved in a progress
file, so an interrupted run resumes where it stopped (``--resume``). Both sides are compared as they come, in key
order, so memory does not grow with the number of files (:class:`Comparison`).
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.files.listing import Obj, parse_mtime
from inventory_migration.migrationctl.files.report import Difference, FilesReport, Problem
from inventory_migration.migrationctl.files.tree import (
    CHUNK,
    LIST_CAP,
    Dir,
    Entry,
    Kind,
    file_digests,
    file_md5,
    key_for,
    name_issues,
)

MD5_ETAG = re.compile(r"[0-9a-f]{32}")
"""An ETag that can be a plain MD5 (single-part upload; SSE-KMS objects have other ETags: then a request decides)."""
DEFAULT_MTIME_TOLERANCE_S = 1.0


class MtimeMode(Enum):
    EXACT = "exact"
    """Each object's kept mtime (one HEAD per object) equals the file's within the tolerance."""
    LISTING = "listing"
    """No per-object request: changed when the file's mtime is later than the object's LastModified."""
    IGNORE = "ignore"
    """Sizes (and content with --checksum) only."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerifyOptions:
    """How ``files verify`` compares."""

    mtime: MtimeMode = MtimeMode.EXACT
    """Default: exact (the mtime DataSync keeps on each object)."""
    mtime_tolerance_s: float = DEFAULT_MTIME_TOLERANCE_S
    """Largest mtime difference still equal. Default: 1 s."""
    checksum: bool = False
    """Compare content too. Default: no."""
    follow_symlinks: bool = False
    """Expect a link's target content (``aws s3 sync``) instead of DataSync's link object. Default: no."""
    jobs: int = 16
    """Threads for the walk, the listing and per-object requests. Default: 16."""
    resume: bool = False
    """Skip objects whose content a previous, interrupted run already proved (progress file). Default: no."""
    progress_file: Path | None = None
    """Where checksum progress is kept. Default: none (no resume)."""


DEFAULT_OPTIONS = VerifyOptions()
"""Exact mtimes, no content, 16 threads."""


@dataclasses.dataclass
class Comparison:
    """The comparison :class:`VerifyOptions` chose, with what it needs: the bucket, the tree and what an interrupted
    run proved (``done``).

    Both sides come in key order and are compared as they come (rclone check's march): an object before the next
    file's key is extra, a file whose key is not next is missing. Memory holds the per-object requests in flight,
    the differences kept, and the missing and extra keys that are not in one Unicode normalization (to name a file's
    NFC/NFD twin in the bucket, which sorts elsewhere), each capped."""

    s3: Any
    bucket: str
    prefix: str
    root: Path | None
    options: VerifyOptions
    done: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def run(
        self,
        items: Iterable[Entry | Dir],
        objects: Iterable[Obj],
        report: FilesReport,
        progress: Callable[[int], object] | None,
    ) -> None:
        """Compare ``items`` (files in key order, with empty and unreadable directories where their keys fall) with
        ``objects`` (in key order), adding to ``report``."""
        listing = _Peekable(iter(objects))
        twins = _Twins()
        checks = _Checks(self, report, progress)
        last = ""
        try:
            for item in items:
                if isinstance(item, Dir):
                    self._directory(item, listing, report, twins)
                    continue
                e = self._as_compared(item, report)
                if e is None:
                    continue
                key = key_for(e.path, self.prefix)
                if key is None:
                    blocking = "; ".join(i.problem for i in name_issues(e.path, self.prefix) if i.blocking)
                    report.add(Difference(Problem.UNMAPPABLE, e.display, blocking))
                    continue
                if key < last:
                    raise UsageError(f"{e.display} comes after {last!r}: the manifest is not in key order (write it again)")
                last = key
                self._extras(listing, report, twins, before=key)
                obj = listing.take(key)
                if obj is None:
                    if not twins.missing(key, e.display):
                        report.add(Difference(Problem.MISSING, e.display))
                    continue
                if obj.size != e.size:
                    report.add(Difference(Problem.SIZE, e.display, f"file {e.size} B, object {obj.size} B"))
                    continue
                o = self.options
                if o.mtime is MtimeMode.LISTING and e.mtime_ns > obj.last_modified_ns + o.mtime_tolerance_s * 1e9:
                    report.add(Difference(Problem.MTIME, e.display, "modified after its object was written"))
                    continue
                checks.submit(e, key, obj)
            self._extras(listing, report, twins, before=None)
            checks.finish()
        finally:
            checks.close()
        report.objects += listing.taken
        twins.settle(report)
        report.differences.sort(key=lambda d: (d.problem.value, d.path))

    def _as_compared(self, e: Entry, report: FilesReport) -> Entry | None:
        """The entry as the chosen comparison sees it (a link followed with ``--follow-symlinks``), counted; ``None``
        when it is not compared (special files)."""
        if e.kind is Kind.SPECIAL:
            report.skipped_special += 1
            return None
        if self.options.follow_symlinks and e.kind is Kind.SYMLINK and self.root is not None:
            target = os.path.join(os.fsencode(self.root), e.path)
            if not os.path.isfile(target):
                report.skipped_special += 1
                return None
            st = os.stat(target)
            e = dataclasses.replace(e, kind=Kind.FILE, size=st.st_size, mtime_ns=st.st_mtime_ns)
        report.files += 1
        report.bytes += e.size
        return e

    def _extras(self, listing: _Peekable, report: FilesReport, twins: _Twins, *, before: str | None) -> None:
        """Every object listed before key ``before`` (all that are left, when ``None``) has no file: extra — but a
        folder object (DataSync keeps directories as empty ``dir/`` objects)."""
        for obj in listing.until(before):
            report.objects += 1
            if obj.key.endswith("/") and obj.size == 0:
                continue
            twins.extra(obj.key)
            report.add(Difference(Problem.EXTRA, obj.key[len(self.prefix) :]))

    def _directory(self, d: Dir, listing: _Peekable, report: FilesReport, twins: _Twins) -> None:
        """An empty directory matches its folder object, if any. An unreadable one is a difference, and the objects
        under it are left out of the comparison (neither matched nor extra), counted in its detail."""
        under = f"{self.prefix}{os.fsdecode(d.path)}/" if d.path else self.prefix
        self._extras(listing, report, twins, before=under)
        if not d.unreadable:
            listing.take(under)
            return
        aside = 0
        while (obj := listing.peek()) is not None and obj.key.startswith(under):
            listing.take(obj.key)
            aside += 1
        shown = os.fsdecode(d.path) + "/" if d.path else "./"
        report.add(Difference(Problem.UNREADABLE, shown, f"{d.unreadable}; {aside} object(s) under it not compared"))


class _Peekable:
    """The listing, one object ahead; ``taken`` counts the objects handed out by :meth:`take`."""

    def __init__(self, objects: Iterator[Obj]) -> None:
        self._it = objects
        self._next = next(objects, None)
        self.taken = 0

    def peek(self) -> Obj | None:
        return self._next

    def take(self, key: str) -> Obj | None:
        """The next object if its key is ``key``."""
        obj = self._next
        if obj is None or obj.key != key:
            return None
        self._next = next(self._it, None)
        self.taken += 1
        return obj

    def until(self, key: str | None) -> Iterator[Obj]:
        """Hand out every object before ``key`` (every one left, when ``None``); not counted in ``taken``."""
        while self._next is not None and (key is None or self._next.key < key):
            obj = self._next
            self._next = next(self._it, None)
            yield obj


def _mixed_normalization(key: str) -> str | None:
    """The NFC form of ``key`` when another form of it could be a distinct key (it is not ASCII, and not both NFC
    and NFD); else ``None``."""
    if key.isascii():
        return None
    nfc = unicodedata.normalize("NFC", key)
    return nfc if nfc != key or unicodedata.normalize("NFD", key) != key else None


@dataclasses.dataclass
class _Twins:
    """Missing files and extra objects whose keys have another Unicode normalization, held (capped at
    :data:`.tree.LIST_CAP`) until the end: a missing file is then named with its twin in the bucket, which sorts
    elsewhere."""

    missing_by_form: dict[str, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)
    extra_by_form: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    held: int = 0

    def missing(self, key: str, display: str) -> bool:
        """Hold a missing file's difference; False when it must be reported now (no other form, or the cap)."""
        form = _mixed_normalization(key)
        if form is None or self.held >= LIST_CAP:
            return False
        self.missing_by_form.setdefault(form, []).append((key, display))
        self.held += 1
        return True

    def extra(self, key: str) -> None:
        form = _mixed_normalization(key)
        if form is not None and self.held < LIST_CAP:
            self.extra_by_form.setdefault(form, []).append(key)
            self.held += 1

    def settle(self, report: FilesReport) -> None:
        for form, files in self.missing_by_form.items():
            for key, display in files:
                twin = next((k for k in self.extra_by_form.get(form, []) if k != key), None)
                report.add(Difference(Problem.MISSING, display, f"the bucket has {twin!r}" if twin else ""))


class _Checks:
    """The per-object requests the options need (a HEAD for the kept mtime, content), a bounded number in flight,
    their outcomes collected in order. When the options need none, a pair is matched at once. Pairs go to the pool in
    batches (up to :data:`BATCH_FILES` files or :data:`BATCH_BYTES` bytes): a task per small file spent more on
    handing work between threads than on the work."""

    def __init__(self, comparison: Comparison, report: FilesReport, progress: Callable[[int], object] | None) -> None:
        self.c, self.report, self.progress = comparison, report, progress
        o = comparison.options
        needed = o.mtime is MtimeMode.EXACT or o.checksum
        self.pool = concurrent.futures.ThreadPoolExecutor(o.jobs, thread_name_prefix="object") if needed else None
        self.in_flight: collections.deque[concurrent.futures.Future[list[_Outcome]]] = collections.deque()
        self.limit = o.jobs * 2
        self.batch: list[tuple[Entry, str, Obj]] = []
        self.batch_bytes = 0
        self.writer = progress_writer(o)

    def submit(self, e: Entry, key: str, obj: Obj) -> None:
        if self.pool is None:
            self._collect(_Outcome())
            return
        if self.batch and self.batch_bytes + e.size > BATCH_BYTES:
            self._send()
        self.batch.append((e, key, obj))
        self.batch_bytes += e.size
        if len(self.batch) >= BATCH_FILES or self.batch_bytes >= BATCH_BYTES:
            self._send()

    def _send(self) -> None:
        if self.pool is None or not self.batch:
            return
        c, pairs = self.c, self.batch
        self.batch, self.batch_bytes = [], 0
        self.in_flight.append(self.pool.submit(_check_pairs, c.s3, c.bucket, c.root, pairs, c.options, c.done))
        while len(self.in_flight) > self.limit:
            self._collect_batch(self.in_flight.popleft())

    def finish(self) -> None:
        self._send()
        while self.in_flight:
            self._collect_batch(self.in_flight.popleft())

    def _collect_batch(self, future: concurrent.futures.Future[list[_Outcome]]) -> None:
        for outcome in future.result():
            self._collect(outcome)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.writer is not None:
            self.writer.close()

    def _collect(self, outcome: _Outcome) -> None:
        for difference in outcome.differences:
            self.report.add(difference)
        self.report.matched += not outcome.differences
        self.report.content_checked += outcome.content_checked
        self.report.resumed += outcome.resumed
        if self.writer is not None and outcome.proved is not None:
            self.writer(outcome.proved)
        if self.progress is not None:
            self.progress(1)


@dataclasses.dataclass
class _Outcome:
    differences: list[Difference] = dataclasses.field(default_factory=list)
    content_checked: int = 0
    resumed: int = 0
    proved: dict[str, Any] | None = None


BATCH_FILES = 64
"""Files compared by one task of the pool at most."""
BATCH_BYTES = 8 << 20
"""Bytes of file content one task reads at most, but for a larger file, which is a task alone: large files stay
spread over every thread."""


def _check_pairs(
    s3: Any,
    bucket: str,
    root: Path | None,
    pairs: list[tuple[Entry, str, Obj]],
    o: VerifyOptions,
    done: dict[str, dict[str, Any]],
) -> list[_Outcome]:
    return [_check_pair(s3, bucket, root, e, key, obj, o, done) for e, key, obj in pairs]


def _check_pair(
    s3: Any,
    bucket: str,
    root: Path | None,
    e: Entry,
    key: str,
    obj: Obj,
    o: VerifyOptions,
    done: dict[str, dict[str, Any]],
) -> _Outcome:
    out = _Outcome()
    head: dict[str, Any] | None = None
    if o.mtime is MtimeMode.EXACT:
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        kept = parse_mtime({k.lower(): v for k, v in head.get("Metadata", {}).items()})
        if kept is None:
            out.differences.append(Difference(Problem.NO_MTIME, e.display, "use --mtime listing for copies that keep none"))
            return out
        if abs(kept - e.mtime_ns) > o.mtime_tolerance_s * 1e9:
            out.differences.append(Difference(Problem.MTIME, e.display, f"file {_iso(e.mtime_ns)}, object {_iso(kept)}"))
            return out
    if not o.checksum:
        return out
    stamp = {"key": key, "size": e.size, "mtime_ns": e.mtime_ns, "etag": obj.etag}
    if done.get(key) == stamp:
        out.resumed = 1
        return out
    etag = obj.etag.strip('"')
    etag_md5 = etag if MD5_ETAG.fullmatch(etag) else None
    local = os.path.join(os.fsencode(root), e.path) if root is not None and e.kind is Kind.FILE else None
    expected_crc: int | None = None
    if e.kind is Kind.SYMLINK:
        expected_sha, expected_crc = hashlib.sha256(e.link_target).hexdigest(), zlib.crc32(e.link_target)
        expected_md5: str | None = hashlib.md5(e.link_target, usedforsecurity=False).hexdigest()
    elif local is None:
        if not e.sha256:
            out.differences.append(
                Difference(Problem.CONTENT, e.display, "the manifest has no checksum (plan --manifest-checksum)")
            )
            return out
        expected_sha, expected_md5 = e.sha256, e.md5 or None
    else:
        try:  # the MD5 alone when the ETag can prove the content; else what the object's checksum needs
            if etag_md5:
                expected_sha, expected_md5 = "", file_md5(local)
            else:
                expected_md5 = None
                expected_sha, expected_crc = file_digests(local)
        except OSError as error:
            out.differences.append(Difference(Problem.UNREADABLE, e.display, str(error.strerror)))
            return out
    out.content_checked = 1
    if etag_md5 and expected_md5 == etag_md5:
        out.proved = stamp  # a single-part, non-KMS object's ETag is its MD5: equal without a request
        return out
    if local is not None and not expected_sha:
        try:
            expected_sha, expected_crc = file_digests(local)
        except OSError as error:
            out.differences.append(Difference(Problem.UNREADABLE, e.display, str(error.strerror)))
            return out
    if head is None:
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    same = _same_by_checksum(head, expected_sha, expected_crc)
    if same is None:
        same = _object_sha256(s3, bucket, key) == expected_sha
    if not same:
        out.differences.append(Difference(Problem.CONTENT, e.display, "content differs"))
    else:
        out.proved = stamp
    return out


def _same_by_checksum(head: dict[str, Any], sha: str, crc: int | None) -> bool | None:
    """Compare with the object's full-object checksum when it has one we can compute; None when it has none."""
    multipart = "-" in head.get("ETag", "")
    if head.get("ChecksumType", "COMPOSITE" if multipart else "FULL_OBJECT") != "FULL_OBJECT":
        return None  # a composite (multipart) checksum is a checksum of part checksums
    if head.get("ChecksumSHA256") and "-" not in head["ChecksumSHA256"]:
        return bool(base64.b64decode(head["ChecksumSHA256"]).hex() == sha)
    if head.get("ChecksumCRC32") and crc is not None and "-" not in head["ChecksumCRC32"]:
        return bool(base64.b64decode(head["ChecksumCRC32"]) == crc.to_bytes(4, "big"))
    return None


def _object_sha256(s3: Any, bucket: str, key: str) -> str:
    sha = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in body.iter_chunks(CHUNK):
        sha.update(chunk)
    return sha.hexdigest()


def _iso(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).isoformat(timespec="milliseconds")


def load_progress(o: VerifyOptions) -> dict[str, dict[str, Any]]:
    if o.progress_file is None or not o.progress_file.is_file():
        return {}
    out: dict[str, dict[str, Any]] = {}
    for line in o.progress_file.read_text(encoding="utf-8").splitlines():
        try:
            stamp = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by the interruption
        out[stamp["key"]] = stamp
    return out


PROGRESS_FLUSH_SECONDS = 1.0
"""How long a proved file may wait in the progress file's buffer: an interruption costs at most this much of the
run's hashing again on ``--resume``."""


class ProgressWriter:
    """The ``--resume`` progress file, one JSON line per proved file, kept open and flushed at most every
    :data:`PROGRESS_FLUSH_SECONDS` and on close. (Opening it for every line was three quarters of a checksum run's
    time over small files.) A line an interruption cut short is skipped by :func:`load_progress`."""

    def __init__(self, path: Path, *, resume: bool, clock: Callable[[], float] | None = None) -> None:
        import time

        path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock or time.monotonic
        self._handle = path.open("a" if resume else "w", encoding="utf-8")
        self._flushed = self._clock()
        self._lock = threading.Lock()

    def __call__(self, stamp: dict[str, Any]) -> None:
        with self._lock:
            self._handle.write(json.dumps(stamp) + "\n")
            if self._clock() - self._flushed >= PROGRESS_FLUSH_SECONDS:
                self._handle.flush()
                self._flushed = self._clock()

    def close(self) -> None:
        with self._lock:
            self._handle.close()


def progress_writer(o: VerifyOptions) -> ProgressWriter | None:
    if not o.checksum or o.progress_file is None:
        return None
    return ProgressWriter(o.progress_file, resume=o.resume)
