"""What ``files verify`` found: every difference by path and kind, the counts, and how they are printed."""

from __future__ import annotations

import collections
import dataclasses
import json
import unicodedata
from collections.abc import Callable
from enum import Enum
from typing import Any

DIFFERENCES_KEPT = 10_000
"""Differences a report keeps in memory (and prints with ``--output json``); every one is counted, and ``files verify
--report FILE`` writes every one as it is found."""


class Problem(Enum):
    MISSING = "missing"
    """A file with no object."""
    EXTRA = "extra"
    """An object with no file."""
    SIZE = "changed: size"
    MTIME = "changed: mtime"
    CONTENT = "changed: content"
    NO_MTIME = "no mtime kept on the object"
    UNMAPPABLE = "unmappable name"
    UNREADABLE = "unreadable on the source"
    """A directory or file the verify could not read: not compared, so never equal (objects under it are not called
    extra: they may be good copies)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Difference:
    problem: Problem
    path: str
    detail: str = ""


@dataclasses.dataclass
class FilesReport:
    root: str
    url: str
    files: int = 0
    objects: int = 0
    bytes: int = 0
    matched: int = 0
    content_checked: int = 0
    resumed: int = 0
    skipped_special: int = 0
    differences: list[Difference] = dataclasses.field(default_factory=list)
    """The first :attr:`kept` differences found (sorted by kind and path once the run ends)."""
    seconds: float = 0.0
    by_problem: collections.Counter[Problem] = dataclasses.field(default_factory=collections.Counter)
    """Every difference, counted."""
    kept: int = DIFFERENCES_KEPT
    on_difference: Callable[[Difference], object] | None = None
    """Sees every difference as it is found (``--report FILE``)."""

    def add(self, difference: Difference) -> None:
        self.by_problem[difference.problem] += 1
        if len(self.differences) < self.kept:
            self.differences.append(difference)
        if self.on_difference is not None:
            self.on_difference(difference)

    @property
    def total_differences(self) -> int:
        return sum(self.by_problem.values())

    @property
    def equal(self) -> bool:
        return not self.total_differences

    def counts(self) -> dict[str, int]:
        return {p.value: n for p, n in sorted(self.by_problem.items(), key=lambda x: x[0].value)}


def visible(path: str) -> str:
    """``path`` as printed: quoted with escapes when two paths could otherwise look the same (leading or trailing
    blanks, characters that print as nothing, a name not in Unicode NFC — ``é`` as ``e`` + U+0301)."""
    invisible = path != path.strip() or unicodedata.normalize("NFC", path) != path or not path.isprintable()
    return json.dumps(path) if invisible else path


def render(report: FilesReport, limit: int = 50) -> str:
    lines = [
        f"{report.root} -> {report.url}: {report.files:,} files ({report.bytes:,} B), {report.objects:,} objects, "
        f"{report.matched:,} matched, {report.content_checked:,} content-checked"
        + (f" ({report.resumed:,} proved by the interrupted run)" if report.resumed else "")
        + f", {report.seconds:.1f} s"
    ]
    if report.skipped_special:
        lines.append(f"skipped {report.skipped_special} special file(s) (not copied by DataSync)")
    kept: dict[Problem, list[Difference]] = {}
    for d in report.differences:
        kept.setdefault(d.problem, []).append(d)
    for problem, count in report.by_problem.items():
        items = kept.get(problem, [])
        lines.append(f"{problem.value}: {count:,}")
        lines += [f"  {visible(d.path)}" + (f"  ({d.detail})" if d.detail else "") for d in items[:limit]]
        if count > limit:
            lines.append(f"  … {count - min(limit, len(items)):,} more (--report FILE lists every one)")
    lines.append("EQUAL" if report.equal else "DIFFERENCES")
    return "\n".join(lines)


def difference_json(d: Difference) -> dict[str, str]:
    return {"problem": d.problem.value, "path": d.path, "detail": d.detail}


def to_json(report: FilesReport) -> dict[str, Any]:
    out = {f.name: getattr(report, f.name) for f in dataclasses.fields(report) if f.name not in ("by_problem", "on_difference")}
    out["differences"] = [difference_json(d) for d in report.differences]
    out["counts"] = report.counts()
    out["differences_total"] = report.total_differences
    out["equal"] = report.equal
    return out
