"""The bucket side (migrationctl/files/listing.py): s3:// URLs and the mtime an object keeps."""

from __future__ import annotations

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
