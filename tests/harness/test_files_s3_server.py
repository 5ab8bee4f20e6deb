"""The listing model of ``make bench-files``: S3's ListObjects (v1 and v2) over the synthetic bucket, after a latency."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from harness.files_s3_server import BUCKET, serving
from harness.files_scale import PER_BRAND, SyntheticListing, key
from inventory_migration.migrationctl.files.listing import list_objects

FILES = 2 * PER_BRAND + 150  # two whole brands and part of a third: pages of 1,000 and a short last one


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serving(FILES, 0.0) as running:
        yield running


def _client(server: Any) -> Any:
    endpoint = f"http://127.0.0.1:{server.server_port}"
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _keys(server: Any, operation: str, **params: str) -> list[str]:
    pages = _client(server).get_paginator(operation).paginate(Bucket=BUCKET, **params)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_v2_pages_through_every_key_in_order(server: Any) -> None:
    assert _keys(server, "list_objects_v2") == [key(i) for i in range(FILES)]


def test_v1_pages_through_every_key_in_order_by_marker(server: Any) -> None:
    assert _keys(server, "list_objects") == [key(i) for i in range(FILES)]


def test_a_prefix_lists_only_its_keys(server: Any) -> None:
    assert _keys(server, "list_objects_v2", Prefix="brand-0001/cat-03/") == [
        key(i) for i in range(PER_BRAND + 300, PER_BRAND + 400)
    ]


def test_a_delimiter_gives_the_common_prefixes(server: Any) -> None:
    pages = _client(server).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Delimiter="/")
    assert [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])] == [
        "brand-0000/",
        "brand-0001/",
        "brand-0002/",
    ]


def test_start_after_skips_through_the_key_given(server: Any) -> None:
    assert _keys(server, "list_objects_v2", StartAfter=key(FILES - 3)) == [key(FILES - 2), key(FILES - 1)]


def test_an_object_request_is_not_found(server: Any) -> None:
    with pytest.raises(ClientError) as refused:
        _client(server).head_object(Bucket=BUCKET, Key=key(0))
    assert refused.value.response["Error"]["Code"] == "404"


def test_what_files_verify_lists_is_the_synthetic_listing(server: Any) -> None:
    listed = [(o.key, o.size, o.etag) for o in list_objects(_client(server), BUCKET, "", jobs=4)]
    synthetic = [(o.key, o.size, o.etag) for o in list_objects(SyntheticListing(FILES), BUCKET, "", jobs=4)]
    assert listed == synthetic


def test_every_request_waits_the_latency_and_is_counted() -> None:
    with serving(10, 0.2) as slow:
        started = time.perf_counter()
        _keys(slow, "list_objects_v2")
        assert time.perf_counter() - started >= 0.2 and slow.requests == 1
