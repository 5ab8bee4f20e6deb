"""What the night measured and how it is told: per switch the write unavailability (the longest gap between
acknowledged commits), freeze-to-drained time and every step's time; the findings; the timeline PNG; summary.json."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.night import workload as wl
from harness.night.night import Operation
from harness.night.timeline import Mark, draw


@dataclasses.dataclass
class SwitchMetrics:
    label: str
    unavailability: float
    gap: tuple[float, float]
    freeze_to_drained: float
    fence_seconds: float
    """From the fence's commit on the side being left to its arrival on the other side."""
    tps: float
    """Acknowledged commits per second in the five seconds before the switch began: the load it ran under."""
    steps: dict[str, float]
    verify: str


def switch_metrics(op: Operation, acks: list[wl.Ack]) -> SwitchMetrics:
    steps = op.steps()
    first = "freeze" if op.name == "cutover" else "freeze-green"
    window_start = steps.get(first, (op.started, op.started, 0))[0]
    window_end = op.finished + 2.0
    times = sorted(a.at for a in acks if window_start - 1.0 <= a.at <= window_end)
    gap, where = 0.0, (window_start, window_start)
    for before, after in itertools.pairwise(times):
        if after - before > gap:
            gap, where = after - before, (before, after)
    drain = "drain" if op.name == "cutover" else "reverse-drain"
    freeze_to_drained = steps[drain][1] - steps[first][0] if drain in steps and first in steps else float("nan")
    verify = op.journal.get("steps", {}).get("verify", {}).get("result", {})
    verdict = "" if op.name != "cutover" else ("equal" if verify.get("equal") else f"NOT EQUAL {verify}")
    fence = float(op.journal.get("steps", {}).get(drain, {}).get("result", {}).get("fence_seconds", float("nan")))
    tps = sum(1 for a in acks if window_start - TPS_SECONDS <= a.at < window_start) / TPS_SECONDS
    return SwitchMetrics(op.label, gap, where, freeze_to_drained, fence, tps, {s: v[2] for s, v in steps.items()}, verdict)


TPS_SECONDS = 5.0


def render(metrics: list[SwitchMetrics]) -> str:
    lines = [
        f"{'switch':<22} {'unavailable s':>13} {'freeze->drained s':>17} {'fence s':>7} {'tx/s':>6}  "
        "switch-point verify  steps (s)"
    ]
    for m in metrics:
        steps = ", ".join(f"{k} {v:.2f}" for k, v in m.steps.items())
        lines.append(
            f"{m.label:<22} {m.unavailability:>13.2f} {m.freeze_to_drained:>17.2f} {m.fence_seconds:>7.2f} {m.tps:>6.0f}  "
            f"{m.verify or '-':<19}  {steps}"
        )
    return "\n".join(lines)


@dataclasses.dataclass
class Result:
    metrics: list[SwitchMetrics]
    faults: list[dict[str, Any]]
    findings: wl.Findings
    final_verify: str
    acknowledged: int
    tps: float
    seconds: float
    timeline: Path
    workload: dict[str, int]
    two_writers: list[str] = dataclasses.field(default_factory=list)
    """Where the per-write record shows two writers or a stale apply (:mod:`.writers`): none."""
    live_verify: dict[str, Any] = dataclasses.field(default_factory=dict)
    """``verify --live`` under load before the first switch: rows, seconds, in flight, the differences it named."""

    @property
    def passed(self) -> bool:
        cutovers = [m for m in self.metrics if m.label.startswith("cutover")]
        return (
            self.findings.clean
            and not self.two_writers
            and self.final_verify == "equal"
            and all(m.verify == "equal" for m in cutovers)
        )


def timeline(stats: wl.Stats, metrics: list[SwitchMetrics], ops: list[Operation], path: Path) -> Path:
    acks: dict[str, list[float]] = {"blue": [], "green": []}
    for a in stats.acks:
        acks[a.database].append(a.at)
    marks = []
    for op in ops:
        for i, (step, (start, _end, _s)) in enumerate(sorted(op.steps().items(), key=lambda kv: kv[1][0])):
            marks.append(Mark(start, f"{op.label}: {step}" if i == 0 else step, major=i == 0))
    windows = [(m.gap[0], m.gap[1], f"{m.label}: {m.unavailability:.2f} s") for m in metrics]
    last = max(op.finished for op in ops) + 8
    cut: dict[str, Sequence[float]] = {k: [t for t in v if t <= last] for k, v in acks.items()}
    return draw(
        cut,
        marks,
        path,
        title="Cutover rehearsal: PostgreSQL 13 (blue, on-prem) -> 16 (green, Aurora), native logical replication",
        windows=windows,
    )


def summary_dict(r: Result) -> dict[str, Any]:
    return {
        "passed": r.passed,
        "switches": [dataclasses.asdict(m) for m in r.metrics],
        "faults": r.faults,
        "lost": r.findings.lost,
        "duplicated": r.findings.duplicated,
        "collisions": r.findings.collisions,
        "two_writers": r.two_writers,
        "live_verify": r.live_verify,
        "acknowledged": r.acknowledged,
        "tps": round(r.tps, 1),
        "final_verify": r.final_verify,
        "seconds": round(r.seconds, 1),
        "timeline": str(r.timeline),
        "workload": r.workload,
    }


def _finding(what: str, items: Sequence[str]) -> str:
    return f"{what}: {len(items)}" + (": " + "; ".join(items[:5]) if items else "")


def report(r: Result) -> str:
    lines = ["", "== cutover rehearsal: PostgreSQL 13 -> 16 under load ==", render(r.metrics), ""]
    if r.faults:
        lines.append("fault cases:")
        lines += [f"  {f['case']}: {f['outcome']}" for f in r.faults]
        lines.append("")
    lines += [
        f"acknowledged commits: {r.acknowledged} ({r.tps:.0f}/s); retries: {r.workload}",
        _finding("lost writes", r.findings.lost),
        _finding("duplicated writes", r.findings.duplicated),
        _finding("sequence collisions", r.findings.collisions),
        _finding("two writers or stale applies", r.two_writers),
        f"verify --live under load: equal, {r.live_verify.get('in_flight', 0)} row(s) in flight; named when injected: "
        f"{r.live_verify.get('named', '-')}",
        f"final verify of both sides: {r.final_verify}",
        f"timeline: {r.timeline}",
        f"whole rehearsal: {r.seconds:.0f} s",
        "RESULT: " + ("PASSED" if r.passed else "FAILED"),
    ]
    return "\n".join(lines)
