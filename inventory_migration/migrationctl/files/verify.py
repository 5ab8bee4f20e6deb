"""``files verify``: every file on-prem is one object under the prefix with the same relative path, size and mtime
(and, with ``--checksum``, content); nothing extra in the bucket. Read-only on both sides.

The walk (or a manifest) and the bucket listing (:mod:`.listing`) both come in key order, each read ahead by its own
threads, and the comparison chosen up front (:mod:`.compare`) marches them side by side: memory stays flat whatever
the number of files. Per-object requests run in a bounded thread pool with bounded reads. What was found is a
:class:`~.report.FilesReport` (:mod:`.report`), its differences counted, the first ones kept, every one passed to
``on_difference``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inventory_migration.migrationctl.files.compare import DEFAULT_OPTIONS, Comparison, VerifyOptions, load_progress
from inventory_migration.migrationctl.files.listing import iter_objects, parse_s3_url
from inventory_migration.migrationctl.files.report import Difference, FilesReport
from inventory_migration.migrationctl.files.tree import iter_walk, read_manifest
from inventory_migration.migrationctl.records import write_json


def verify(
    s3: Any,
    source: Path,
    url: str,
    options: VerifyOptions = DEFAULT_OPTIONS,
    progress: Callable[[int], object] | None = None,
    clock: Callable[[], float] | None = None,
    on_difference: Callable[[Difference], object] | None = None,
) -> FilesReport:
    """Compare the tree under ``source`` (a directory, or a manifest file) with the objects under ``url``, both
    streamed in key order; ``on_difference`` sees every difference as it is found (``--report FILE``)."""
    import time

    now = clock or time.monotonic
    started = now()
    bucket, prefix = parse_s3_url(url)
    root = source if source.is_dir() else None
    report = FilesReport(str(source), url, on_difference=on_difference)
    comparison = Comparison(s3, bucket, prefix, root, options, done=load_progress(options) if options.resume else {})
    half = max(2, options.jobs // 2)
    items = iter_walk(root, half) if root is not None else read_manifest(source)
    objects = iter_objects(s3, bucket, prefix, half)
    try:
        comparison.run(items, objects, report, progress)
    finally:
        for stream in (items, objects):
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # a generator stopped early shuts its threads down
    report.seconds = now() - started
    return report


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
