"""``migrationctl files plan`` / ``files verify`` on generated trees, against moto's S3 on 127.0.0.1.

The "copy" here does what DataSync does to S3 (the file's mtime and POSIX metadata as user metadata, a symlink as an
object holding its target path, a folder object for an empty directory); ``aws_s3_sync_copy`` does what
``aws s3 sync`` does (no metadata, links followed, empty directories dropped).
"""

from __future__ import annotations

import io
import json
import os
import time
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.migrationctl import cli
from inventory_migration.migrationctl.cutover.gates import record_gate
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.files import compare as fcmp
from inventory_migration.migrationctl.files import costs as fc
from inventory_migration.migrationctl.files import listing as fl
from inventory_migration.migrationctl.files import plan as fp
from inventory_migration.migrationctl.files import report as frep
from inventory_migration.migrationctl.files import tree as ft
from inventory_migration.migrationctl.files import verify as fv
from inventory_migration.migrationctl.records import FILES_VERIFY_RECORD

MB = 1 << 20
NFC = unicodedata.normalize("NFC", "crème-brûlée.jpg")
NFD = unicodedata.normalize("NFD", "crème-brûlée.jpg")
BAD_NAME = b"latin1-\xe9t\xe9.jpg"


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


# --------------------------------------------------------------------------------------------- pure parts


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


def test_s3_url_parsing() -> None:
    assert fl.parse_s3_url("s3://b") == ("b", "")
    assert fl.parse_s3_url("s3://b/images") == ("b", "images/")
    with pytest.raises(UsageError, match="s3://BUCKET"):
        fl.parse_s3_url("/local/path")


def test_lifecycle_costs_follow_the_numbers() -> None:
    gib = 1 << 30
    # 2 TiB of 400 KiB images, 100 GiB of thumbnails under 128 KiB, 10 % of the large bytes read a month.
    large = (int(2048 * gib / (400 << 10)), 2048 * gib)
    small = (int(100 * gib / (40 << 10)), 100 * gib)
    costs = {c.tier: c for c in fc.lifecycle_costs(small, large, 0.1)}
    standard = costs[fc.Tier.STANDARD].monthly_usd
    assert standard == pytest.approx(2148 * 0.023)
    assert costs[fc.Tier.LIFECYCLE].monthly_usd == pytest.approx(100 * 0.023 + 2048 * 0.004 + 0.1 * 2048 * 0.03)
    assert costs[fc.Tier.LIFECYCLE].monthly_usd < costs[fc.Tier.INTELLIGENT_TIERING].monthly_usd < standard
    # Read the whole collection every month and Glacier IR's retrieval fees make the lifecycle the dearest option.
    hot = {c.tier: c.monthly_usd for c in fc.lifecycle_costs(small, large, 1.0)}
    assert hot[fc.Tier.LIFECYCLE] > hot[fc.Tier.STANDARD]


# --------------------------------------------------------------------------------------------- plan


def test_plan_reports_every_kind_of_name_and_file(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", bad_name=True, special=True)
    entries, info = ft.walk(root, jobs=4)
    plan = fp.make_plan(root, entries, info, prefix="images/", bandwidth_mbps=200)
    assert plan.files == 29  # 20 thumbs + 2 catalog + hard link + 3 names + zero + big + latin-1
    assert plan.max_depth == 3 and plan.directories == 7
    assert plan.histogram["0 B"] == (1, 0) and plan.histogram["< 8 MiB"][0] == 1
    assert [i.path for i in plan.blocking] == ["latin1-\\xe9t\\xe9.jpg"]
    warned = " ".join(f"{i.path}: {i.problem}" for i in plan.warnings)
    assert "a b+c%d#e?f.jpg: needs URL-encoding" in warned and "avoid: '#' '%'" in warned
    assert "2 names with the same NFC form" in warned and "not in NFC" in warned
    assert plan.symlinks == ["latest.png"] and plan.special == ["pipe"] and plan.empty_dirs == ["empty-dir"]
    assert plan.hard_links == 2
    assert plan.transfer_hours == pytest.approx(plan.bytes * 8 / 200e6 / 3600)
    text = fp.render_plan(plan)
    for line in ("names that cannot become keys: 1", "symlinks: 1 (DataSync stores the link's target path", "cheapest:"):
        assert line in text


def test_plan_cli_writes_a_manifest_and_exits_1_on_blocking_names(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", bad_name=True)
    out, err = io.StringIO(), io.StringIO()
    manifest = tmp_path / "m.jsonl"
    code = cli.main(
        ["--output", "json", "files", "plan", str(root), "--manifest", str(manifest), "--manifest-checksum"], out, err
    )
    assert code == 1, err.getvalue()
    assert json.loads(out.getvalue())["blocking"][0]["blocking"] is True
    entries = {e.path: e for e in ft.read_manifest(manifest)}
    assert BAD_NAME in entries  # a name that is not UTF-8 survives the manifest
    assert entries[b"zero.jpg"].sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert entries[b"latest.png"].kind is ft.Kind.SYMLINK and entries[b"latest.png"].link_target == b"catalog/2024/sku-2.png"


# --------------------------------------------------------------------------------------------- verify


def test_a_datasync_copy_verifies_equal_in_every_mode(s3: Any, bucket: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", special=True)
    datasync_copy(s3, bucket, root, "images/")
    for options in ({}, {"mtime": fcmp.MtimeMode.LISTING}, {"checksum": True}):
        report = run(s3, root, f"s3://{bucket}/images", **options)
        assert report.equal, (options, report.differences)
    assert report.files == 29 and report.skipped_special == 1 and report.content_checked == 29


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


def _meta(root: Path, rel: str) -> dict[str, str]:
    return {"file-mtime": f"{(root / rel).stat().st_mtime_ns}ns"}


def test_verify_cli_records_the_verdict_the_cutover_gate_reads(
    s3: Any, bucket: str, tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    root = make_tree(tmp_path / "tree")
    datasync_copy(s3, bucket, root)
    state = tmp_path / "state"
    record = state / FILES_VERIFY_RECORD
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["files", "verify", str(root), f"s3://{bucket}", "--state-dir", str(state)], out, err) == 0, err.getvalue()
    assert out.getvalue().rstrip().endswith("EQUAL")
    gate = record_gate(record, "files verify clean", 24, lambda: __import__("time").time())
    assert gate.ok, gate.detail
    s3.put_object(Bucket=bucket, Key="stray", Body=b"x")
    assert cli.main(["files", "verify", str(root), f"s3://{bucket}", "--state-dir", str(state)], io.StringIO(), err) == 1
    assert json.loads(record.read_text())["differences"] == {"extra": 1}
    assert not record_gate(record, "files verify clean", 24, lambda: __import__("time").time()).ok
    assert cli.main(["files", "verify", str(root), "not-a-url"], io.StringIO(), err) == 2


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield


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


def test_content_is_proved_by_object_checksums_when_etags_are_not_md5(s3: Any, bucket: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    datasync_copy(s3, bucket, root)
    calls: list[str] = []
    report = run(KmsEtags(s3, calls), root, f"s3://{bucket}", checksum=True, mtime=fcmp.MtimeMode.IGNORE)
    assert report.equal and report.content_checked == 29, report.differences
    assert calls.count("head_object") == 29 and calls.count("get_object") == 1  # only the multipart object is read


# ----------------------------------------------------------------------------- what cannot be read


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


def test_a_state_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("")
    err = io.StringIO()
    argv = ["files", "verify", str(tmp_path), "s3://bucket", "--state", str(state)]
    assert cli.main(argv, io.StringIO(), err) == 2 and "is a file, not a directory" in err.getvalue()
