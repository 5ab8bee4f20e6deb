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
import queue
import re
import threading
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

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


def parse_timestamp(value: str) -> dt.datetime:
    """A timestamp of a listing page: its ISO 8601 (``2009-10-12T17:50:30.000Z``) by the standard library,
    anything else (a header's ``Wed, 12 Oct 2009 17:50:30 GMT``) by botocore's own parser. botocore's parser (dateutil)
    took about 70 % of the time it spends reading a listing page: 60 µs of the 82 µs per key."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        from botocore.utils import parse_timestamp as botocore_parse

        parsed = botocore_parse(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)  # S3's times are UTC


_CONTENTS = re.compile(rb"<Contents>.*?</Contents>", re.DOTALL)
"""An object of a listing page (a key cannot hold ``</Contents>``: XML escapes ``<``, and botocore asks for
URL-encoded keys)."""


def read_contents(**event: Any) -> None:
    """``before-parse.s3.ListObjectsV2``: read a page's objects — the fields ``files verify`` uses: ``Key``, ``Size``,
    ``LastModified``, ``ETag`` — with one ElementTree pass, and hand botocore the page without them (it still parses
    and checks the rest: truncation, continuation token, common prefixes, then URL-decodes the keys). botocore's
    shape-driven parser spent about 80 µs per object (60 of them parsing ``LastModified`` with dateutil); this,
    about 10. An error response is left to botocore whole."""
    response_dict: dict[str, Any] = event["response_dict"]
    customized_response_dict: dict[str, Any] = event["customized_response_dict"]
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or not isinstance(body, bytes) or b"<Contents>" not in body:
        return
    root = ElementTree.fromstring(body)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    key, size, modified, etag = (ns + name for name in ("Key", "Size", "LastModified", "ETag"))
    customized_response_dict["Contents"] = [
        {
            "Key": item.findtext(key, ""),
            "Size": int(item.findtext(size, "0")),
            "LastModified": parse_timestamp(item.findtext(modified, "")),
            "ETag": item.findtext(etag, ""),
        }
        for item in root.iter(ns + "Contents")
    ]
    response_dict["body"] = _CONTENTS.sub(b"", body)


def listing_session() -> Any:
    """A botocore session whose S3 clients read listing pages with :func:`read_contents` (an event handler, as the
    AWS CLI customizes botocore); every other response is botocore's own."""
    import botocore.session

    session = botocore.session.get_session()
    session.register("before-parse.s3.ListObjectsV2", read_contents)
    return session


@dataclasses.dataclass(frozen=True, slots=True)
class Obj:
    key: str
    size: int
    last_modified_ns: int
    etag: str


PAGE_QUEUE = 4
"""Pages of one prefix's listing held ahead of the consumer: the listing's memory is bounded by
``jobs × PAGE_QUEUE × 1,000`` objects, whatever the bucket holds."""


def _convert(item: dict[str, Any]) -> Obj:
    return Obj(item["Key"], int(item["Size"]), int(item["LastModified"].timestamp() * 1e9), item.get("ETag", ""))


def _segments(paginator: Any, bucket: str, prefix: str, depth: int, jobs: int) -> Iterator[Obj | str]:
    """The objects and sub-prefixes under ``prefix`` in key order; a level with fewer than ``jobs`` sub-prefixes is
    opened one level further, down to ``depth`` levels: each ``str`` yielded is a prefix to list in full."""
    objs: list[Obj] = []
    subs: list[str] = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        objs += [_convert(i) for i in page.get("Contents", [])]
        subs += [c["Prefix"] for c in page.get("CommonPrefixes", [])]
    merged: list[Obj | str] = sorted([*objs, *subs], key=lambda x: x.key if isinstance(x, Obj) else x)
    for item in merged:
        if isinstance(item, str) and depth > 1 and len(subs) < jobs:
            yield from _segments(paginator, bucket, item, depth - 1, jobs)
        else:
            yield item


def iter_objects(s3: Any, bucket: str, prefix: str, jobs: int = 8, fanout_depth: int = 2) -> Iterator[Obj]:
    """Every object under ``prefix`` **in key order** (S3's listing order), as they come: the first levels are listed
    with a delimiter to find sub-prefixes, which ``jobs`` threads then list in full, a few ahead of the consumer, each
    holding at most :data:`PAGE_QUEUE` pages. Raises :class:`ListingOutOfOrder` when the store lists out of order."""
    paginator = s3.get_paginator("list_objects_v2")
    stop = threading.Event()
    segments = list(_segments(paginator, bucket, prefix, fanout_depth, jobs))

    def put(pages: queue.Queue[list[Obj] | BaseException | None], item: list[Obj] | BaseException | None) -> None:
        while not stop.is_set():  # a consumer that stopped early takes nothing more: give up then
            try:
                pages.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def produce(sub: str, pages: queue.Queue[list[Obj] | BaseException | None]) -> None:
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=sub):
                put(pages, [_convert(i) for i in page.get("Contents", [])])
                if stop.is_set():
                    return
            put(pages, None)
        except BaseException as error:  # handed to the consumer, raised there
            put(pages, error)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="list")
    queues: dict[int, queue.Queue[list[Obj] | BaseException | None]] = {}
    started = 0
    last = ""
    try:
        for i, segment in enumerate(segments):
            while started < len(segments) and started <= i + jobs:
                ahead = segments[started]
                if isinstance(ahead, str):
                    queues[started] = queue.Queue(PAGE_QUEUE)
                    pool.submit(produce, ahead, queues[started])
                started += 1
            batches = iter([[segment]]) if isinstance(segment, Obj) else _drain(queues.pop(i))
            for batch in batches:
                for obj in batch:
                    if obj.key < last:
                        raise ListingOutOfOrder(f"s3://{bucket}: {obj.key!r} listed after {last!r}")
                    last = obj.key
                    yield obj
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def _drain(pages: queue.Queue[list[Obj] | BaseException | None]) -> Iterator[list[Obj]]:
    while (page := pages.get()) is not None:
        if isinstance(page, BaseException):
            raise page
        yield page


class ListingOutOfOrder(RuntimeError):
    """The store listed keys out of UTF-8 byte order (S3 never does; some S3-compatible stores may)."""


def list_objects(s3: Any, bucket: str, prefix: str, jobs: int = 8, fanout_depth: int = 2) -> list[Obj]:
    """Every object under ``prefix``, in key order, as a list (:func:`iter_objects`)."""
    return list(iter_objects(s3, bucket, prefix, jobs, fanout_depth))
