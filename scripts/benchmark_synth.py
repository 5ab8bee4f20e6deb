"""Benchmark (not a test): full-stack synth time and peak memory next to a bare import of the provider
bindings, measured in the same run, each in a fresh process (the import dominates every synth).

    make bench            # or: pipenv run python scripts/benchmark_synth.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = "from inventory_migration.synth.runtime import use_supported_node; use_supported_node()\n"
CASES = {
    "bare import of cdktf + provider bindings": PRELUDE + "import inventory_migration.synth.cdk\n",
    "synth dev (import + build + synth)": PRELUDE + "import tempfile\nfrom inventory_migration.app import build_app\n"
    "app, _, _ = build_app(environment='dev', outdir=tempfile.mkdtemp(), environ={})\napp.synth()\n",
    "synth prod (import + build + synth)": PRELUDE + "import tempfile\nfrom inventory_migration.app import build_app\n"
    "app, _, _ = build_app(environment='prod', outdir=tempfile.mkdtemp(), environ={})\napp.synth()\n",
}


EPILOGUE = """
import os, resource
def _hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
def _descendants(pid):
    kids = [int(c) for t in os.listdir(f"/proc/{pid}/task") for c in open(f"/proc/{pid}/task/{t}/children").read().split()]
    return kids + [d for k in kids for d in _descendants(k)]
print("BENCH", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, sum(_hwm(k) for k in _descendants(os.getpid())))
"""


def measure(code: str) -> tuple[float, float, float]:
    """Wall seconds, peak RSS of the Python process and of its jsii Node processes (MiB), one fresh process."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code + EPILOGUE], cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark case failed:\n{proc.stderr}")
    line = next(row for row in proc.stdout.splitlines() if row.startswith("BENCH"))
    _tag, python_mib, node_mib = line.split()
    return elapsed, float(python_mib), float(node_mib)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median reported)")
    args = parser.parse_args()
    print(f"{'case':<42} {'median s':>9} {'min s':>7} {'python MiB':>11} {'node MiB':>9}")
    for name, code in CASES.items():
        runs = [measure(code) for _ in range(args.repeat)]
        times = [r[0] for r in runs]
        print(
            f"{name:<42} {statistics.median(times):>9.2f} {min(times):>7.2f} "
            f"{max(r[1] for r in runs):>11.0f} {max(r[2] for r in runs):>9.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
