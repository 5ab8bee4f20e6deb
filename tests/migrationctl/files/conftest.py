"""Fixtures of this directory's tests (from test_files.py)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.migrationctl.files.support import (
    datasync_copy,
    make_tree,
)


@pytest.fixture(scope="module")
def s3(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"img-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def drifted(s3: Any, bucket: str, tmp_path: Path) -> tuple[Path, str]:
    """A copy, then the tree and the bucket drift apart in every way a night can bring."""
    root = make_tree(tmp_path / "tree", bad_name=True)
    datasync_copy(s3, bucket, root)
    (root / "catalog" / "2024" / "shoes" / "sku-1.jpg").write_bytes(b"re-shot, larger" * 100)  # size
    thumb = root / "catalog" / "thumbs" / "t001.jpg"
    thumb.write_bytes(os.urandom(201))  # same size, new content, new mtime
    later = time.time() + 120
    os.utime(thumb, (later, later))
    restored = root / "catalog" / "thumbs" / "t002.jpg"
    before = restored.stat()
    restored.write_bytes(os.urandom(202))  # same size, new content, mtime put back (a restore with cp -p)
    os.utime(restored, ns=(before.st_atime_ns, before.st_mtime_ns))
    (root / "catalog" / "new-upload.jpg").write_bytes(b"after the copy")  # missing
    s3.put_object(Bucket=bucket, Key="catalog/stray.jpg", Body=b"only in the bucket")  # extra
    s3.delete_object(Bucket=bucket, Key="names/a b+c%d#e?f.jpg")  # missing
    return root, f"s3://{bucket}"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield
