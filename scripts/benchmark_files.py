"""Benchmark (not a test): ``migrationctl files verify`` vs ``rclone check`` on >= 100,000 thumbnail-sized files.

Generates a tree, copies it into moto's S3 on 127.0.0.1 the way DataSync does (mtime kept as ``file-mtime`` user
metadata), then in one run, each as its own process (wall time and peak RSS):

* the two inputs alone: the local walk, and the bucket listing;
* ``files verify --mtime listing`` (size + "not modified since the copy", no per-object request) and
  ``rclone check --size-only`` (size only: rclone has no mtime mode for a check);
* ``files verify --mtime exact`` (size + the kept mtime: one HEAD per object), for reference;
* ``files verify --checksum --mtime ignore`` (content) and ``rclone check`` (size + MD5: local MD5 against the
  listing's ETag);
* peak memory of the checksum mode on a tree of a few large files, to show it does not grow with file sizes.

Then the listing model (:mod:`harness.files_s3_server`, with rclone): both tools in both modes over the same number
of empty files against an HTTP listing that answers each request after a fixed latency (0, 20, 50, 100 ms), rclone
directory by directory and with ``--fast-list``: what the number of requests and their concurrency cost where a
request costs what S3's does, instead of moto's cost per key.

Then the memory scaling run (:mod:`harness.files_scale`): the same ``files verify --mtime listing`` over N and 4N
empty files against a synthetic bucket listing of the same objects (moto cannot hold millions), and over 1,000,000;
it prints ``memory: <N> files <X> MiB, <4N> files <Y> MiB`` and what that projects for 10 million files.

moto's S3 lists at S3's cost (:func:`harness.aws.patches_s3.indexed_listing`: a page costs the page, where moto
itself scans and sorts the whole bucket on every request, which made any tool's time moto's); ``--moto-scan-listing``
measures on moto's own listing instead.

Targets: ≥ 4x faster than rclone in the same mode; the listing-mode verify within 1.3x of the slower input alone;
memory flat: Y ≤ 1.2 X.

    make bench-files         # or: pipenv run python scripts/benchmark_files.py [--files 100000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.aws.emulator import free_port  # noqa: E402
from harness.files_s3_server import ListingServer  # noqa: E402
from inventory_migration.migrationctl.files import tree as files_tree  # noqa: E402

BUCKET = "bench-images"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def generate(root: Path, files: int, size_range: tuple[int, int], seed: int = 7) -> int:
    """``files`` files in a catalogue-like tree (brand/category/sku-N.jpg), 100 per directory."""
    rng = random.Random(seed)
    total = 0
    per_dir = 100
    for i in range(files):
        d = root / f"brand-{i // (per_dir * 20):03}" / f"cat-{(i // per_dir) % 20:02}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        size = rng.randint(*size_range)
        (d / f"sku-{i:07}.jpg").write_bytes(rng.randbytes(size))
        total += size
    return total


def copy_to_s3(bucket: str, root: Path) -> None:
    """Put every file into the in-process emulator's S3 backend directly (HTTP PUTs to moto run ~150/s: 100,000
    of them would dominate the run), with the metadata DataSync keeps."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    base = os.fsencode(root)
    for e in files_tree.walk(root)[0]:
        with open(os.path.join(base, e.path), "rb") as handle:
            key = backend.put_object(bucket, os.fsdecode(e.path), handle.read())
        key.set_metadata({"x-amz-meta-file-mtime": f"{e.mtime_ns}ns"})


RUSAGE_WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": p.returncode, "seconds": time.perf_counter() - t, "rss_kib": rss,
                  "out": p.stdout[-4000:], "err": p.stderr[-4000:]}))
