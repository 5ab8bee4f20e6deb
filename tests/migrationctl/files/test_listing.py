"""The bucket side (migrationctl/files/listing.py): s3:// URLs and the mtime an object keeps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.files import listing as fl


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"file-mtime": "1700000000123456789ns"}, 1700000000123456789),
        ({"mtime": "1700000000.5"}, 1700000000500000000),
        ({"mtime": "2023-11-14T22:13:20Z"}, 1700000000000000000),
        ({"mtime": "1700000000123"}, 1700000000123000000),
        ({"other": "1"}, None),
        ({"file-mtime": "garbage"}, None),
    ],
)
def test_parse_mtime_reads_datasync_and_rclone_metadata(metadata: dict[str, str], expected: int | None) -> None:
    assert fl.parse_mtime(metadata) == expected


def test_s3_url_parsing() -> None:
    assert fl.parse_s3_url("s3://b") == ("b", "")
    assert fl.parse_s3_url("s3://b/images") == ("b", "images/")
    with pytest.raises(UsageError, match="s3://BUCKET"):
        fl.parse_s3_url("/local/path")


TRICKY_KEYS = ["a", "a b/1", "a-b", "a-b/c", "a.b", "a/", "a/x", "a/y/z", "a0", "b/é", "b/e\u0301", "b/~", "c"]
"""Keys whose order depends on '/' (0x2F) sorting after '-' and '.', before '0', and on UTF-8 byte order."""


def test_the_listing_comes_in_key_order_across_the_prefixes_it_fans_out_to(s3: Any, bucket: str) -> None:
    for key in reversed(TRICKY_KEYS):
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    expected = sorted(TRICKY_KEYS, key=lambda k: k.encode())
    for jobs in (1, 2, 8):
        assert [o.key for o in fl.iter_objects(s3, bucket, "", jobs=jobs)] == expected
    assert [o.key for o in fl.iter_objects(s3, bucket, "a/", jobs=2)] == ["a/", "a/x", "a/y/z"]


class _UnorderedPages:
    """An S3-compatible store that lists a prefix out of order (S3 itself never does)."""

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        if kwargs.get("Delimiter"):
            yield {"CommonPrefixes": [{"Prefix": "p/"}]}
            return
        now = dt.datetime.now(dt.UTC)
        yield {"Contents": [{"Key": k, "Size": 0, "LastModified": now} for k in ("p/b", "p/a")]}


class _UnorderedStore:
    def get_paginator(self, name: str) -> _UnorderedPages:
        return _UnorderedPages()


def test_a_store_that_lists_out_of_order_is_refused() -> None:
    with pytest.raises(fl.ListingOutOfOrder, match="'p/a' listed after 'p/b'"):
        list(fl.iter_objects(_UnorderedStore(), "bucket", "", jobs=2))


def test_a_listing_timestamp_is_parsed_by_the_standard_library() -> None:
    assert fl.parse_timestamp("2009-10-12T17:50:30.000Z") == dt.datetime(2009, 10, 12, 17, 50, 30, tzinfo=dt.UTC)


def test_a_timestamp_without_a_zone_is_utc_not_local_time() -> None:
    assert fl.parse_timestamp("2009-10-12T17:50:30") == dt.datetime(2009, 10, 12, 17, 50, 30, tzinfo=dt.UTC)


def test_a_header_timestamp_falls_back_to_botocores_parser() -> None:
    assert fl.parse_timestamp("Mon, 12 Oct 2009 17:50:30 GMT") == dt.datetime(2009, 10, 12, 17, 50, 30, tzinfo=dt.UTC)


def test_a_client_of_the_listing_session_parses_timestamps_with_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    """What made listing 3x slower: botocore's dateutil parser on every key's LastModified."""
    import boto3

    from harness.files_s3_server import BUCKET, serving
    from harness.files_scale import LAST_MODIFIED

    parsed: list[str] = []
    ours = fl.parse_timestamp
    monkeypatch.setattr(fl, "parse_timestamp", lambda value: parsed.append(value) or ours(value))
    with serving(1200, 0.0) as server:
        s3 = boto3.Session(botocore_session=fl.listing_session()).client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{server.server_port}",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        objects = fl.list_objects(s3, BUCKET, "", jobs=2)
    assert len(objects) == 1200 and len(parsed) == 1200
    assert {o.last_modified_ns for o in objects} == {int(LAST_MODIFIED.timestamp()) * 10**9}


HOSTILE_KEYS = [*TRICKY_KEYS, "d/a&b", "d/<tag>", "d/50%", "d/plus+sign", "d/quote\"'", "d/sp ace", "d/tab\tkey", "e/日本"]
"""Keys an XML listing must escape or URL-encode."""


def test_the_listing_session_reads_what_botocore_reads_from_a_real_s3_answer(s3: Any, bucket: str, moto_endpoint: str) -> None:
    """Key, size, LastModified and ETag of every object, key for key, through :func:`fl.read_contents` (moto's XML)."""
    import boto3

    for number, key in enumerate(HOSTILE_KEYS):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * number)
    fast = boto3.Session(botocore_session=fl.listing_session()).client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    for jobs in (1, 4):
        assert fl.list_objects(fast, bucket, "", jobs=jobs) == fl.list_objects(s3, bucket, "", jobs=jobs)
    assert len(fl.list_objects(fast, bucket, "", jobs=1)) == len(HOSTILE_KEYS)


def test_an_error_answer_is_left_to_botocore(moto_endpoint: str) -> None:
    import boto3
    from botocore.exceptions import ClientError

    fast = boto3.Session(botocore_session=fl.listing_session()).client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    with pytest.raises(ClientError) as refused:
        fl.list_objects(fast, "no-such-bucket-here", "", jobs=1)
    assert refused.value.response["Error"]["Code"] == "NoSuchBucket"
