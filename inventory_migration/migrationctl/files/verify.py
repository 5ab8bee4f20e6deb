"""``files verify``: every file on-prem is one object under the prefix with the same relative path, size and mtime
(and, with ``--checksum``, content); nothing extra in the bucket. Read-only on both sides.

The walk (or a manifest) and the bucket listing run at the same time — the listing split by key prefix across
threads — and the comparison follows; per-object requests (metadata for the exact mtime, content for checksums) run
in a thread pool with bounded reads. A checksum pass records what it proved in a progress file, so an interrupted
run resumes where it stopped (``--resume``).

mtime comes from the object's user metadata: DataSync keeps a file's POSIX metadata there (``file-mtime``, the
layout Storage Gateway and FSx for Lustre read: nanoseconds with an ``ns`` suffix); rclone's ``mtime`` (RFC 3339
or epoch seconds) is read too. ``--mtime listing`` needs no per-object request: a file modified after its object
was written (mtime later than ``LastModified``) is changed — the fast gate in the window.
"""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import datetime as dt
import decimal
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

from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.files.tree import (
    CHUNK,
    Entry,
    Kind,
    file_digests,
    file_hashes,
    file_md5,
    key_for,
    name_issues,
    read_manifest,
    walk,
)
from inventory_migration.migrationctl.records import write_json

MD5_ETAG = re.compile(r"[0-9a-f]{32}")
"""An ETag that can be a plain MD5 (single-part upload; SSE-KMS objects have other ETags: then a request decides)."""
MTIME_KEYS = ("file-mtime", "mtime")
"""User-metadata keys holding a file's mtime: DataSync / Storage Gateway's, then rclone's."""
DEFAULT_MTIME_TOLERANCE_S = 1.0
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class MtimeMode(Enum):
    EXACT = "exact"
    """Each object's kept mtime (one HEAD per object) equals the file's within the tolerance."""
    LISTING = "listing"
    """No per-object request: changed when the file's mtime is later than the object's LastModified."""
    IGNORE = "ignore"
    """Sizes (and content with --checksum) only."""


def parse_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or len(url) <= 5:
        raise UsageError(f"expected s3://BUCKET[/PREFIX], got {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def parse_mtime(metadata: dict[str, str]) -> int | None:
    """Nanoseconds since the epoch from the object's user metadata, or None when it keeps none."""
    for key in MTIME_KEYS:
        value = metadata.get(key)
        if not value:
            continue
        value = value.strip()
        try:
            if value.endswith("ns"):
                return int(value[:-2])
            if value.replace(".", "", 1).isdigit():
                number = decimal.Decimal(value)
                scale = 1 if number > 10**17 else 1_000 if number > 10**14 else 1_000_000 if number > 10**11 else 10**9
                return int(number * scale)  # ns, µs, ms or s since the epoch
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (parsed - EPOCH) // dt.timedelta(microseconds=1) * 1_000
        except (ValueError, decimal.InvalidOperation):
            continue
    return None


# --------------------------------------------------------------------------------------------- listing


@dataclasses.dataclass(frozen=True, slots=True)
class Obj:
    key: str
    size: int
    last_modified_ns: int
    etag: str


def list_objects(s3: Any, bucket: str, prefix: str, jobs: int = 8, fanout_depth: int = 2) -> list[Obj]:
    """Every object under ``prefix``: the first levels are listed with a delimiter to find sub-prefixes, which are
    then listed in full by ``jobs`` threads."""
    paginator = s3.get_paginator("list_objects_v2")
    out: list[Obj] = []
    lock = threading.Lock()

    def convert(item: dict[str, Any]) -> Obj:
        return Obj(item["Key"], int(item["Size"]), int(item["LastModified"].timestamp() * 1e9), item.get("ETag", ""))

    def level(p: str) -> tuple[list[Obj], list[str]]:
        objs: list[Obj] = []
        subs: list[str] = []
        for page in paginator.paginate(Bucket=bucket, Prefix=p, Delimiter="/"):
            objs += [convert(i) for i in page.get("Contents", [])]
            subs += [c["Prefix"] for c in page.get("CommonPrefixes", [])]
        return objs, subs

    def full(p: str) -> list[Obj]:
        objs: list[Obj] = []
        for page in paginator.paginate(Bucket=bucket, Prefix=p):
            objs += [convert(i) for i in page.get("Contents", [])]
        return objs

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="list") as pool:
        frontier = [prefix]
        for _ in range(fanout_depth):
            if len(frontier) >= jobs:
                break
            next_frontier: list[str] = []
            for objs, subs in pool.map(level, frontier):
                out += objs
                next_frontier += subs
            frontier = next_frontier
        for objs in pool.map(full, frontier):
            with lock:
                out += objs
    return out


