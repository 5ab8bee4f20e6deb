"""Choose a supported Node.js for jsii before cdktf is imported.

Node 20 is end-of-life and jsii prints a banner on every run with it. ``package.json`` installs the
npm package ``node@22`` into ``node_modules/``; this module points jsii at that binary. It changes the
process environment when called: by :mod:`inventory_migration.synth.cdk` before the first jsii import, so every
entry point (the app, the tests, the scripts) runs jsii on it.
"""

from __future__ import annotations

import os
from pathlib import Path

from inventory_migration.contracts.environment import Variable

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_NODE = PROJECT_ROOT / "node_modules" / ".bin" / "node"


def use_supported_node(environ: dict[str, str] | None = None, bundled: Path = BUNDLED_NODE) -> str | None:
    """Point ``JSII_NODE`` at the project's Node 22 unless the caller already chose one.

    Returns the Node binary jsii will use, or ``None`` when it falls back to ``node`` on the PATH.
    """
    env = os.environ if environ is None else environ
    if env.get(Variable.JSII_NODE):
        return env[Variable.JSII_NODE]
    if bundled.exists():
        env[Variable.JSII_NODE] = str(bundled)
        return str(bundled)
    return None
