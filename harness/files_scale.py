"""A tree of N empty files and a synthetic bucket listing of the same N objects: ``files verify`` at a scale the
emulator cannot hold (moto keeps every object in memory and lists ~1,000 keys per request over HTTP).

The layout is a product catalogue's, ``brand-BBBB/cat-CC/sku-NNNNNNNN.jpg``, 100 files per directory and 20
directories per brand; index ``i`` is both the file's and the object's, so their key order is ``i``'s order. The
listing answers ``list_objects_v2`` as S3 does (pages of 1,000 keys, ``Delimiter`` giving ``CommonPrefixes``, keys in
UTF-8 byte order), generated as it is read: its own memory does not grow with N. It stands in for S3's answers only:
no request latency, no throttling.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

PER_DIR = 100
DIRS_PER_BRAND = 20
PER_BRAND = PER_DIR * DIRS_PER_BRAND
PAGE = 1000
LAST_MODIFIED = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
"""Every object written "after" its file: ``--mtime listing`` finds them equal."""
ETAG = '"d41d8cd98f00b204e9800998ecf8427e"'
"""The MD5 of no bytes: every file of :func:`make_tree` is empty, so content modes find them equal too."""


def key(i: int) -> str:
    return f"brand-{i // PER_BRAND:04}/cat-{(i // PER_DIR) % DIRS_PER_BRAND:02}/sku-{i:08}.jpg"


def make_tree(root: Path, files: int) -> None:
    """``files`` empty files under ``root`` in the layout of :func:`key`."""
    for i in range(files):
        path = root / key(i)
        if i % PER_DIR == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


class SyntheticListing:
    """``get_paginator("list_objects_v2")`` over :func:`key` ``(0 … files-1)``."""

    def __init__(self, files: int) -> None:
        self.files = files

    def get_paginator(self, name: str) -> SyntheticListing:
        assert name == "list_objects_v2", name
        return self

    def _range(self, prefix: str) -> tuple[int, int, int]:
        """(first index, end, depth) of the keys under ``prefix``: depth 0 = everything, 1 = a brand, 2 = a dir."""
        parts = [p for p in prefix.split("/") if p]
        if not parts:
            return 0, self.files, 0
        brand = int(parts[0].removeprefix("brand-"))
        if len(parts) == 1:
            return brand * PER_BRAND, min(self.files, (brand + 1) * PER_BRAND), 1
        first = brand * PER_BRAND + int(parts[1].removeprefix("cat-")) * PER_DIR
        return first, min(self.files, first + PER_DIR), 2

    def listing(self, prefix: str, delimiter: str = "") -> tuple[Sequence[str], bool]:
        """What S3 lists under ``prefix`` in key order, and whether those are common prefixes (with ``delimiter`` "/"
        above a directory) rather than keys. Keys are produced as they are read: nothing grows with N."""
        first, end, depth = self._range(prefix)
        if delimiter and depth < 2:
            step = PER_BRAND if depth == 0 else PER_DIR
            return sorted({key(i).rsplit("/", 2 - depth)[0] + "/" for i in range(first, end, step)}), True
        return _Keys(first, end), False

    def paginate(self, *, Bucket: str, Prefix: str = "", Delimiter: str = "") -> Iterator[dict[str, Any]]:
        names, prefixes = self.listing(Prefix, Delimiter)
        for at in range(0, len(names), PAGE):
            page = names[at : at + PAGE]
            if prefixes:
                yield {"CommonPrefixes": [{"Prefix": p} for p in page]}
            else:
                yield {"Contents": [{"Key": k, "Size": 0, "LastModified": LAST_MODIFIED, "ETag": ETAG} for k in page]}


class _Keys(Sequence[str]):
    """:func:`key` of ``first … end-1`` as a sequence (sliced and bisected without being built)."""

    def __init__(self, first: int, end: int) -> None:
        self.first, self.end = first, max(first, end)

    def __len__(self) -> int:
        return self.end - self.first

    @overload
    def __getitem__(self, at: int) -> str: ...
    @overload
    def __getitem__(self, at: slice) -> Sequence[str]: ...
    def __getitem__(self, at: int | slice) -> str | Sequence[str]:
        if isinstance(at, slice):
            start, stop, step = at.indices(len(self))
            assert step == 1, "a slice of keys is contiguous"
            return _Keys(self.first + start, self.first + stop)
        if not -len(self) <= at < len(self):
            raise IndexError(at)
        return key(self.first + at % len(self))
