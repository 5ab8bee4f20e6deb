"""``files plan``: what the image tree holds and what moving it means — counts, a size histogram, depth, the largest
directories, names that cannot become keys or need care, links and special files (with what DataSync does with
each), the first copy's transfer time and the monthly storage cost of each option (:mod:`.costs`).
"""

from __future__ import annotations

import collections
import dataclasses
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from inventory_migration.migrationctl.files.costs import PRICES, Cost, lifecycle_costs
from inventory_migration.migrationctl.files.tree import LIST_CAP, Dir, Entry, Kind, NameIssue, Walk, name_issues
from inventory_migration.migrationctl.output import human

SIZE_BUCKETS = (
    (0, "0 B"),
    (4 << 10, "< 4 KiB"),
    (16 << 10, "< 16 KiB"),
    (64 << 10, "< 64 KiB"),
    (128 << 10, "< 128 KiB"),
    (1 << 20, "< 1 MiB"),
    (8 << 20, "< 8 MiB"),
    (64 << 20, "< 64 MiB"),
)
"""Upper bounds (exclusive, except the first) of the size histogram; 128 KiB is S3's minimum billable size for IA."""


def bucket_of(size: int) -> str:
    if size == 0:
        return "0 B"
    for bound, label in SIZE_BUCKETS[1:]:
        if size < bound:
            return label
    return ">= 64 MiB"


@dataclasses.dataclass
class Plan:
    root: str
    files: int
    bytes: int
    histogram: dict[str, tuple[int, int]]
    max_depth: int
    directories: int
    largest_dirs: list[tuple[str, int]]
    blocking: list[NameIssue]
    warnings: list[NameIssue]
    symlinks: list[str]
    hard_links: int
    special: list[str]
    empty_dirs: list[str]
    errors: list[str]
    transfer_hours: float | None
    bandwidth_mbps: int
    costs: list[Cost]
    read_fraction: float
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    """Exact counts of the lists above, which keep at most :data:`.tree.LIST_CAP` names each."""

    def count(self, field: str) -> int:
        """How many there are of ``field``'s kind (``blocking``, ``warnings``, ``symlinks``, ``special``,
        ``empty_dirs``), also past the names kept."""
        return self.counts.get(field, len(getattr(self, field)))

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["costs"] = [
            {
                "tier": c.tier.value,
                "monthly_usd": round(c.monthly_usd, 2),
                "one_time_usd": round(c.one_time_usd, 2),
                "note": c.note,
            }
            for c in self.costs
        ]
        out["blocking"] = [dataclasses.asdict(i) for i in self.blocking]
        out["warnings"] = [dataclasses.asdict(i) for i in self.warnings]
        out["prices_as_of"] = PRICES.as_of
        return out


def make_plan(
    root: Path,
    entries: Iterable[Entry | Dir],
    info: Walk,
    prefix: str = "",
    bandwidth_mbps: int = 0,
    read_fraction: float = 0.1,
    top: int = 10,
    *,
    on_entry: Callable[[Entry], object] | None = None,
) -> Plan:
    """The plan of a tree, from its entries as they come (:func:`.tree.iter_walk`; ``info`` is complete once they
    are consumed): counts and sums exact, lists of names capped at :data:`.tree.LIST_CAP`. ``on_entry`` sees each
    entry (the manifest is written so, in the same pass)."""
    histogram: dict[str, list[int]] = {label: [0, 0] for _, label in SIZE_BUCKETS} | {">= 64 MiB": [0, 0]}
    counts = collections.Counter[str]()
    blocking: list[NameIssue] = []
    warnings: list[NameIssue] = []
    symlinks: list[str] = []
    special: list[str] = []
    small, large, total = [0, 0], [0, 0], 0
    for e in entries:
        if isinstance(e, Dir):
            continue
        if on_entry is not None:
            on_entry(e)
        for issue in name_issues(e.path, prefix):
            counts["blocking" if issue.blocking else "warnings"] += 1
            _capped(blocking if issue.blocking else warnings, issue)
        if e.kind is Kind.SYMLINK:
            counts["symlinks"] += 1
            total += e.size
            _capped(symlinks, e.display)
        elif e.kind is Kind.SPECIAL:
            counts["special"] += 1
            _capped(special, e.display)
        else:
            counts["files"] += 1
            counts["hard_links"] += e.inode is not None
            total += e.size
            cell = histogram[bucket_of(e.size)]
            cell[0] += 1
            cell[1] += e.size
            side = small if e.size < PRICES.min_billable_bytes else large
            side[0] += 1
            side[1] += e.size
    warnings += info.twins
    counts["warnings"] += len(info.twins)
    return Plan(
        root=str(root),
        files=counts["files"],
        bytes=total,
        histogram={k: (v[0], v[1]) for k, v in histogram.items()},
        max_depth=info.max_depth,
        directories=info.directories,
        largest_dirs=[(os.fsdecode(d) or ".", b) for d, b in info.largest_dirs()[:top]],
        blocking=blocking,
        warnings=warnings,
        symlinks=symlinks,
        hard_links=counts["hard_links"],
        special=special,
        empty_dirs=[d.decode("utf-8", "backslashreplace") for d in sorted(info.empty_dirs)],
        errors=info.errors,
        transfer_hours=(total * 8 / (bandwidth_mbps * 1e6) / 3600) if bandwidth_mbps else None,
        bandwidth_mbps=bandwidth_mbps,
        costs=lifecycle_costs((small[0], small[1]), (large[0], large[1]), read_fraction),
        read_fraction=read_fraction,
        counts={
            "blocking": counts["blocking"],
            "warnings": counts["warnings"],
            "symlinks": counts["symlinks"],
            "special": counts["special"],
            "empty_dirs": info.empty_dir_count,
        },
    )


