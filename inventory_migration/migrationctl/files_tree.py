"""The on-prem image tree as S3 will see it: a parallel walk, how each name maps to an object key, a manifest, and
``files plan`` (counts, sizes, depth, the names that need attention, transfer time and the lifecycle's cost).

A file's path relative to the root becomes its key under the prefix, byte for byte: DataSync and ``aws s3 sync``
copy names as they are, so a name that is not valid UTF-8 or is longer than S3 allows cannot arrive at all, and
names S3's key-naming guidelines warn about arrive but need care in URLs.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime as dt
import hashlib
import json
import os
import stat
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import IO, Any

from inventory_migration.migrationctl.errors import UsageError

S3_KEY_MAX_BYTES = 1024
"""Longest object key S3 accepts (UTF-8 bytes)."""
KEY_SPECIAL_HANDLING = frozenset("&$@=;:+,? ") | frozenset(chr(c) for c in (*range(0x20), 0x7F))
"""Characters S3's object key naming guidelines say "might require special handling" (URL-encoding, signing)."""
KEY_AVOID = frozenset('\\{}^%`]">[~<#|')
"""Characters the guidelines say to avoid."""
CHUNK = 1 << 20
"""Read size when hashing: memory stays bounded whatever the file sizes."""


class Kind(Enum):
    FILE = "file"
    SYMLINK = "symlink"
    SPECIAL = "special"
    """FIFO, socket or device: DataSync does not copy these."""


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One walked name (relative path as bytes, so names that are not UTF-8 survive)."""

    path: bytes
    size: int
    mtime_ns: int
    mode: int
    kind: Kind = Kind.FILE
    inode: tuple[int, int] | None = None
    """(device, inode) of files with more than one link: hard links."""
    link_target: bytes = b""
    sha256: str = ""
    md5: str = ""

    @property
    def display(self) -> str:
        return self.path.decode("utf-8", "backslashreplace")


@dataclasses.dataclass(frozen=True, slots=True)
class NameIssue:
    path: str
    problem: str
    blocking: bool
    """True when the name cannot become a key at all (the file cannot arrive)."""


def key_for(path: bytes, prefix: str) -> str | None:
    """The object key of a relative path, or None when it cannot be one."""
    try:
        name = path.decode("utf-8")
    except UnicodeDecodeError:
        return None
    key = f"{prefix}{name}"
    return key if len(key.encode("utf-8")) <= S3_KEY_MAX_BYTES else None


def name_issues(path: bytes, prefix: str) -> list[NameIssue]:
    """What stands between this relative path and a clean 1:1 object key."""
    shown = path.decode("utf-8", "backslashreplace")
    try:
        name = path.decode("utf-8")
    except UnicodeDecodeError:
        return [NameIssue(shown, "not valid UTF-8: cannot be an S3 key (rename it on-prem)", True)]
    out: list[NameIssue] = []
    size = len(prefix.encode("utf-8")) + len(path)
    if size > S3_KEY_MAX_BYTES:
        out.append(NameIssue(shown, f"key of {size} bytes: over S3's {S3_KEY_MAX_BYTES}", True))
    special = sorted({c for c in name if c in KEY_SPECIAL_HANDLING})
    if special:
        out.append(NameIssue(shown, f"needs URL-encoding in links: {' '.join(repr(c) for c in special)}", False))
    avoid = sorted({c for c in name if c in KEY_AVOID})
    if avoid:
        out.append(NameIssue(shown, f"characters S3 says to avoid: {' '.join(repr(c) for c in avoid)}", False))
    if unicodedata.normalize("NFC", name) != name:
        out.append(NameIssue(shown, "not in NFC: links typed or generated in NFC miss this key", False))
    return out


def normalization_twins(paths: Iterable[bytes]) -> list[NameIssue]:
    """Names that differ only in Unicode normalization (NFC vs NFD): two keys that look the same."""
    seen: dict[str, list[str]] = collections.defaultdict(list)
    for path in paths:
        try:
            name = path.decode("utf-8")
        except UnicodeDecodeError:
            continue
        seen[unicodedata.normalize("NFC", name)].append(name)
    return [
        NameIssue(" / ".join(sorted(names)), f"{len(names)} names with the same NFC form: distinct keys that look alike", False)
        for names in seen.values()
        if len(names) > 1
    ]


# --------------------------------------------------------------------------------------------- walk


@dataclasses.dataclass
class Walk:
    """What a walk found besides the entries."""

    empty_dirs: list[bytes] = dataclasses.field(default_factory=list)
    directories: int = 0
    max_depth: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    dir_bytes: collections.Counter[bytes] = dataclasses.field(default_factory=collections.Counter)
    """Bytes of the files directly in each directory."""


def walk(root: Path, jobs: int = 8, on_entry: Callable[[Entry], None] | None = None) -> tuple[list[Entry], Walk]:
    """Every non-directory under ``root``, listed by ``jobs`` threads one directory at a time (``lstat`` only: links
    are not followed). ``on_entry`` sees each entry as soon as it is found (for a pipelined consumer)."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory")
    base = os.fsencode(root)
    entries: list[Entry] = []
    info = Walk()
    lock = threading.Lock()

    def scan(rel: bytes, depth: int) -> list[tuple[bytes, int]]:
        found: list[Entry] = []
        subdirs: list[tuple[bytes, int]] = []
        direct = 0
        try:
            with os.scandir(os.path.join(base, rel) if rel else base) as it:
                for item in it:
                    name = os.path.join(rel, item.name) if rel else item.name
                    st = item.stat(follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        subdirs.append((name, depth + 1))
                        continue
                    if stat.S_ISLNK(st.st_mode):
                        target = os.readlink(item.path)
                        entry = Entry(name, len(target), st.st_mtime_ns, st.st_mode, Kind.SYMLINK, link_target=target)
                    elif stat.S_ISREG(st.st_mode):
                        inode = (st.st_dev, st.st_ino) if st.st_nlink > 1 else None
                        entry = Entry(name, st.st_size, st.st_mtime_ns, st.st_mode, Kind.FILE, inode)
                        direct += st.st_size
                    else:
                        entry = Entry(name, 0, st.st_mtime_ns, st.st_mode, Kind.SPECIAL)
                    found.append(entry)
        except OSError as error:
            with lock:
                info.errors.append(f"{os.fsdecode(rel) or '.'}: {error.strerror}")
            return []
        if on_entry is not None:
            for entry in found:
                on_entry(entry)
        with lock:
            entries.extend(found)
            info.directories += 1
            info.max_depth = max(info.max_depth, depth)
            info.dir_bytes[rel] += direct
            if not found and not subdirs and rel:
                info.empty_dirs.append(rel)
        return subdirs

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="walk") as pool:
        pending = {pool.submit(scan, b"", 0)}
        while pending:
            done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                pending |= {pool.submit(scan, rel, depth) for rel, depth in future.result()}
    entries.sort(key=lambda e: e.path)
    return entries, info