"""
"""Runs one command and reports its wall time and peak RSS (a small wrapper process: the benchmark's own memory,
emulator included, would otherwise be counted in a forked child's peak)."""


def measure(label: str, argv: list[str], env: dict[str, str], ok_codes: tuple[int, ...] = (0,)) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", RUSAGE_WRAPPER, *argv], env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if result["code"] not in ok_codes:
        raise SystemExit(f"{label} exited {result['code']}:\n{result['out']}\n{result['err']}")
    return {
        "what": label,
        "seconds": round(result["seconds"], 2),
        "peak_rss_mib": round(result["rss_kib"] / 1024, 1),
        "tail": result["out"].strip().splitlines()[-1:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000, help="small files in the tree (default: 100000)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench-files")
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--exact", action="store_true", help="also time --mtime exact (one HEAD per object: ~150/s against moto)")
    parser.add_argument("--no-rclone", action="store_true", help="skip rclone (smoke runs without it installed)")
    parser.add_argument("--large-files", type=int, default=8, help="files of 32 MiB in the memory tree (default: 8)")
    parser.add_argument("--scale", type=int, default=100_000, help="N of the memory scaling run (default: 100000)")
    parser.add_argument("--million", type=int, default=1_000_000, help="files of the large run (default: 1000000)")
    parser.add_argument("--scale-only", action="store_true", help="only the memory scaling run")
    parser.add_argument(
        "--latencies",
        type=lambda v: [float(x) / 1000 for x in v.split(",")],
        default=[0.0, 0.02, 0.05, 0.1],
        help="per-request latencies of the listing model, ms (default: 0,20,50,100)",
    )
    parser.add_argument("--model-only", action="store_true", help="only the listing-model run (needs rclone)")
    parser.add_argument(
        "--moto-scan-listing", action="store_true", help="moto's own listing (a scan and sort of the bucket per request)"
    )
    a = parser.parse_args(argv)
    if a.scale_only:
        shutil.rmtree(a.workdir, ignore_errors=True)
        a.workdir.mkdir(parents=True)
        scaling(a.workdir, a.scale, a.million, a.jobs)
        return 0
    rclone = None if a.no_rclone else shutil.which("rclone")
    if not a.no_rclone and rclone is None:
        raise SystemExit("rclone not found: apt-get install rclone (or --no-rclone)")
    if a.model_only:
        if rclone is None:
            raise SystemExit("--model-only compares with rclone: leave out --no-rclone")
        shutil.rmtree(a.workdir, ignore_errors=True)
        a.workdir.mkdir(parents=True)
        latency_model(a.workdir, a.files, a.jobs, rclone, a.latencies)
        return 0
    shutil.rmtree(a.workdir, ignore_errors=True)
    small, large = a.workdir / "thumbs", a.workdir / "large"
    small.mkdir(parents=True)
    t = time.perf_counter()
    size = generate(small, a.files, (2_000, 24_000))
    print(f"generated {a.files:,} files, {size / 2**20:.0f} MiB in {time.perf_counter() - t:.0f} s", flush=True)

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    if not a.moto_scan_listing:
        from harness.aws.patches_s3 import indexed_listing

        indexed_listing()
    print(f"moto's listing: {'its own (scan and sort per request)' if a.moto_scan_listing else 'indexed (S3 cost)'}")
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        import boto3
        from botocore.config import Config

        s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=64), **_boto_credentials())
        s3.create_bucket(Bucket=BUCKET)
        t = time.perf_counter()
        copy_to_s3(BUCKET, small)
        print(f"copied into moto S3 in {time.perf_counter() - t:.0f} s", flush=True)

        # AWS_CA_BUNDLE (set on some machines) makes rclone's SDK refuse a plain-HTTP endpoint; nothing here is TLS.
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        env |= CREDENTIALS | {"AWS_ENDPOINT_URL": endpoint, "PYTHONPATH": str(ROOT)}
        env |= _rclone_remote("moto", endpoint)
        py = [sys.executable, "-c"]
        ctl = [sys.executable, "-m", "inventory_migration.migrationctl.cli", "--no-progress"]
        state = ["--state-dir", str(a.workdir / "state"), "--jobs", str(a.jobs)]
        url = f"s3://{BUCKET}"
        walk_only = (
            "import sys; from pathlib import Path; from inventory_migration.migrationctl.files.tree import walk; "
            f"e, _ = walk(Path(sys.argv[1]), {a.jobs // 2}); print(len(e), 'entries')"
        )
        list_only = (  # the listing as files verify reads it (its session's page reader)
            "import sys, boto3; from inventory_migration.migrationctl.files.listing import list_objects, listing_session; "
            "from botocore.config import Config; "
            "session = boto3.Session(botocore_session=listing_session()); "
            f"s3 = session.client('s3', config=Config(max_pool_connections={a.jobs * 2})); "
            f"print(len(list_objects(s3, '{BUCKET}', '', {a.jobs // 2})), 'objects')"
        )
        rows = [
            measure("input alone: local walk", [*py, walk_only, str(small)], env),
            measure("input alone: bucket listing", [*py, list_only], env),
            measure(
                "files verify --mtime listing", [*ctl, "files", "verify", str(small), url, "--mtime", "listing", *state], env
            ),
        ]
        checkers = ["--checkers", str(a.jobs), "--transfers", str(a.jobs)]
        if rclone:
            rows.append(
                measure(
                    "rclone check --size-only", [rclone, "check", str(small), f"moto:{BUCKET}", "--size-only", *checkers], env
                )
            )
        if a.exact:
            rows.append(measure("files verify --mtime exact", [*ctl, "files", "verify", str(small), url, *state], env))
        rows.append(
            measure(
                "files verify --checksum --mtime ignore",
                [*ctl, "files", "verify", str(small), url, "--checksum", "--mtime", "ignore", *state],
                env,
            )
        )
        if rclone:
            rows.append(measure("rclone check (size + MD5)", [rclone, "check", str(small), f"moto:{BUCKET}", *checkers], env))

        # Memory with large files: the same checksum mode over a few 32 MiB files.
        large.mkdir()
        for i in range(a.large_files):
            (large / f"poster-{i}.tif").write_bytes(os.urandom(32 << 20))
        s3.create_bucket(Bucket="bench-large")
        for e in files_tree.walk(large)[0]:
            s3.upload_file(
                str(large / os.fsdecode(e.path)),
                "bench-large",
                os.fsdecode(e.path),
                ExtraArgs={"Metadata": {"file-mtime": f"{e.mtime_ns}ns"}},
            )
        rows.append(
            measure(
                f"files verify --checksum, {a.large_files} x 32 MiB",
                [*ctl, "files", "verify", str(large), "s3://bench-large", "--checksum", *state],
                env,
            )
        )
    finally:
        moto.stop()

    by = {r["what"]: r for r in rows}
    slower_input = max(float(by["input alone: local walk"]["seconds"]), float(by["input alone: bucket listing"]["seconds"]))  # type: ignore[arg-type]
    listing = float(by["files verify --mtime listing"]["seconds"])  # type: ignore[arg-type]
    print(f"\n{'what':<45} {'seconds':>9} {'peak RSS MiB':>13}")
    for r in rows:
        print(f"{r['what']:<45} {r['seconds']:>9} {r['peak_rss_mib']:>13}")
    summary: dict[str, object] = {"files": a.files, "rows": rows, "listing_vs_slower_input": round(listing / slower_input, 2)}
    print(f"\nfiles verify --mtime listing / slower input alone: {listing / slower_input:.2f}x (target <= 1.3x)")
    if rclone:
        size_only = float(by["rclone check --size-only"]["seconds"])  # type: ignore[arg-type]
        md5 = float(by["rclone check (size + MD5)"]["seconds"])  # type: ignore[arg-type]
        checksum = float(by["files verify --checksum --mtime ignore"]["seconds"])  # type: ignore[arg-type]
        summary |= {"vs_rclone_size": round(size_only / listing, 2), "vs_rclone_hash": round(md5 / checksum, 2)}
        print(f"rclone check --size-only / files verify --mtime listing: {size_only / listing:.2f}x (target >= 2x)")
        print(f"rclone check / files verify --checksum: {md5 / checksum:.2f}x (target >= 2x)")
    if rclone:
        summary |= {"latency_model": latency_model(a.workdir, a.files, a.jobs, rclone, a.latencies)}
    summary |= scaling(a.workdir, a.scale, a.million, a.jobs)
    (a.workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


SCALED_VERIFY = """
import sys
from pathlib import Path
from harness.files_scale import SyntheticListing
from inventory_migration.migrationctl.files.compare import MtimeMode, VerifyOptions
from inventory_migration.migrationctl.files.verify import verify
files, root, jobs = int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
report = verify(SyntheticListing(files), root, "s3://synthetic", VerifyOptions(mtime=MtimeMode.LISTING, jobs=jobs))
assert report.equal and report.matched == files, (report.matched, report.counts())
print(f"{report.matched} matched, equal")
"""
"""``files verify --mtime listing`` of a generated tree against the synthetic listing of the same objects."""


def scaling(workdir: Path, n: int, million: int, jobs: int) -> dict[str, object]:
    """Peak RSS of the same verify over ``n``, ``4n`` and ``million`` files; prints the ``memory:`` line."""
    from harness.files_scale import make_tree

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows: dict[int, dict[str, object]] = {}
    for files in (n, 4 * n, million):
        root = workdir / f"scale-{files}"
        t = time.perf_counter()
        make_tree(root, files)
        print(f"generated {files:,} empty files in {time.perf_counter() - t:.0f} s", flush=True)
        argv = [sys.executable, "-c", SCALED_VERIFY, str(files), str(root), str(jobs)]
        rows[files] = measure(f"verify --mtime listing, {files:,} files", argv, env)
        shutil.rmtree(root)
    x, y, big = (float(rows[k]["peak_rss_mib"]) for k in (n, 4 * n, million))  # type: ignore[arg-type]
    per_file_kib = max(0.0, (y - x) * 1024 / (3 * n))
    at_10m = y + per_file_kib * (10_000_000 - 4 * n) / 1024
    print(f"\nmemory: {n} files {x:.0f} MiB, {4 * n} files {y:.0f} MiB  (Y/X = {y / x:.2f}, target <= 1.2)")
    print(f"{million:,} files: {rows[million]['seconds']} s, peak RSS {big:.0f} MiB")
    print(f"10,000,000 files, projected from the scaling run: {at_10m:.0f} MiB ({per_file_kib * 1024:.1f} B per file more)")
    return {
        "memory": {str(n): x, str(4 * n): y, "ratio": round(y / x, 2), "projected_10m_mib": round(at_10m)},
        "million": rows[million],
    }


MODEL_MODES = (
    ("size", ["--mtime", "listing"], ["--size-only"]),
    ("content", ["--checksum", "--mtime", "ignore"], []),
)
"""Each comparison both tools make: ``files verify``'s flags and ``rclone check``'s for the same question."""


def latency_model(workdir: Path, files: int, jobs: int, rclone: str, latencies: list[float]) -> list[dict[str, object]]:
    """``files verify`` and ``rclone check`` (directory by directory, and with ``--fast-list``) in each mode over
    ``files`` empty files, against :mod:`harness.files_s3_server`'s listing of the same objects answered after each
    latency: what each tool's number of requests and their concurrency cost when a request costs what S3's does,
    rather than moto's cost per key. Prints a table and the ratio to rclone's faster variant per mode and latency."""
    from harness.files_s3_server import BUCKET, serving
    from harness.files_scale import make_tree

    root = workdir / "model"
    make_tree(root, files)
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"} | CREDENTIALS | {"PYTHONPATH": str(ROOT)}
    ctl = [sys.executable, "-m", "inventory_migration.migrationctl.cli", "--no-progress", "files", "verify", str(root)]
    state = ["--state-dir", str(workdir / "model-state"), "--jobs", str(jobs)]
    checkers = ["--checkers", str(jobs), "--transfers", str(jobs)]
    print(f"\nlisting model ({files:,} files; a request answered after the latency; seconds, requests in brackets)")
    print(f"{'latency':>8} {'mode':<8} {'files verify':>18} {'rclone check':>18} {'+ --fast-list':>18} {'vs faster rclone':>17}")
    results: list[dict[str, object]] = []
    for latency in latencies:
        with serving(files, latency) as server:
            endpoint = f"http://127.0.0.1:{server.server_port}"
            run_env = env | {"AWS_ENDPOINT_URL": endpoint} | _rclone_remote("model", endpoint)

            for mode, ours_flags, rclone_flags in MODEL_MODES:
                remote = [rclone, "check", str(root), f"model:{BUCKET}", *rclone_flags, *checkers]
                ours = _timed(server, f"files verify ({mode})", [*ctl, f"s3://{BUCKET}", *ours_flags, *state], run_env)
                walk = _timed(server, f"rclone check ({mode})", remote, run_env)
                fast = _timed(server, f"rclone check --fast-list ({mode})", [*remote, "--fast-list"], run_env)
                ratio = min(walk[0], fast[0]) / ours[0]
                cells = [f"{t:.2f} s [{n}]" for t, n in (ours, walk, fast)]
                print(f"{latency * 1000:>6.0f}ms {mode:<8} {cells[0]:>18} {cells[1]:>18} {cells[2]:>18} {ratio:>16.2f}x")
                results.append(
                    {
                        "latency_ms": latency * 1000,
                        "mode": mode,
                        "files_verify": ours,
                        "rclone": walk,
                        "rclone_fast_list": fast,
                        "ratio": round(ratio, 2),
                    }
                )
    shutil.rmtree(root)
    return results


def _timed(server: ListingServer, label: str, argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """:func:`measure`'s wall time of ``argv`` and the listing requests it made."""
    before = server.requests
    row = measure(label, argv, env)
    return float(row["seconds"]), server.requests - before  # type: ignore[arg-type]


def _rclone_remote(name: str, endpoint: str) -> dict[str, str]:
    """An rclone S3 remote ``name`` on ``endpoint``, configured through the environment."""
    prefix = f"RCLONE_CONFIG_{name.upper()}_"
    settings = {"TYPE": "s3", "PROVIDER": "Other", "ENDPOINT": endpoint, "REGION": "us-east-1"}
    return {prefix + k: v for k, v in (settings | {"ACCESS_KEY_ID": "bench", "SECRET_ACCESS_KEY": "bench"}).items()}


def _boto_credentials() -> dict[str, str]:
    return {"region_name": "us-east-1", "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


if __name__ == "__main__":
    sys.exit(main())
