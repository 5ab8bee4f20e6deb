"""moto's S3 listing at the cost of a page (harness/aws/patches_s3.py), held to a model of S3's listing over generated
key sets: every prefix, delimiter and page size a client uses, through boto3, both ListObjects versions.

The key sets are random from a printed seed (``S3_LISTING_SEED=<n>`` replays one): names over an alphabet that puts
``/`` among ``-`` and ``.`` and non-ASCII letters, some deleted, some under a delete marker in a versioned bucket."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

import pytest

ALPHABET = ["a", "b", "/", "-", ".", "é", "z", "😀"]
SEEDS = [int(os.environ["S3_LISTING_SEED"])] if "S3_LISTING_SEED" in os.environ else list(range(12))


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")


def model(current: set[str], prefix: str, delimiter: str) -> list[str]:
    """S3's listing: current keys under ``prefix``, those with ``delimiter`` after the prefix rolled up into common
    prefixes, in UTF-8 byte order."""
    items: set[str] = set()
    for name in current:
        if not name.startswith(prefix):
            continue
        cut = name.find(delimiter, len(prefix)) if delimiter else -1
        items.add(name[: cut + len(delimiter)] if cut >= 0 else name)
    return sorted(items, key=lambda n: n.encode("utf-8"))


def _world(s3: Any, seed: int) -> tuple[str, set[str], random.Random]:
    rng = random.Random(seed)
    bucket = f"listing-{seed}"
    s3.create_bucket(Bucket=bucket)
    versioned = rng.random() < 0.5
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    # Not starting with "/": moto's server reads "//..." as a host name (a gap of its own, not the listing's).
    first = [c for c in ALPHABET if c != "/"]
    names = {
        rng.choice(first) + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 5))) for _ in range(rng.randint(0, 60))
    }
    for name in sorted(names):
        s3.put_object(Bucket=bucket, Key=name, Body=b"x")
    deleted = {n for n in names if rng.random() < 0.25}
    for name in sorted(deleted):
        s3.delete_object(Bucket=bucket, Key=name)  # versioned: a delete marker becomes the current version
    return bucket, names - deleted, rng


def _listed(s3: Any, version: int, bucket: str, prefix: str, delimiter: str, page: int) -> list[str]:
    """Every page of a ListObjects (``version`` 1) or ListObjectsV2 listing, followed as a client follows them."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page} | (
        {"Delimiter": delimiter} if delimiter else {}
    )
    seen: list[str] = []
    while True:
        answer = (s3.list_objects_v2 if version == 2 else s3.list_objects)(**kwargs)
        items = [o["Key"] for o in answer.get("Contents", [])] + [p["Prefix"] for p in answer.get("CommonPrefixes", [])]
        assert len(items) <= page
        if version == 2:
            assert answer["KeyCount"] == len(items)
        seen += sorted(items, key=lambda n: n.encode("utf-8"))
        if not answer["IsTruncated"]:
            return seen
        if version == 2:
            kwargs["ContinuationToken"] = answer["NextContinuationToken"]
        else:
            kwargs["Marker"] = answer.get("NextMarker") or seen[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_every_page_of_a_listing_is_what_s3_lists(s3: Any, seed: int) -> None:
    bucket, current, rng = _world(s3, seed)
    for _ in range(6):
        prefix = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 2)))
        delimiter = rng.choice(["", "/", "/", "-"])
        page = rng.choice([1, 2, 3, 7, 1000])
        expected = model(current, prefix, delimiter)
        case = f"seed {seed} (S3_LISTING_SEED={seed}): prefix {prefix!r} delimiter {delimiter!r} page {page}"
        for version in (2, 1):
            assert _listed(s3, version, bucket, prefix, delimiter, page) == expected, f"ListObjects v{version}, {case}"


def test_a_listing_sees_a_key_put_and_a_key_deleted_since_the_last_one(s3: Any) -> None:
    s3.create_bucket(Bucket="listing-changes")
    for name in ("a/1", "a/2", "b"):
        s3.put_object(Bucket="listing-changes", Key=name, Body=b"x")
    assert _listed(s3, 2, "listing-changes", "", "/", 1000) == ["a/", "b"]
    s3.put_object(Bucket="listing-changes", Key="a.txt", Body=b"x")
    s3.delete_object(Bucket="listing-changes", Key="b")
    assert _listed(s3, 2, "listing-changes", "", "/", 1000) == ["a.txt", "a/"]
    assert _listed(s3, 2, "listing-changes", "a/", "", 1) == ["a/1", "a/2"]