def file_digests(path: Path | bytes) -> tuple[str, int]:
    """SHA-256 (hex) and CRC32 of a file, read in bounded chunks."""
    sha, crc = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
            crc = zlib.crc32(chunk, crc)
    return sha.hexdigest(), crc


def file_hashes(path: Path | bytes) -> tuple[str, str, int]:
    """MD5, SHA-256 (hex) and CRC32 of a file in one bounded-memory pass: whichever the object offers is compared."""
    md5, sha, crc = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            crc = zlib.crc32(chunk, crc)
    return md5.hexdigest(), sha.hexdigest(), crc


def file_md5(path: Path | bytes) -> str:
    """MD5 (hex) of a file: what S3 reports as the ETag of a single-part, non-KMS object."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            md5.update(chunk)
    return md5.hexdigest()


# --------------------------------------------------------------------------------------------- manifest

MANIFEST_VERSION = 1


def write_manifest(out: IO[str], root: Path, entries: Iterable[Entry], checksum: bool) -> int:
    """JSON lines: a header, then one line per entry (path kept exactly: names that are not UTF-8 round-trip)."""
    header = {"manifest": MANIFEST_VERSION, "root": str(root), "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    out.write(json.dumps(header) + "\n")
    base = os.fsencode(root)
    count = 0
    for e in entries:
        line: dict[str, Any] = {"path": os.fsdecode(e.path), "size": e.size, "mtime_ns": e.mtime_ns, "mode": f"{e.mode:o}"}
        if e.kind is not Kind.FILE:
            line["kind"] = e.kind.value
        if e.kind is Kind.SYMLINK:
            line["target"] = os.fsdecode(e.link_target)
        if checksum and e.kind is Kind.FILE:
            line["sha256"] = file_digests(os.path.join(base, e.path))[0]
            line["md5"] = file_md5(os.path.join(base, e.path))
        out.write(json.dumps(line) + "\n")
        count += 1
    return count


def read_manifest(path: Path) -> Iterator[Entry]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read manifest {path}: {error.strerror}") from None
    with handle:
        header = json.loads(handle.readline() or "{}")
        if header.get("manifest") != MANIFEST_VERSION:
            raise UsageError(f"{path} is not a manifest written by `migrationctl files plan --manifest`")
        for line in handle:
            d = json.loads(line)
            kind = Kind(d.get("kind", "file"))
            yield Entry(
                os.fsencode(d["path"]),
                int(d["size"]),
                int(d["mtime_ns"]),
                int(d["mode"], 8),
                kind,
                link_target=os.fsencode(d.get("target", "")),
                sha256=d.get("sha256", ""),
                md5=d.get("md5", ""),
            )


# --------------------------------------------------------------------------------------------- plan

SIZE_BUCKETS = (
    (0, "0 B"),
    (4 << 10, "< 4 KiB"),
    (16 << 10, "< 16 KiB"),
    (64 << 10, "< 64 KiB"),
    (128 << 10, "< 128 KiB"),
    (1 << 20, "< 1 MiB"),
    (8 << 20, "< 8 MiB"),
    (64 << 20, "< 64 MiB"),
)
"""Upper bounds (exclusive, except the first) of the size histogram; 128 KiB is S3's minimum billable size for IA."""


