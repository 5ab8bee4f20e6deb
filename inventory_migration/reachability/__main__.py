"""``python -m inventory_migration.reachability check FILE``: the flow matrix decided on a network — a synthesized
stack (``cdk.tf.json``, what ``terraform apply`` would build) or an applied one (``terraform show -json`` of the
stack directory, read back from the account's API).

    python -m inventory_migration.reachability check cdktf.out/stacks/inventory-migration-prod/cdk.tf.json
    terraform -chdir=cdktf.out/stacks/inventory-migration-prod show -json > ~/applied.json
    python -m inventory_migration.reachability check ~/applied.json --applied   # AWS credentials of the account

The environment and the phase are read from the file (the stack's name and its ``migration_phase`` output);
``--env``/``--phase`` override them. Prints every flow with its verdict and, for one not as the matrix says, the hop
that blocks it (or the piece that gets through). Exit 0: every flow as the matrix says; 1: not; 2: bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from inventory_migration.contracts.phases import MigrationPhase

STACK_PREFIX = "inventory-migration-"


class BadInput(Exception):
    """What the user gave cannot be checked: one line, exit 2."""


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BadInput(f"{path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise BadInput(f"{path}: not JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: not a Terraform JSON document")
    return data


def _environment_of(data: Mapping[str, Any]) -> str:
    """The environment: the AWS provider's default ``Environment`` tag, else the stack's name (cdktf's metadata)."""
    provider = (data.get("provider", {}).get("aws") or [{}])[0]
    tags = (provider.get("default_tags") or [{}])[0].get("tags", {})
    if tags.get("Environment"):
        return str(tags["Environment"])
    metadata = data.get("//", {}).get("metadata", {})
    stack = str(metadata.get("stackName", ""))
    return stack.removeprefix(STACK_PREFIX) if stack.startswith(STACK_PREFIX) else ""


def _phase_of(data: Mapping[str, Any]) -> str:
    output = data.get("output", {}).get("migration_phase", {})
    return str(output.get("value", "")) if isinstance(output, dict) else ""


def run(argv: list[str], out: TextIO) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inventory_migration.reachability",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    check_parser = sub.add_parser("check", help="decide every flow of the matrix on a synthesized or applied stack")
    check_parser.add_argument("file", type=Path, help="cdk.tf.json (synthesized), or terraform show -json (with --applied)")
    check_parser.add_argument("--applied", action="store_true", help="FILE is terraform show -json: read the account's network")
    check_parser.add_argument("--env", help="environment (default: from FILE)")
    check_parser.add_argument("--phase", choices=[p.value for p in MigrationPhase], help="phase (default: from FILE)")
    a = parser.parse_args(argv)
    from inventory_migration.config import ConfigError, load_config
    from inventory_migration.config.environment import phased
    from inventory_migration.reachability.flows import check, failures
    from inventory_migration.reachability.from_terraform import network_of

    data = _read(a.file)
    environment = a.env or _environment_of(data)
    phase_text = a.phase or _phase_of(data)
    if not environment:
        raise BadInput(f"{a.file}: no environment in it: pass --env")
    if phase_text not in {p.value for p in MigrationPhase}:
        raise BadInput(
            f"{a.file}: phase {phase_text!r} unknown: pass --phase (allowed: {', '.join(p.value for p in MigrationPhase)})"
        )
    phase = MigrationPhase(phase_text)
    try:
        config = phased(load_config(environment), phase)
    except ConfigError as error:
        raise BadInput(str(error).splitlines()[0]) from None
    if a.applied:
        import boto3

        from inventory_migration.reachability.from_aws import deployed_from_state, network_from_aws

        session = boto3.Session()
        network = network_from_aws(lambda service: session.client(service), deployed_from_state(data))  # type: ignore[call-overload]
    else:
        if "resource" not in data:
            raise BadInput(f"{a.file}: no resources: a synthesized stack (cdk.tf.json) or, with --applied, terraform show -json")
        network = network_of(data)
    results = check(network, config, phase)
    out.write(f"flow matrix of {environment} in phase {phase.value} ({'applied' if a.applied else 'synthesized'}: {a.file})\n")
    for r in results:
        out.write(f"  {r.status:<18} {r.flow.kind.value:<9} {r.flow.source.value} -> {r.flow.destination.value} ({r.ports})\n")
    problems = failures(results)
    for line in problems:
        out.write(line + "\n")
    out.write(
        (
            "NOT AS THE MATRIX SAYS: " + f"{sum(1 for r in results if not r.ok)} flow(s)"
            if problems
            else "every flow as the matrix says"
        )
        + "\n"
    )
    return 1 if problems else 0


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv, out)
    except BadInput as bad:
        err.write(f"error: {bad}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
