"""The bucket side of ``files verify`` and ``files plan``: an ``s3://`` URL, every object under its prefix (listed by
key prefix across threads), and the mtime an object keeps in its user metadata.

mtime comes from the object's user metadata: DataSync keeps a file's POSIX metadata there (``file-mtime``, the
layout Storage Gateway and FSx for Lustre read: nanoseconds with an ``ns`` suffix); rclone's ``mtime`` (RFC 3339
or epoch seconds) is read too.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import decimal
import threading
from typing import Any

from inventory_migration.migrationctl.errors import UsageError

MTIME_KEYS = ("file-mtime", "mtime")
"""User-metadata keys holding a file's mtime: DataSync / Storage Gateway's, then rclone's."""
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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
