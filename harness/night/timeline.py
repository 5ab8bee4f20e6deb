"""The rehearsal's picture: acknowledged commits per 100 ms on each database, with every step of every switch
marked, so the freeze gaps show at a glance."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

BUCKET_SECONDS = 0.1
COLOURS = {"blue": "#1f77b4", "green": "#2ca02c"}


@dataclasses.dataclass(frozen=True)
class Mark:
    """A step of a switch: when it started, and its label (``cutover 1: freeze``)."""

    at: float
    label: str
    major: bool = False
    """The first step of an operation: drawn as a labelled band edge."""


def buckets(times: Sequence[float], start: float, end: float) -> list[int]:
    """How many of ``times`` fall in each 100 ms from ``start`` to ``end``."""
    count = max(1, int((end - start) / BUCKET_SECONDS) + 1)
    out = [0] * count
    for t in times:
        index = int((t - start) / BUCKET_SECONDS)
        if 0 <= index < count:
            out[index] += 1
    return out


def draw(
    acks: dict[str, Sequence[float]],
    marks: Sequence[Mark],
    path: Path,
    *,
    title: str,
    windows: Sequence[tuple[float, float, str]] = (),
) -> Path:
    """Write the timeline PNG: one line per database (commits per 100 ms), a vertical line per step; ``windows``
    (start, end, label) are shaded: the write unavailability of each switch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    every = [t for times in acks.values() for t in times] + [m.at for m in marks]
    start, end = min(every), max(every)
    fig, ax = plt.subplots(figsize=(16, 5.5), dpi=110)
    for database, times in acks.items():
        counts = buckets(times, start, end)
        xs = [i * BUCKET_SECONDS for i in range(len(counts))]
        ax.step(
            xs, counts, where="post", color=COLOURS.get(database, "grey"), linewidth=0.9, label=f"{database} commits / 100 ms"
        )
    top = ax.get_ylim()[1]
    for window_start, window_end, label in windows:
        ax.axvspan(window_start - start, window_end - start, color="#d62728", alpha=0.15, linewidth=0)
        ax.text(window_start - start, top * 0.97, label, fontsize=7, color="#d62728", va="top")
    minor = 0
    for mark in marks:
        x = mark.at - start
        ax.axvline(
            x, color="black" if mark.major else "grey", linewidth=0.8 if mark.major else 0.4, linestyle="-" if mark.major else ":"
        )
        if mark.major:
            minor = 0
            ax.text(x, top * 0.88, mark.label, rotation=90, fontsize=6, va="top")
        else:  # steps a few milliseconds apart: stagger their labels so they stay readable
            ax.text(x, top * (0.04 + 0.16 * (minor % 4)), mark.label, rotation=90, fontsize=6, va="bottom")
            minor += 1
    ax.set_xlabel("seconds since the workload started")
    ax.set_ylabel("acknowledged commits per 100 ms")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_xlim(0, end - start)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