def _capped(items: list[Any], item: Any) -> None:
    if len(items) < LIST_CAP:
        items.append(item)


DATASYNC_NOTES = {
    "symlinks": "DataSync stores the link's target path as the object's content (restored as a link on the way back); "
    "`aws s3 sync` follows the link and uploads the target's content",
    "hard links": "each path becomes its own object (the data is read once per execution)",
    "special": "FIFOs, sockets and devices are not copied by DataSync or `aws s3 sync`",
    "empty dirs": "DataSync keeps a folder as an empty `dir/` object; `aws s3 sync` drops empty directories",
}


def render_plan(p: Plan, limit: int = 20) -> str:
    lines = [
        f"tree {p.root}: {p.files:,} files, {human(p.bytes)} in {p.directories:,} directories, depth {p.max_depth}",
        "",
        "size histogram:",
    ]
    for label, (count, size) in p.histogram.items():
        if count:
            lines.append(f"  {label:>10}  {count:>12,} files  {human(size):>11}")
    lines += ["", "largest directories (files directly in them):"]
    lines += [f"  {human(size):>11}  {name}" for name, size in p.largest_dirs]
    lines += ["", f"names that cannot become keys: {p.count('blocking')}"]
    lines += [f"  {i.path}: {i.problem}" for i in p.blocking[:limit]]
    lines += [f"names that need care: {p.count('warnings')}"]
    lines += [f"  {i.path}: {i.problem}" for i in p.warnings[:limit]]
    for label, field, note in (
        ("symlinks", "symlinks", DATASYNC_NOTES["symlinks"]),
        ("special files", "special", DATASYNC_NOTES["special"]),
        ("empty directories", "empty_dirs", DATASYNC_NOTES["empty dirs"]),
    ):
        lines.append(f"{label}: {p.count(field)}" + (f" ({note})" if p.count(field) else ""))
        lines += [f"  {name}" for name in getattr(p, field)[:limit]]
    lines.append(f"hard-linked paths: {p.hard_links}" + (f" ({DATASYNC_NOTES['hard links']})" if p.hard_links else ""))
    if p.errors:
        lines += [f"unreadable: {len(p.errors)}"] + [f"  {e}" for e in p.errors[:limit]]
    lines.append("")
    if p.transfer_hours is not None:
        lines.append(
            f"first full copy at {p.bandwidth_mbps} Mbit/s: {_duration(p.transfer_hours * 3600)} (incremental runs copy only changes)"
        )
    lines += [
        "",
        f"monthly storage cost, us-east-1 prices of {PRICES.as_of}, {p.read_fraction:.0%} of the large objects' bytes read a month:",
    ]
    lines += [
        f"  {c.tier.value:<20} ${c.monthly_usd:>10,.2f}/month  (one-time ${c.one_time_usd:,.2f})  {c.note}" for c in p.costs
    ]
    cheapest = min(p.costs, key=lambda c: c.monthly_usd)
    if max(c.monthly_usd for c in p.costs) - cheapest.monthly_usd < 0.01:
        lines.append("cheapest: no difference at this size")
    else:
        lines.append(f"cheapest: {cheapest.tier.value}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
