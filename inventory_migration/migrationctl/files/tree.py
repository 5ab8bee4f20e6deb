"""The on-prem image tree as S3 will see it: a parallel walk, how each name maps to an object key (and which names
cannot, or need care), file hashes, and the manifest (``files plan --manifest``).

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
import heapq
import json
import os
import stat
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
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

LOOKAHEAD = 8
"""Subdirectories of each directory being walked that are listed ahead of the walk (by the thread pool)."""
LIST_CAP = 10_000
"""Names kept for each list of a :class:`Walk` (counts stay exact): memory stays flat whatever the tree."""


@dataclasses.dataclass(frozen=True, slots=True)
class Dir:
    """A directory the ordered walk yields where its key falls: an empty one (DataSync keeps it as a folder object
    ``dir/``) or one that could not be listed (``unreadable``: why)."""

    path: bytes
    unreadable: str = ""


@dataclasses.dataclass
class Walk:
    """What a walk found besides the entries (lists capped at :data:`LIST_CAP`, counts exact)."""

    empty_dirs: list[bytes] = dataclasses.field(default_factory=list)
    empty_dir_count: int = 0
    directories: int = 0
    max_depth: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    unreadable: list[tuple[bytes, str]] = dataclasses.field(default_factory=list)
    """Directories the walk could not list (relative path, why): nothing under them was seen."""
    largest: list[tuple[int, bytes]] = dataclasses.field(default_factory=list)
    """The directories holding the most bytes in files directly in them: a min-heap of (bytes, path), :data:`TOP`."""
    twins: list[NameIssue] = dataclasses.field(default_factory=list)
    """Sibling names that differ only in Unicode normalization (NFC vs NFD): distinct keys that look alike."""

    TOP = 10

    def note_directory(self, rel: bytes, depth: int, direct_bytes: int) -> None:
        self.directories += 1
        self.max_depth = max(self.max_depth, depth)
        if len(self.largest) < self.TOP:
            heapq.heappush(self.largest, (direct_bytes, rel))
        elif (direct_bytes, rel) > self.largest[0]:
            heapq.heapreplace(self.largest, (direct_bytes, rel))

    def largest_dirs(self) -> list[tuple[bytes, int]]:
        return [(rel, size) for size, rel in sorted(self.largest, key=lambda x: (-x[0], x[1]))]


def _sort_key(name: bytes, is_dir: bool) -> bytes:
    """A directory sorts as ``name/``: the walk's order is then its keys' byte order (S3's listing order, UTF-8 being
    byte-ordered like code points): ``a-b`` < ``a.b`` < ``a/x`` < ``a0``."""
    return name + b"/" if is_dir else name


@dataclasses.dataclass
class _Listing:
    """One directory read: its children in key order (an entry, or ``None`` for a subdirectory), or why it could not
    be read."""

    children: list[tuple[bytes, Entry | None]] = dataclasses.field(default_factory=list)
    direct_bytes: int = 0
    error: str = ""


def _scan(base: bytes, rel: bytes) -> _Listing:
    out = _Listing()
    try:
        with os.scandir(os.path.join(base, rel) if rel else base) as it:
            for item in it:
                name = os.path.join(rel, item.name) if rel else item.name
                st = item.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    out.children.append((name, None))
                    continue
                if stat.S_ISLNK(st.st_mode):
                    target = os.readlink(item.path)
                    entry = Entry(name, len(target), st.st_mtime_ns, st.st_mode, Kind.SYMLINK, link_target=target)
                elif stat.S_ISREG(st.st_mode):
                    inode = (st.st_dev, st.st_ino) if st.st_nlink > 1 else None
                    entry = Entry(name, st.st_size, st.st_mtime_ns, st.st_mode, Kind.FILE, inode)
                    out.direct_bytes += st.st_size
                else:
                    entry = Entry(name, 0, st.st_mtime_ns, st.st_mode, Kind.SPECIAL)
                out.children.append((name, entry))
    except OSError as error:
        return _Listing(error=str(error.strerror))
    out.children.sort(key=lambda c: _sort_key(c[0], c[1] is None))
    return out


def _sibling_twins(children: list[tuple[bytes, Entry | None]]) -> list[NameIssue]:
    names = [os.path.basename(path) for path, _ in children]
    if all(n.isascii() for n in names):
        return []  # an ASCII name is its own NFC form; a twin needs a name that is not ASCII
    return normalization_twins(path for path, _ in children)


@dataclasses.dataclass
class _Frame:
    rel: bytes
    depth: int
    listing: _Listing
    at: int = 0
    ahead: dict[bytes, concurrent.futures.Future[_Listing]] = dataclasses.field(default_factory=dict)
    next_ahead: int = 0

    def prefetch(self, pool: concurrent.futures.ThreadPoolExecutor, base: bytes) -> None:
        """Keep the next :data:`LOOKAHEAD` subdirectories after the current child being listed."""
        children = self.listing.children
        while self.next_ahead < len(children) and (len(self.ahead) < LOOKAHEAD or self.next_ahead < self.at):
            path, entry = children[self.next_ahead]
            if entry is None:
                self.ahead[path] = pool.submit(_scan, base, path)
            self.next_ahead += 1


def iter_walk(root: Path, jobs: int = 8, info: Walk | None = None) -> Iterator[Entry | Dir]:
    """Every non-directory under ``root`` (``lstat`` only: links are not followed), plus each empty or unreadable
    directory, **in key order** — the order S3 lists the objects in — so a consumer can compare it with a listing as
    both come. Directories are listed by ``jobs`` threads, a few ahead of the walk; memory holds one listing per level
    being walked and the few listed ahead. What is found besides entries goes into ``info``."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory")
    base = os.fsencode(root)
    info = info if info is not None else Walk()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="walk")
    try:
        stack: list[_Frame] = []
        pending: tuple[bytes, int, concurrent.futures.Future[_Listing]] | None = (b"", 0, pool.submit(_scan, base, b""))
        while pending is not None or stack:
            if pending is not None:
                rel, depth, future = pending
                pending = None
                listing = future.result()
                if listing.error:
                    if len(info.unreadable) < LIST_CAP:
                        info.errors.append(f"{os.fsdecode(rel) or '.'}: {listing.error}")
                        info.unreadable.append((rel, listing.error))
                    yield Dir(rel, unreadable=listing.error)
                    continue
                info.note_directory(rel, depth, listing.direct_bytes)
                if not listing.children:
                    if rel:
                        info.empty_dir_count += 1
                        if len(info.empty_dirs) < LIST_CAP:
                            info.empty_dirs.append(rel)
                        yield Dir(rel)
                    continue
                if len(info.twins) < LIST_CAP:
                    info.twins += _sibling_twins(listing.children)
                stack.append(_Frame(rel, depth, listing))
                continue
            frame = stack[-1]
            if frame.at == len(frame.listing.children):
                stack.pop()
                continue
            path, entry = frame.listing.children[frame.at]
            frame.at += 1
            if entry is not None:
                yield entry
                continue
            frame.prefetch(pool, base)
            future = frame.ahead.pop(path) if path in frame.ahead else pool.submit(_scan, base, path)
            pending = (path, frame.depth + 1, future)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def walk(root: Path, jobs: int = 8) -> tuple[list[Entry], Walk]:
    """Every non-directory under ``root`` in key order, as a list (small trees and tests; large ones use
    :func:`iter_walk`)."""
    info = Walk()
    entries = [item for item in iter_walk(root, jobs, info) if isinstance(item, Entry)]
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


