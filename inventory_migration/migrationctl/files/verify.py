"""``files verify``: every file on-prem is one object under the prefix with the same relative path, size and mtime
(and, with ``--checksum``, content); nothing extra in the bucket. Read-only on both sides.

The walk (or a manifest) and the bucket listing (:mod:`.listing`) run at the same time, and the comparison chosen up
front (:mod:`.compare`) follows; per-object requests run in a thread pool with bounded reads. What was found is a
:class:`~.report.FilesReport` (:mod:`.report`).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inventory_migration.migrationctl.files.compare import DEFAULT_OPTIONS, Comparison, VerifyOptions, load_progress
from inventory_migration.migrationctl.files.listing import Obj, list_objects, parse_s3_url
from inventory_migration.migrationctl.files.report import Difference, FilesReport, Problem
from inventory_migration.migrationctl.files.tree import (
    Entry,
    Kind,
    file_hashes,
    key_for,
    read_manifest,
    walk,
)
from inventory_migration.migrationctl.records import write_json


def verify(
    s3: Any,
    source: Path,
    url: str,
    options: VerifyOptions = DEFAULT_OPTIONS,
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

    comparison = Comparison(s3, bucket, prefix, root, options, done=load_progress(options) if options.resume else {})
    done, hashes = comparison.done, comparison.hashes
    # With --checksum, files are hashed as the walk finds them, while the listing is still under way.
    hasher = concurrent.futures.ThreadPoolExecutor(options.jobs, "hash") if options.checksum and root is not None else None

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
        comparison.run(entries, empty_dirs, objects, report, progress)
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
