"""How a file and its object are compared, chosen once, up front, from :class:`VerifyOptions` (rclone check's way):
size always; then mtime (``exact``: the mtime each object keeps, one request each; ``listing``: no request, changed
when the file was modified after its object was written; ``ignore``); then, with ``--checksum``, content (an MD5
ETag, else the object's full-object checksum, else its bytes). A checksum pass records what it proved in a progress
file, so an interrupted run resumes where it stopped (``--resume``).
"""

from __future__ import annotations

import base64
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
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

from inventory_migration.migrationctl.files.listing import Obj, parse_mtime
from inventory_migration.migrationctl.files.report import Difference, FilesReport, Problem
from inventory_migration.migrationctl.files.tree import (
    CHUNK,
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
    """The comparison :class:`VerifyOptions` chose, with what it needs: the bucket, the tree, what an interrupted run
    proved (``done``) and the content hashes started while the walk ran (``hashes``)."""

    s3: Any
    bucket: str
    prefix: str
    root: Path | None
    options: VerifyOptions
    done: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    hashes: dict[bytes, concurrent.futures.Future[tuple[str, str, int]]] = dataclasses.field(default_factory=dict)

    def run(
        self,
        entries: list[Entry],
        empty_dirs: list[bytes],
        objects: dict[str, Obj],
        report: FilesReport,
        progress: Callable[[int], object] | None,
    ) -> None:
        """Compare ``entries`` (and the tree's empty directories) with ``objects``, adding to ``report``."""
        s3, bucket, prefix, root, options = self.s3, self.bucket, self.prefix, self.root, self.options
        pairs: list[tuple[Entry, str, Obj]] = []
        expected: set[str] = {f"{prefix}{os.fsdecode(d)}/" for d in empty_dirs}
        for e in entries:
            if e.kind is Kind.SPECIAL:
                report.skipped_special += 1
                continue
            if options.follow_symlinks and e.kind is Kind.SYMLINK and root is not None:
                target = os.path.join(os.fsencode(root), e.path)
                if not os.path.isfile(target):
                    report.skipped_special += 1
                    continue
                st = os.stat(target)
                e = dataclasses.replace(e, kind=Kind.FILE, size=st.st_size, mtime_ns=st.st_mtime_ns)
            report.files += 1
            report.bytes += e.size
            key = key_for(e.path, prefix)
            if key is None:
                report.differences.append(
                    Difference(
                        Problem.UNMAPPABLE, e.display, "; ".join(i.problem for i in name_issues(e.path, prefix) if i.blocking)
                    )
                )
                continue
            expected.add(key)
            obj = objects.get(key)
            if obj is None:
                twin = _normalization_twin(key, objects)
                report.differences.append(Difference(Problem.MISSING, e.display, f"the bucket has {twin!r}" if twin else ""))
                continue
            if obj.size != e.size:
                report.differences.append(Difference(Problem.SIZE, e.display, f"file {e.size} B, object {obj.size} B"))
                continue
            if options.mtime is MtimeMode.LISTING and e.mtime_ns > obj.last_modified_ns + options.mtime_tolerance_s * 1e9:
                report.differences.append(Difference(Problem.MTIME, e.display, "modified after its object was written"))
                continue
            pairs.append((e, key, obj))
        for key in sorted(objects.keys() - expected):
            if key.endswith("/") and objects[key].size == 0:
                continue  # a folder object (DataSync keeps directories so)
            report.differences.append(Difference(Problem.EXTRA, key[len(prefix) :]))

        writer = progress_writer(options)
        with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="object") as pool:
            futures = [
                pool.submit(_check_pair, s3, bucket, root, e, key, obj, options, self.done, self.hashes.get(e.path))
                for e, key, obj in pairs
            ]
            for future in concurrent.futures.as_completed(futures):
                outcome = future.result()
                report.differences += outcome.differences
                report.matched += not outcome.differences
                report.content_checked += outcome.content_checked
                report.resumed += outcome.resumed
                if writer is not None and outcome.proved is not None:
                    writer(outcome.proved)
                if progress is not None:
                    progress(1)
        report.differences.sort(key=lambda d: (d.problem.value, d.path))


def _normalization_twin(key: str, objects: dict[str, Obj]) -> str | None:
    for form in ("NFC", "NFD"):
        other = unicodedata.normalize(form, key)
        if other != key and other in objects:
            return other
    return None


@dataclasses.dataclass
class _Outcome:
    differences: list[Difference] = dataclasses.field(default_factory=list)
    content_checked: int = 0
    resumed: int = 0
    proved: dict[str, Any] | None = None


def _check_pair(
    s3: Any,
    bucket: str,
    root: Path | None,
    e: Entry,
    key: str,
    obj: Obj,
    o: VerifyOptions,
    done: dict[str, dict[str, Any]],
    hashed: concurrent.futures.Future[tuple[str, str, int]] | None = None,
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
        try:
            if hashed is not None:
                expected_md5, expected_sha, expected_crc = hashed.result()
            else:
                expected_sha, expected_md5 = "", file_md5(local) if etag_md5 else None
        except OSError as error:
            out.differences.append(Difference(Problem.UNREADABLE, e.display, str(error.strerror)))
            return out
    out.content_checked = 1
    if etag_md5 and expected_md5 == etag_md5:
        out.proved = stamp  # a single-part, non-KMS object's ETag is its MD5: equal without a request
        return out
    if local is not None and not expected_sha:
        expected_sha, expected_crc = file_digests(local)
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


def progress_writer(o: VerifyOptions) -> Callable[[dict[str, Any]], None] | None:
    if not o.checksum or o.progress_file is None:
        return None
    o.progress_file.parent.mkdir(parents=True, exist_ok=True)
    if not o.resume:
        o.progress_file.write_text("", encoding="utf-8")
    lock = threading.Lock()

    def write(stamp: dict[str, Any]) -> None:
        with lock, o.progress_file.open("a", encoding="utf-8") as handle:  # type: ignore[union-attr]
            handle.write(json.dumps(stamp) + "\n")

    return write
