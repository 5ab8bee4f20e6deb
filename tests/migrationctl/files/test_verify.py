"""files verify against moto S3 (migrationctl/files/verify.py, compare.py): every mode, every difference, resume."""

from __future__ import annotations

import os
import random
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
    random_tree,
    run,
    seeded,
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
    real = ft.file_md5

    def md5(path: Any) -> Any:
        if os.fsencode(path).endswith(b"zero.jpg"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(fcmp, "file_md5", md5)
    report = run(s3, root, f"s3://{bucket}", checksum=True)
    assert ("UNREADABLE", "zero.jpg") in problems(report) and not report.equal


def _drift(s3: Any, bucket: str, root: Path, files: list[bytes], rng: random.Random) -> set[tuple[str, str]]:
    """Random drift between a tree and its copy; returns the differences a set-based oracle expects."""
    expected: set[tuple[str, str]] = set()
    for path in rng.sample(files, k=len(files) // 5):
        action = rng.choice(("delete", "resize", "new"))
        name = os.fsdecode(path)
        if action == "delete":
            s3.delete_object(Bucket=bucket, Key=name)
            expected.add(("MISSING", name))
        elif action == "resize":
            (root / name).write_bytes((root / name).read_bytes() + b"+")
            expected.add(("SIZE", name))
        else:
            fresh = f"{name}.new"
            if not (root / fresh).exists():
                (root / fresh).write_bytes(b"new")
                expected.add(("MISSING", fresh))
    for _ in range(rng.randint(0, 4)):
        stray = "".join(rng.choice("ab-./0é") for _ in range(rng.randint(1, 6))).strip("/")
        if stray and not (root / stray).exists() and not any(os.fsdecode(f).startswith(stray + "/") for f in files):
            s3.put_object(Bucket=bucket, Key=stray, Body=b"stray")
            expected.add(("EXTRA", stray))
    return expected


def test_generated_drift_is_found_exactly_as_a_set_comparison_finds_it(s3: Any, tmp_path: Path) -> None:
    seed = seeded("FILES_DRIFT_SEED")
    rng = random.Random(seed)
    for n in range(5):
        bucket = f"drift-{n}-{seed}"
        s3.create_bucket(Bucket=bucket)
        root = tmp_path / f"t{n}"
        root.mkdir()
        files = random_tree(root, rng)
        datasync_copy(s3, bucket, root)
        expected = _drift(s3, bucket, root, files, rng)
        for jobs in (2, 16):
            report = fv.verify(s3, root, f"s3://{bucket}", fcmp.VerifyOptions(jobs=jobs, mtime=fcmp.MtimeMode.IGNORE))
            assert problems(report) == expected, f"FILES_DRIFT_SEED={seed}, tree {n}, jobs {jobs}"


def test_every_difference_is_counted_and_passed_on_though_only_the_first_are_kept(s3: Any, drifted: tuple[Path, str]) -> None:
    root, url = drifted
    seen: list[frep.Difference] = []
    report = fv.verify(s3, root, url, fcmp.VerifyOptions(jobs=4), on_difference=seen.append)
    assert len(seen) == report.total_differences == 6 and sum(report.counts().values()) == 6
    capped = frep.FilesReport("r", "u", kept=2)
    for d in seen:
        capped.add(d)
    assert len(capped.differences) == 2 and capped.total_differences == 6 and not capped.equal
    assert "--report FILE lists every one" in frep.render(capped, limit=1)


def test_a_manifest_out_of_key_order_is_refused(s3: Any, bucket: str, tmp_path: Path) -> None:
    from inventory_migration.migrationctl.errors import UsageError

    root = make_tree(tmp_path / "tree")
    manifest = tmp_path / "m.jsonl"
    with manifest.open("w") as handle:
        ft.write_manifest(handle, root, reversed(ft.walk(root)[0]), checksum=False)
    with pytest.raises(UsageError, match="not in key order"):
        run(s3, manifest, f"s3://{bucket}")
