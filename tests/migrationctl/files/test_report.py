"""How a difference is printed (migrationctl/files/report.py)."""

from __future__ import annotations

import pytest

from inventory_migration.migrationctl.files import report as frep


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("photo.jpg", "photo.jpg"),
        ("photo.jpg ", '"photo.jpg "'),
        ("cafe\u0301.jpg", '"cafe\\u0301.jpg"'),
        ("café.jpg", "café.jpg"),
    ],
)
def test_paths_whose_difference_is_invisible_are_quoted(path: str, shown: str) -> None:
    assert frep.visible(path) == shown
