"""One-screen summary of a synthesized stack: ``python -m inventory_migration.devtools.summary [ENV]``."""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUTDIR = Path("cdktf.out")


def summarize(synth: dict[str, Any], path: Path) -> str:
    """Stack, environment, phase, resource count by type and the output path."""
    meta = synth.get("//", {}).get("metadata", {})
    tags = synth["provider"]["aws"][0].get("default_tags", [{}])[0].get("tags", {})
    counts = collections.Counter(t for t, by_id in synth.get("resource", {}).items() for _ in by_id)
    backend = next(iter(synth.get("terraform", {}).get("backend", {"none": None})))
    lines = [
        f"stack:       {meta.get('stackName', path.parent.name)}",
        f"environment: {tags.get('Environment', '?')}   phase: {tags.get('MigrationPhase', '?')}   "
        f"region: {synth['provider']['aws'][0].get('region', '?')}   backend: {backend}",
        f"resources:   {sum(counts.values())} in {len(counts)} types",
    ]
    width = max((len(t) for t in counts), default=0)
    ordered = sorted(counts.items())
    half = (len(ordered) + 1) // 2
    for left, right in zip(ordered[:half], [*ordered[half:], None][:half], strict=True):
        cell = f"  {left[0]:<{width}} {left[1]:>3}"
        lines.append(cell + (f"   {right[0]:<{width}} {right[1]:>3}" if right else ""))
    lines.append(f"outputs:     {', '.join(sorted(synth.get('output', {})))}")
    lines.append(f"written to:  {path}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    environment = args[0] if args else "dev"
    path = DEFAULT_OUTDIR / "stacks" / f"inventory-migration-{environment}" / "cdk.tf.json"
    if not path.is_file():
        print(f"error: {path} does not exist; run `make synth` first", file=sys.stderr)
        return 2
    print(summarize(json.loads(path.read_text(encoding="utf-8")), path))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
