"""What ``files verify`` found: every difference by path and kind, the counts, and how they are printed."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from enum import Enum
from typing import Any


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
    seconds: float = 0.0

    @property
    def equal(self) -> bool:
        return not self.differences

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.differences:
            out[d.problem.value] = out.get(d.problem.value, 0) + 1
        return out


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
    by_problem: dict[Problem, list[Difference]] = {}
    for d in report.differences:
        by_problem.setdefault(d.problem, []).append(d)
    for problem, items in by_problem.items():
        lines.append(f"{problem.value}: {len(items)}")
        lines += [f"  {visible(d.path)}" + (f"  ({d.detail})" if d.detail else "") for d in items[:limit]]
        if len(items) > limit:
            lines.append(f"  … {len(items) - limit} more (--output json for all)")
    lines.append("EQUAL" if report.equal else "DIFFERENCES")
    return "\n".join(lines)


def to_json(report: FilesReport) -> dict[str, Any]:
    out = dataclasses.asdict(report)
    out["differences"] = [{"problem": d.problem.value, "path": d.path, "detail": d.detail} for d in report.differences]
    out["equal"] = report.equal
    return out
