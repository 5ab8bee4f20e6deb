"""The tree side (migrationctl/files/tree.py): names that cannot become keys."""

from __future__ import annotations

import pytest

from inventory_migration.migrationctl.files import tree as ft
from tests.migrationctl.files.support import (
    BAD_NAME,
    NFD,
)


@pytest.mark.parametrize(
    ("path", "blocking", "mentions"),
    [
        (b"plain/name.jpg", False, ""),
        (BAD_NAME, True, "not valid UTF-8"),
        (b"x" * 1025, True, "over S3's 1024"),
        (b"a b+c.jpg", False, "URL-encoding"),
        (b"hash#brace{.jpg", False, "avoid"),
        (NFD.encode(), False, "not in NFC"),
    ],
)
def test_name_issues(path: bytes, blocking: bool, mentions: str) -> None:
    issues = ft.name_issues(path, "")
    assert any(i.blocking for i in issues) is blocking
    assert (mentions in " ".join(i.problem for i in issues)) if mentions else not issues


def test_a_prefix_counts_toward_the_key_limit() -> None:
    assert ft.key_for(b"x" * 1000, "") is not None
    assert ft.key_for(b"x" * 1000, "images/" * 4) is None