class ManifestWriter:
    """JSON lines: a header, then one line per entry as it comes (path kept exactly: names that are not UTF-8
    round-trip); in the walk's order, which is key order, so ``files verify`` can stream it against the bucket."""

    def __init__(self, out: IO[str], root: Path, checksum: bool) -> None:
        self.out, self.base, self.checksum, self.count = out, os.fsencode(root), checksum, 0
        header = {"manifest": MANIFEST_VERSION, "root": str(root), "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        out.write(json.dumps(header) + "\n")

    def write(self, e: Entry) -> None:
        line: dict[str, Any] = {"path": os.fsdecode(e.path), "size": e.size, "mtime_ns": e.mtime_ns, "mode": f"{e.mode:o}"}
        if e.kind is not Kind.FILE:
            line["kind"] = e.kind.value
        if e.kind is Kind.SYMLINK:
            line["target"] = os.fsdecode(e.link_target)
        if self.checksum and e.kind is Kind.FILE:
            line["md5"], line["sha256"], _crc = file_hashes(os.path.join(self.base, e.path))
        self.out.write(json.dumps(line) + "\n")
        self.count += 1


def write_manifest(out: IO[str], root: Path, entries: Iterable[Entry | Dir], checksum: bool) -> int:
    """Write every entry of ``entries`` (:class:`ManifestWriter`); returns how many."""
    writer = ManifestWriter(out, root, checksum)
    for e in entries:
        if isinstance(e, Entry):
            writer.write(e)
    return writer.count


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
