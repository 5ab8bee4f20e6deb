"""Helpers the tests of this directory share (from test_files.py)."""

from __future__ import annotations

import os
import random
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.migrationctl.files import compare as fcmp
from inventory_migration.migrationctl.files import report as frep
from inventory_migration.migrationctl.files import tree as ft
from inventory_migration.migrationctl.files import verify as fv

MB = 1 << 20


NFC = unicodedata.normalize("NFC", "crème-brûlée.jpg")


NFD = unicodedata.normalize("NFD", "crème-brûlée.jpg")


BAD_NAME = b"latin1-\xe9t\xe9.jpg"


def make_tree(root: Path, *, bad_name: bool = False, special: bool = False) -> Path:
    """Nested directories, NFC and NFD names, URL-unfriendly characters, an empty directory, a symlink, a hard link,
    a zero-byte file and one over the multipart threshold."""
    (root / "catalog" / "2024" / "shoes").mkdir(parents=True)
    (root / "catalog" / "2024" / "shoes" / "sku-1.jpg").write_bytes(b"\xff\xd8jpeg-1" * 100)
    (root / "catalog" / "2024" / "sku-2.png").write_bytes(b"png" * 3000)
    (root / "catalog" / "thumbs").mkdir()
    for i in range(20):
        (root / "catalog" / "thumbs" / f"t{i:03}.jpg").write_bytes(os.urandom(200 + i))
    (root / "names").mkdir()
    (root / "names" / NFC).write_bytes(b"nfc")
    (root / "names" / NFD).write_bytes(b"nfd!")
    (root / "names" / "a b+c%d#e?f.jpg").write_bytes(b"odd")
    (root / "empty-dir").mkdir()
    (root / "zero.jpg").write_bytes(b"")
    (root / "big.tif").write_bytes(os.urandom(6 * MB))  # over the 5 MiB multipart threshold used by the copies
    os.symlink("catalog/2024/sku-2.png", root / "latest.png")
    os.link(root / "catalog" / "2024" / "sku-2.png", root / "catalog" / "sku-2-hardlink.png")
    if bad_name:
        with open(os.path.join(os.fsencode(root), BAD_NAME), "wb") as handle:
            handle.write(b"latin-1 name")
    if special:
        os.mkfifo(root / "pipe")
    return root


def datasync_copy(s3: Any, bucket: str, root: Path, prefix: str = "") -> None:
    """What a DataSync task execution leaves in the bucket."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    entries, info = ft.walk(root)
    base = os.fsencode(root)
    for e in entries:
        key = ft.key_for(e.path, prefix)
        if key is None or e.kind is ft.Kind.SPECIAL:
            continue  # DataSync cannot write these
        metadata = {"file-mtime": f"{e.mtime_ns}ns", "file-permissions": f"{e.mode:o}", "file-owner": "0", "file-group": "0"}
        if e.kind is ft.Kind.SYMLINK:
            s3.put_object(Bucket=bucket, Key=key, Body=e.link_target, Metadata=metadata)
        else:
            s3.upload_file(os.fsdecode(os.path.join(base, e.path)), bucket, key, ExtraArgs={"Metadata": metadata}, Config=config)
    for d in info.empty_dirs:
        s3.put_object(Bucket=bucket, Key=f"{prefix}{os.fsdecode(d)}/", Body=b"")


def aws_s3_sync_copy(s3: Any, bucket: str, root: Path, prefix: str = "") -> None:
    """What ``aws s3 sync ROOT s3://BUCKET/PREFIX`` leaves: contents only, links followed, no empty directories."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if path.is_file():
                s3.upload_file(str(path), bucket, prefix + str(path.relative_to(root)))


def run(s3: Any, root: Path, url: str, **options: Any) -> frep.FilesReport:
    return fv.verify(s3, root, url, fcmp.VerifyOptions(jobs=4, **options))


def problems(report: frep.FilesReport) -> set[tuple[str, str]]:
    return {(d.problem.name, d.path) for d in report.differences}


class CountingClient:
    def __init__(self, client: Any, calls: list[str]) -> None:
        self._client, self._calls = client, calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if callable(attr) and not name.startswith("get_paginator"):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self._calls.append(name)
                return attr(*args, **kwargs)

            return counted
        return attr


def _meta(root: Path, rel: str) -> dict[str, str]:
    return {"file-mtime": f"{(root / rel).stat().st_mtime_ns}ns"}


class KmsEtags:
    """SSE-KMS objects: 32-hex ETags that are not the content's MD5 (the listing cannot prove content)."""

    def __init__(self, client: Any, calls: list[str]) -> None:
        self._client, self._calls = client, calls

    def get_paginator(self, name: str) -> Any:
        paginator = self._client.get_paginator(name)

        class Pages:
            def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
                for page in paginator.paginate(**kwargs):
                    for item in page.get("Contents", []):
                        if "-" not in item["ETag"]:
                            item["ETag"] = '"' + uuid.uuid4().hex + '"'
                    yield page

        return Pages()

    def __getattr__(self, name: str) -> Any:
        self._calls.append(name)
        return getattr(self._client, name)


def _unreadable(monkeypatch: pytest.MonkeyPatch, root: Path, rel: str) -> None:
    """``rel`` cannot be listed (permission bits would not stop root, which runs the tests in CI)."""
    from inventory_migration.migrationctl.files import tree

    real = os.scandir
    blocked = os.fsencode(root / rel)

    def scandir(path: Any) -> Any:
        if os.fsencode(path) == blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(tree.os, "scandir", scandir)


NAME_PARTS = ("a", "b", "-", ".", "0", " ", "~", "é", "e\u0301", "_", "Z")
"""What generated names are made of: the characters that sort around '/' and the two normalizations of 'é'."""


def seeded(variable: str) -> int:
    """A seed from ``variable`` when it is set (to replay a failure), else a new one; printed either way."""
    value = os.environ.get(variable)
    seed = int(value) if value else random.SystemRandom().randrange(1_000_000)
    print(f"{variable}={seed}")
    return seed


def random_tree(root: Path, rng: random.Random, *, files: int = 40) -> list[bytes]:
    """A tree of ``files`` files (and a few empty directories) under names built from :data:`NAME_PARTS`, sizes
    0-64 B; returns every path of a file, relative, as bytes."""
    made: list[bytes] = []
    dirs = [root]
    while len(made) < files:
        name = "".join(rng.choice(NAME_PARTS) for _ in range(rng.randint(1, 4)))
        where = rng.choice(dirs)
        path = where / name
        if path.exists() or name in (".", ".."):
            continue
        if rng.random() < 0.2:
            path.mkdir()
            dirs.append(path)
            continue
        path.write_bytes(os.urandom(rng.randint(0, 64)))
        made.append(os.fsencode(path.relative_to(root)))
    return made
