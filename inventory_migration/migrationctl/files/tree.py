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
    unreadable: list[tuple[bytes, str]] = dataclasses.field(default_factory=list)
    """Directories the walk could not list (relative path, why): nothing under them was seen."""
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
                info.unreadable.append((rel, str(error.strerror)))
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