# --------------------------------------------------------------------------------------------- compare


class Problem(Enum):
    MISSING = "missing"
    """A file with no object."""
    EXTRA = "extra"
    """An object with no file."""
    SIZE = "changed: size"
    MTIME = "changed: mtime"
    CONTENT = "changed: content"
    NO_MTIME = "no mtime kept on the object"
    UNMAPPABLE = "unmappable name"
    UNREADABLE = "unreadable on the source"
    """A directory or file the verify could not read: not compared, so never equal (objects under it are not called
    extra: they may be good copies)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Difference:
    problem: Problem
    path: str
    detail: str = ""


@dataclasses.dataclass
class FilesReport:
    root: str
    url: str
    files: int = 0
    objects: int = 0
    bytes: int = 0
    matched: int = 0
    content_checked: int = 0
    resumed: int = 0
    skipped_special: int = 0
    differences: list[Difference] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def equal(self) -> bool:
        return not self.differences

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.differences:
            out[d.problem.value] = out.get(d.problem.value, 0) + 1
        return out


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


def verify(
    s3: Any,
    source: Path,
    url: str,
    options: VerifyOptions = VerifyOptions(),
    progress: Callable[[int], object] | None = None,
    clock: Callable[[], float] | None = None,
) -> FilesReport:
    """Compare the tree under ``source`` (a directory, or a manifest file) with the objects under ``url``."""
    import time

    now = clock or time.monotonic
    started = now()
    bucket, prefix = parse_s3_url(url)
    root = source if source.is_dir() else None
    report = FilesReport(str(source), url)

    done = _load_progress(options) if options.resume else {}
    # With --checksum, files are hashed as the walk finds them, while the listing is still under way.
    hasher = concurrent.futures.ThreadPoolExecutor(options.jobs, "hash") if options.checksum and root is not None else None
    hashes: dict[bytes, concurrent.futures.Future[tuple[str, str, int]]] = {}

    def prehash(e: Entry) -> None:
        if hasher is None or e.kind is not Kind.FILE:
            return
        previous = done.get(key_for(e.path, prefix) or "")
        if previous is None or (previous["size"], previous["mtime_ns"]) != (e.size, e.mtime_ns):
            hashes[e.path] = hasher.submit(file_hashes, os.path.join(os.fsencode(source), e.path))

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as both:
            listing = both.submit(list_objects, s3, bucket, prefix, max(2, options.jobs // 2))
            unreadable: list[tuple[bytes, str]] = []
            if root is not None:
                entries, info = walk(root, max(2, options.jobs // 2), on_entry=prehash)
                empty_dirs, unreadable = info.empty_dirs, info.unreadable
            else:
                entries, empty_dirs = list(read_manifest(source)), []
            objects = {o.key: o for o in listing.result()}
        report.objects = len(objects)
        objects = _set_aside_unreadable(objects, prefix, unreadable, report)
        _compare(s3, bucket, prefix, root, entries, empty_dirs, objects, options, report, done, hashes, progress)
    finally:
        if hasher is not None:
            hasher.shutdown(cancel_futures=True)
    report.seconds = now() - started
    return report


def _set_aside_unreadable(
    objects: dict[str, Obj], prefix: str, unreadable: list[tuple[bytes, str]], report: FilesReport
) -> dict[str, Obj]:
    """Each directory the walk could not read is a difference; the objects under it are left out of the comparison
    (neither matched nor extra) and counted in its detail."""
    if not unreadable:
        return objects
    kept = dict(objects)
    for rel, why in sorted(unreadable):
        under = f"{prefix}{os.fsdecode(rel)}/" if rel else prefix
        aside = [k for k in kept if k.startswith(under)]
        for key in aside:
            del kept[key]
        report.differences.append(
            Difference(
                Problem.UNREADABLE,
                os.fsdecode(rel) + "/" if rel else "./",
                f"{why}; {len(aside)} object(s) under it not compared",
            )
        )
    return kept


def _compare(
    s3: Any,
    bucket: str,
    prefix: str,
    root: Path | None,
    entries: list[Entry],
    empty_dirs: list[bytes],
    objects: dict[str, Obj],
    options: VerifyOptions,
    report: FilesReport,
    done: dict[str, dict[str, Any]],
    hashes: dict[bytes, concurrent.futures.Future[tuple[str, str, int]]],
    progress: Callable[[int], object] | None,
) -> None:

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
                Difference(Problem.UNMAPPABLE, e.display, "; ".join(i.problem for i in name_issues(e.path, prefix) if i.blocking))
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

    writer = _progress_writer(options)
    with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="object") as pool:
        futures = [
            pool.submit(_check_pair, s3, bucket, root, e, key, obj, options, done, hashes.get(e.path)) for e, key, obj in pairs
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


def _load_progress(o: VerifyOptions) -> dict[str, dict[str, Any]]:
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


def _progress_writer(o: VerifyOptions) -> Callable[[dict[str, Any]], None] | None:
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


def write_record(path: Path, report: FilesReport, options: VerifyOptions) -> None:
    """The verdict the cutover gate reads (``--require-files-verify``)."""
    record = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "equal": report.equal,
        "root": report.root,
        "url": report.url,
        "files": report.files,
        "objects": report.objects,
        "mtime": options.mtime.value,
        "checksum": options.checksum,
        "differences": report.counts(),
    }
    write_json(path, record)


def visible(path: str) -> str:
    """``path`` as printed: quoted with escapes when two paths could otherwise look the same (leading or trailing
    blanks, characters that print as nothing, a name not in Unicode NFC — ``é`` as ``e`` + U+0301)."""
    invisible = path != path.strip() or unicodedata.normalize("NFC", path) != path or not path.isprintable()
    return json.dumps(path) if invisible else path


def render(report: FilesReport, limit: int = 50) -> str:
    lines = [
        f"{report.root} -> {report.url}: {report.files:,} files ({report.bytes:,} B), {report.objects:,} objects, "
        f"{report.matched:,} matched, {report.content_checked:,} content-checked"
        + (f" ({report.resumed:,} proved by the interrupted run)" if report.resumed else "")
        + f", {report.seconds:.1f} s"
    ]
    if report.skipped_special:
        lines.append(f"skipped {report.skipped_special} special file(s) (not copied by DataSync)")
    by_problem: dict[Problem, list[Difference]] = {}
    for d in report.differences:
        by_problem.setdefault(d.problem, []).append(d)
    for problem, items in by_problem.items():
        lines.append(f"{problem.value}: {len(items)}")
        lines += [f"  {visible(d.path)}" + (f"  ({d.detail})" if d.detail else "") for d in items[:limit]]
        if len(items) > limit:
            lines.append(f"  … {len(items) - limit} more (--output json for all)")
    lines.append("EQUAL" if report.equal else "DIFFERENCES")
    return "\n".join(lines)


def to_json(report: FilesReport) -> dict[str, Any]:
    out = dataclasses.asdict(report)
    out["differences"] = [{"problem": d.problem.value, "path": d.path, "detail": d.detail} for d in report.differences]
    out["equal"] = report.equal
    return out
