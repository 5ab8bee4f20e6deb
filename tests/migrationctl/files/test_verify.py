"""files verify against moto S3 (migrationctl/files/verify.py, compare.py): every mode, every difference, resume."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.migrationctl.files import compare as fcmp
from inventory_migration.migrationctl.files import report as frep
from inventory_migration.migrationctl.files import tree as ft
from inventory_migration.migrationctl.files import verify as fv
from tests.migrationctl.files.support import (
    NFC,
    NFD,
    CountingClient,
    KmsEtags,
    _meta,
    _unreadable,
    aws_s3_sync_copy,
    datasync_copy,
    make_tree,
    problems,
    run,
)


def test_a_datasync_copy_verifies_equal_in_every_mode(s3: Any, bucket: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", special=True)
    datasync_copy(s3, bucket, root, "images/")
    for options in ({}, {"mtime": fcmp.MtimeMode.LISTING}, {"checksum": True}):
        report = run(s3, root, f"s3://{bucket}/images", **options)
        assert report.equal, (options, report.differences)
    assert report.files == 29 and report.skipped_special == 1 and report.content_checked == 29


def test_verify_names_every_difference(s3: Any, drifted: tuple[Path, str]) -> None:
    root, url = drifted
    report = run(s3, root, url)
    assert problems(report) == {
        ("SIZE", "catalog/2024/shoes/sku-1.jpg"),
        ("MTIME", "catalog/thumbs/t001.jpg"),
        ("MISSING", "catalog/new-upload.jpg"),
        ("MISSING", "names/a b+c%d#e?f.jpg"),
        ("EXTRA", "catalog/stray.jpg"),
        ("UNMAPPABLE", "latin1-\\xe9t\\xe9.jpg"),
    }
    assert not report.equal
    # Only the content check sees the file whose mtime was put back.
    assert ("CONTENT", "catalog/thumbs/t002.jpg") in problems(run(s3, root, url, checksum=True))


def test_the_listing_mode_sees_changes_after_the_copy_without_per_object_requests(s3: Any, drifted: tuple[Path, str]) -> None:
    root, url = drifted
    calls: list[str] = []
    counting = CountingClient(s3, calls)
    report = run(counting, root, url, mtime=fcmp.MtimeMode.LISTING)
    assert ("MTIME", "catalog/thumbs/t001.jpg") in problems(report)
    assert not [c for c in calls if c in ("head_object", "get_object")]


def test_a_missing_file_names_its_normalization_twin(s3: Any, bucket: str, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / NFD).write_bytes(b"x")
    s3.put_object(Bucket=bucket, Key=NFC, Body=b"x", Metadata={"file-mtime": f"{(root / NFD).stat().st_mtime_ns}ns"})
    report = run(s3, root, f"s3://{bucket}")
    missing = [d for d in report.differences if d.problem is frep.Problem.MISSING]
    assert missing and NFC in missing[0].detail


def test_an_aws_s3_sync_copy_needs_the_listing_mode_and_followed_links(s3: Any, bucket: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    aws_s3_sync_copy(s3, bucket, root)
    exact = run(s3, root, f"s3://{bucket}")
    assert {d.problem for d in exact.differences} == {frep.Problem.NO_MTIME, frep.Problem.SIZE}  # link object vs content
    listing = run(s3, root, f"s3://{bucket}", mtime=fcmp.MtimeMode.LISTING, follow_symlinks=True, checksum=True)
    assert listing.equal, listing.differences


def test_a_checksum_run_resumes_where_it_stopped(s3: Any, bucket: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    datasync_copy(s3, bucket, root)
    progress = tmp_path / "progress.jsonl"
    first = run(s3, root, f"s3://{bucket}", checksum=True, progress_file=progress)
    assert first.equal and first.content_checked == 29
    lines = progress.read_text().splitlines()
    progress.write_text("\n".join(lines[:10]) + '\n{"key": "cut sh')  # interrupted mid-write
    calls: list[str] = []
    second = run(CountingClient(s3, calls), root, f"s3://{bucket}", checksum=True, progress_file=progress, resume=True)
    assert second.equal and second.resumed == 10 and second.content_checked == 19
    # A file changed since it was proved is checked again, not skipped.
    (root / "catalog" / "thumbs" / "t000.jpg").write_bytes(b"changed")
    third = run(s3, root, f"s3://{bucket}", checksum=True, progress_file=progress, resume=True, mtime=fcmp.MtimeMode.IGNORE)
    assert ("SIZE", "catalog/thumbs/t000.jpg") in problems(third)


def test_verify_from_a_manifest(s3: Any, bucket: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    datasync_copy(s3, bucket, root, "img/")
    manifest = tmp_path / "m.jsonl"
    with manifest.open("w") as handle:
        ft.write_manifest(handle, root, ft.walk(root)[0], checksum=True)
    assert run(s3, manifest, f"s3://{bucket}/img", checksum=True).equal
    s3.put_object(Bucket=bucket, Key="img/zero.jpg", Body=b"", Metadata={"file-mtime": "1ns"})
    s3.put_object(
        Bucket=bucket, Key="img/catalog/thumbs/t003.jpg", Body=os.urandom(203), Metadata=_meta(root, "catalog/thumbs/t003.jpg")
    )
    report = run(s3, manifest, f"s3://{bucket}/img", checksum=True)
    assert problems(report) == {("MTIME", "zero.jpg"), ("CONTENT", "catalog/thumbs/t003.jpg")}


def test_content_is_proved_by_object_checksums_when_etags_are_not_md5(s3: Any, bucket: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    datasync_copy(s3, bucket, root)
    calls: list[str] = []
    report = run(KmsEtags(s3, calls), root, f"s3://{bucket}", checksum=True, mtime=fcmp.MtimeMode.IGNORE)
    assert report.equal and report.content_checked == 29, report.differences
    assert calls.count("head_object") == 29 and calls.count("get_object") == 1  # only the multipart object is read


def test_an_unreadable_directory_missing_from_the_bucket_is_never_equal(
    s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "tree")
    datasync_copy(s3, bucket, root)
    for key in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="catalog/")["Contents"]]:
        s3.delete_object(Bucket=bucket, Key=key)
    _unreadable(monkeypatch, root, "catalog")
    report = run(s3, root, f"s3://{bucket}")
    assert not report.equal and problems(report) == {("UNREADABLE", "catalog/")}


def test_objects_under_an_unreadable_directory_are_not_called_extra(
    s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "tree")
    datasync_copy(s3, bucket, root)
    _unreadable(monkeypatch, root, "catalog")
    report = run(s3, root, f"s3://{bucket}")
    assert problems(report) == {("UNREADABLE", "catalog/")}
    (unreadable,) = report.differences
    assert "Permission denied" in unreadable.detail and "not compared" in unreadable.detail


def test_a_file_that_cannot_be_read_for_its_checksum_is_a_difference(
    s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "tree")
    datasync_copy(s3, bucket, root)
    real = ft.file_hashes

    def hashes(path: Any) -> Any:
        if os.fsencode(path).endswith(b"zero.jpg"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(fv, "file_hashes", hashes)
    report = run(s3, root, f"s3://{bucket}", checksum=True)
    assert ("UNREADABLE", "zero.jpg") in problems(report) and not report.equal
