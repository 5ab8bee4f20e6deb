"""How a JSON document (a policy, container definitions, the dashboard) becomes a Terraform string attribute.

The documents are Python data whose strings may hold cdktf tokens (ARNs, names of other resources). Rendered with
``json.dumps`` they are JSON text with ``${…}`` references inside: right in ``cdk.tf.json``, but cdktf's HCL
renderer (``cdktf synth --hcl``, ``make synth-hcl``) splits such a string at every quote and colon
(hashicorp/terraform-cdk#3911) and writes a policy Terraform cannot parse. So the rendering follows the output:

- JSON synth: ``json.dumps`` (what the rules in ``inventory_migration/rules`` and the snapshots read);
- HCL synth: ``jsonencode({...})`` for policies and container definitions, and for the dashboard
  ``templatefile()`` of its own JSON file, whose references are template variables.

Terraform evaluates both to the same document (``jsonencode`` sorts keys and drops spaces; the provider compares
policies and definitions as JSON), which ``tests/devtools/test_hcl.py`` proves by planning both against one emulator.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inventory_migration.synth.cdk import App, AssetType, Construct, Fn, IConstruct, TerraformAsset, TerraformElement, Token

TOKEN = re.compile(r"\$\{TfToken\[TOKEN\.\d+\]\}")
"""A cdktf string token as it appears inside a Python string (``${TfToken[TOKEN.12]}``)."""


def hcl_output(scope: IConstruct) -> bool:
    """Whether this synth writes HCL (``cdktf synth --hcl`` sets ``SYNTH_HCL_OUTPUT``; ``App(hcl_output=True)``)."""
    return bool(App.of(scope).hcl_output)


def json_attribute(scope: IConstruct, document: Any, *, sort_keys: bool = False) -> str:
    """``document`` as the value of a JSON-string attribute (``policy``, ``container_definitions``...)."""
    if hcl_output(scope):
        return Token.as_string(Fn.jsonencode(document))
    return json.dumps(document, sort_keys=sort_keys)


def _typed(value: Any) -> dict[str, Any]:
    """``value`` in the typed form cdktf's HCL renderer reads from resources' attributes (``value``, ``type``,
    ``is_block``, ``storage_class_type``): a list of objects is a list of nested blocks, the rest are attributes."""
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        items = [{key: _typed(inner) for key, inner in item.items()} for item in value]
        return {"value": items, "type": "list", "is_block": True, "storage_class_type": "block"}
    if isinstance(value, bool):
        return {"value": value, "type": "simple", "storage_class_type": "boolean"}
    if isinstance(value, int | float):
        return {"value": value, "type": "simple", "storage_class_type": "number"}
    if isinstance(value, str):
        return {"value": value, "type": "simple", "storage_class_type": "string"}
    return {"value": value, "type": "any"}


def override(element: TerraformElement, name: str, value: Any) -> None:
    """``element.add_override(name, value)``, where ``value`` may be nested blocks (a list of objects) the bindings
    do not model: the ``rule`` blocks of ``aws_wafv2_web_acl``, the provider's ``endpoints`` in rehearsal mode.

    An override is untyped: cdktf's HCL renderer would write nested blocks as an attribute (``rule = [{...}]``,
    which Terraform rejects for a block), so in HCL synth they get the types the renderer reads for modelled ones.
    """
    blocks = isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)
    element.add_override(name, _typed(value) if blocks and hcl_output(element) else value)


def template_variables(text: str, names: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """``text`` with every token replaced by a template variable, and the variables' values.

    ``names`` names known tokens (``{token: "cluster_identifier"}``); others become ``ref_1``, ``ref_2``... Literal
    ``${`` and ``%{`` in the text are escaped (``$${``, ``%%{``) so ``templatefile`` keeps them as they are.
    """
    escaped = text.replace("%{", "%%{")
    escaped = re.sub(r"\$\{(?!TfToken\[)", "$${", escaped)
    variables: dict[str, str] = {}
    by_token: dict[str, str] = {}

    def variable(match: re.Match[str]) -> str:
        token = match.group(0)
        if token not in by_token:
            name = names.get(token) or f"ref_{len(by_token) + 1}"
            while name in variables:
                name = f"{name}_"
            by_token[token] = name
            variables[name] = token
        return "${" + by_token[token] + "}"

    return TOKEN.sub(variable, escaped), variables


def token_names(data: Any, prefix: str = "") -> dict[str, str]:
    """``{token: name}`` for every token in a dataclass tree (``load_balancer.green_target_group`` →
    ``load_balancer_green_target_group``; list items get their index)."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        items: list[tuple[str, Any]] = [(f.name, getattr(data, f.name)) for f in dataclasses.fields(data)]
    elif isinstance(data, list | tuple):
        items = [(str(i), v) for i, v in enumerate(data)]
    elif isinstance(data, str) and TOKEN.fullmatch(data):
        return {data: prefix}
    else:
        return {}
    names: dict[str, str] = {}
    for key, value in items:
        for token, name in token_names(value, f"{prefix}_{key}" if prefix else key).items():
            names.setdefault(token, name)
    return names


def templated_json_attribute(
    scope: Construct, construct_id: str, file_name: str, document: Any, names: Mapping[str, str] | None = None
) -> str:
    """``document`` as JSON text with sorted keys; in HCL synth, ``templatefile()`` of its own file (``file_name``).

    The file is a cdktf asset (copied under the stack's ``assets/`` at synth) and indented, so a reviewer reads the
    document as JSON, with the references as named variables (``names``: token → variable name).
    """
    if not hcl_output(scope):
        return json.dumps(document, sort_keys=True)
    template, variables = template_variables(json.dumps(document, sort_keys=True, indent=2), names or {})
    # The asset is copied into the synth output when the app synthesizes, later in this process: the file lives until
    # the process ends, and no longer.
    folder = tempfile.mkdtemp(prefix="inventory-migration-asset-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    source = Path(folder) / file_name
    source.write_text(template, encoding="utf-8")
    asset = TerraformAsset(scope, construct_id, path=str(source), type=AssetType.FILE)
    return Token.as_string(Fn.templatefile(asset.path, variables))