def bucket_of(size: int) -> str:
    if size == 0:
        return "0 B"
    for bound, label in SIZE_BUCKETS[1:]:
        if size < bound:
            return label
    return ">= 64 MiB"


class Tier(Enum):
    """How the images are stored after the move."""

    STANDARD = "standard"
    LIFECYCLE = "lifecycle"
    """The stack's rules: Standard, then Standard-IA, then Glacier Instant Retrieval; objects under the minimum size stay."""
    INTELLIGENT_TIERING = "intelligent-tiering"


@dataclasses.dataclass(frozen=True)
class Prices:
    """Published S3 prices, us-east-1, first 50 TB tier, USD (https://aws.amazon.com/s3/pricing/, as of ``as_of``)."""

    as_of: str = "2026-11"
    standard_gb_month: float = 0.023
    standard_ia_gb_month: float = 0.0125
    glacier_ir_gb_month: float = 0.004
    it_frequent_gb_month: float = 0.023
    it_archive_instant_gb_month: float = 0.004
    it_monitoring_per_1000_objects: float = 0.0025
    ia_retrieval_gb: float = 0.01
    glacier_ir_retrieval_gb: float = 0.03
    put_per_1000: float = 0.005
    transition_ia_per_1000: float = 0.01
    transition_glacier_ir_per_1000: float = 0.02
    transition_it_per_1000: float = 0.01
    min_billable_bytes: int = 128 * 1024
    """Standard-IA and Glacier IR bill smaller objects as 128 KB; Intelligent-Tiering does not monitor or tier them."""


PRICES = Prices()
GB = 1024**3


@dataclasses.dataclass(frozen=True)
class Cost:
    tier: Tier
    monthly_usd: float
    """Once the transitions are done (after ``glacier_instant_retrieval_days``), reads included."""
    one_time_usd: float
    """Uploads and lifecycle transitions."""
    note: str


