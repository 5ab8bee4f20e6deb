"""``make rehearse-cutover`` itself: the night on PostgreSQL 13 -> 16 under load, with every fault case."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.cutover_night
@pytest.mark.xdist_group("cutover-night")
def test_make_rehearse_cutover_passes() -> None:
    """``make rehearse-cutover`` itself, fault cases included: 13 -> 16 under load, cutover / rollback / cutover, every
    step killed and resumed, kills at random moments inside steps, a replication that confirms before applying, writers
    that try to outlast the freeze, writers through seeded privilege paths, a cutover resumed after a gate turned false,
    a second operator. Its report stays in build/ (the table, the timeline PNG,
    summary.json)."""
    import json
    import subprocess

    from harness.postgres import bindir_for

    if bindir_for(13) is None or bindir_for(16) is None:
        pytest.fail("PostgreSQL 13/16 from npm not installed (npm ci)")
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    done = subprocess.run(["make", "-s", "rehearse-cutover"], cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False)
    (build / "rehearse-cutover.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert "RESULT: PASSED" in done.stdout
    summary = json.loads((build / "rehearse-cutover" / "summary.json").read_text(encoding="utf-8"))
    result = summary[0] if isinstance(summary, list) else summary
    assert [s["label"] for s in result["switches"]] == ["cutover 1", "rollback 1", "cutover 2"]
    assert all(s["unavailability"] < 10 for s in result["switches"])
    assert result["lost"] == [] and result["duplicated"] == [] and result["collisions"] == []
    assert result["two_writers"] == []
    assert result["final_verify"] == "equal" and len(result["faults"]) >= 21
    cases = " | ".join(f["case"] for f in result["faults"])
    for case in (
        "replication confirms before applying",
        "writers that try to outlast the freeze",
        "a second operator",
        "kills at random moments",
        "writers through generated privilege paths",
        "a cutover resumed after a gate turned false",
    ):
        assert case in cases
