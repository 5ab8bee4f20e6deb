"""The deployed stack's outputs, as ``--stack-outputs`` gives them to migrationctl.

Three shapes are read: ``terraform output -json`` (``{"name": {"value": …, "sensitive": …}}``), ``cdktf output
--outputs-file`` (``{"<stack name>": {"name": value}}``) and a flat ``{"name": value}``. Names are
:class:`~inventory_migration.outputs.StackOutput` members.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.outputs import StackOutput

_KNOWN = {o.value for o in StackOutput}


def load_stack_outputs(path: Path) -> dict[str, Any]:
    """``name -> value`` from any of the three shapes."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read --stack-outputs {path}: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--stack-outputs {path}: expected a JSON object")
    if len(data) == 1 and not (data.keys() & _KNOWN):
        (only,) = data.values()
        if isinstance(only, dict) and only.keys() & _KNOWN:
            data = only  # cdktf output --outputs-file: one object per stack
    return {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in data.items()}