def lifecycle_costs(small: tuple[int, int], large: tuple[int, int], read_fraction: float, prices: Prices = PRICES) -> list[Cost]:
    """Monthly cost of the images under each option. ``small``/``large``: (objects, bytes) under/over the minimum
    billable size; ``read_fraction``: share of the large objects' bytes read in a month (the rest stay cold)."""
    (small_n, small_b), (large_n, large_b) = small, large
    small_gb, large_gb = small_b / GB, large_b / GB
    puts = (small_n + large_n) / 1000 * prices.put_per_1000
    standard_small = small_gb * prices.standard_gb_month
    return [
        Cost(Tier.STANDARD, (small_gb + large_gb) * prices.standard_gb_month, puts, "everything in S3 Standard"),
        Cost(
            Tier.LIFECYCLE,
            standard_small + large_gb * prices.glacier_ir_gb_month + read_fraction * large_gb * prices.glacier_ir_retrieval_gb,
            puts + large_n / 1000 * (prices.transition_ia_per_1000 + prices.transition_glacier_ir_per_1000),
            "large objects in Glacier IR after the transitions, retrieval fees on reads; small ones stay in Standard",
        ),
        Cost(
            Tier.INTELLIGENT_TIERING,
            standard_small
            + large_gb * (read_fraction * prices.it_frequent_gb_month + (1 - read_fraction) * prices.it_archive_instant_gb_month)
            + large_n / 1000 * prices.it_monitoring_per_1000_objects,
            puts + large_n / 1000 * prices.transition_it_per_1000,
            "read objects stay frequent, the rest archive-instant after 90 days; monitoring fee per large object",
        ),
    ]


@dataclasses.dataclass
class Plan:
    root: str
    files: int
    bytes: int
    histogram: dict[str, tuple[int, int]]
    max_depth: int
    directories: int
    largest_dirs: list[tuple[str, int]]
    blocking: list[NameIssue]
    warnings: list[NameIssue]
    symlinks: list[str]
    hard_links: int
    special: list[str]
    empty_dirs: list[str]
    errors: list[str]
    transfer_hours: float | None
    bandwidth_mbps: int
    costs: list[Cost]
    read_fraction: float

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["costs"] = [
            {
                "tier": c.tier.value,
                "monthly_usd": round(c.monthly_usd, 2),
                "one_time_usd": round(c.one_time_usd, 2),
                "note": c.note,
            }
            for c in self.costs
        ]
        out["blocking"] = [dataclasses.asdict(i) for i in self.blocking]
        out["warnings"] = [dataclasses.asdict(i) for i in self.warnings]
        out["prices_as_of"] = PRICES.as_of
        return out


def make_plan(
    root: Path,
    entries: list[Entry],
    info: Walk,
    prefix: str = "",
    bandwidth_mbps: int = 0,
    read_fraction: float = 0.1,
    top: int = 10,
) -> Plan:
    files = [e for e in entries if e.kind is Kind.FILE]
    histogram: dict[str, list[int]] = {label: [0, 0] for _, label in SIZE_BUCKETS} | {">= 64 MiB": [0, 0]}
    for e in files:
        cell = histogram[bucket_of(e.size)]
        cell[0] += 1
        cell[1] += e.size
    blocking: list[NameIssue] = []
    warnings: list[NameIssue] = []
    for e in entries:
        for issue in name_issues(e.path, prefix):
            (blocking if issue.blocking else warnings).append(issue)
    warnings += normalization_twins([e.path for e in entries] + info.empty_dirs)
    inodes = collections.Counter(e.inode for e in files if e.inode is not None)
    total = sum(e.size for e in files) + sum(e.size for e in entries if e.kind is Kind.SYMLINK)
    small = [e for e in files if e.size < PRICES.min_billable_bytes]
    large = [e for e in files if e.size >= PRICES.min_billable_bytes]
    return Plan(
        root=str(root),
        files=len(files),
        bytes=total,
        histogram={k: (v[0], v[1]) for k, v in histogram.items()},
        max_depth=info.max_depth,
        directories=info.directories,
        largest_dirs=[(os.fsdecode(d) or ".", b) for d, b in info.dir_bytes.most_common(top)],
        blocking=blocking,
        warnings=warnings,
        symlinks=[e.display for e in entries if e.kind is Kind.SYMLINK],
        hard_links=sum(n for n in inodes.values()),
        special=[e.display for e in entries if e.kind is Kind.SPECIAL],
        empty_dirs=[d.decode("utf-8", "backslashreplace") for d in sorted(info.empty_dirs)],
        errors=info.errors,
        transfer_hours=(total * 8 / (bandwidth_mbps * 1e6) / 3600) if bandwidth_mbps else None,
        bandwidth_mbps=bandwidth_mbps,
        costs=lifecycle_costs((len(small), sum(e.size for e in small)), (len(large), sum(e.size for e in large)), read_fraction),
        read_fraction=read_fraction,
    )


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


DATASYNC_NOTES = {
    "symlinks": "DataSync stores the link's target path as the object's content (restored as a link on the way back); "
    "`aws s3 sync` follows the link and uploads the target's content",
    "hard links": "each path becomes its own object (the data is read once per execution)",
    "special": "FIFOs, sockets and devices are not copied by DataSync or `aws s3 sync`",
    "empty dirs": "DataSync keeps a folder as an empty `dir/` object; `aws s3 sync` drops empty directories",
}


def render_plan(p: Plan, limit: int = 20) -> str:
    lines = [
        f"tree {p.root}: {p.files:,} files, {human(p.bytes)} in {p.directories:,} directories, depth {p.max_depth}",
        "",
        "size histogram:",
    ]
    for label, (count, size) in p.histogram.items():
        if count:
            lines.append(f"  {label:>10}  {count:>12,} files  {human(size):>11}")
    lines += ["", "largest directories (files directly in them):"]
    lines += [f"  {human(size):>11}  {name}" for name, size in p.largest_dirs]
    lines += ["", f"names that cannot become keys: {len(p.blocking)}"]
    lines += [f"  {i.path}: {i.problem}" for i in p.blocking[:limit]]
    lines += [f"names that need care: {len(p.warnings)}"]
    lines += [f"  {i.path}: {i.problem}" for i in p.warnings[:limit]]
    for label, items, note in (
        ("symlinks", p.symlinks, DATASYNC_NOTES["symlinks"]),
        ("special files", p.special, DATASYNC_NOTES["special"]),
        ("empty directories", p.empty_dirs, DATASYNC_NOTES["empty dirs"]),
    ):
        lines.append(f"{label}: {len(items)}" + (f" ({note})" if items else ""))
        lines += [f"  {name}" for name in items[:limit]]
    lines.append(f"hard-linked paths: {p.hard_links}" + (f" ({DATASYNC_NOTES['hard links']})" if p.hard_links else ""))
    if p.errors:
        lines += [f"unreadable: {len(p.errors)}"] + [f"  {e}" for e in p.errors[:limit]]
    lines.append("")
    if p.transfer_hours is not None:
        lines.append(
            f"first full copy at {p.bandwidth_mbps} Mbit/s: {_duration(p.transfer_hours * 3600)} (incremental runs copy only changes)"
        )
    lines += [
        "",
        f"monthly storage cost, us-east-1 prices of {PRICES.as_of}, {p.read_fraction:.0%} of the large objects' bytes read a month:",
    ]
    lines += [
        f"  {c.tier.value:<20} ${c.monthly_usd:>10,.2f}/month  (one-time ${c.one_time_usd:,.2f})  {c.note}" for c in p.costs
    ]
    cheapest = min(p.costs, key=lambda c: c.monthly_usd)
    if max(c.monthly_usd for c in p.costs) - cheapest.monthly_usd < 0.01:
        lines.append("cheapest: no difference at this size")
    else:
        lines.append(f"cheapest: {cheapest.tier.value}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
