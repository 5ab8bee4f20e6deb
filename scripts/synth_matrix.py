"""Synthesize every shipped environment x phase (and the variants below) to a directory, one JSON file each.

A refactoring that must not change what the stack writes is checked with two runs and ``diff -r``::

    python scripts/synth_matrix.py build/synth-before     # on the old commit
    python scripts/synth_matrix.py build/synth-after      # on the new one
    diff -r build/synth-before build/synth-after

The variants reach the branches the shipped files leave untaken: the DataSync agent's second pass, a Transit
Gateway, on-prem DNS forwarding, an SMB share, per-AZ NAT and no NAT, and rehearsal mode.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

AGENT_ARN = "arn:aws:datasync:us-east-1:210987654321:agent/agent-0a1b2c3d4e5f6a7b8"


def variants() -> Iterator[tuple[str, Callable[[Any], Any]]]:
    from inventory_migration.config.files import FileProtocol
    from inventory_migration.config.network import NatGatewayMode, OnPremConnectivity

    def agent(c: Any) -> Any:
        return dataclasses.replace(c, files=dataclasses.replace(c.files, agent_arn=AGENT_ARN))

    yield "shipped", lambda c: c
    yield "agent", agent
    yield (
        "tgw-dns",
        lambda c: dataclasses.replace(
            c,
            network=dataclasses.replace(
                c.network,
                connectivity=OnPremConnectivity.TRANSIT_GATEWAY,
                transit_gateway_id="tgw-0123456789abcdef0",
                on_prem_dns_servers=("192.168.1.53",),
                on_prem_domains=("corp.internal",),
                nat_gateways=NatGatewayMode.PER_AZ,
            ),
        ),
    )
    yield (
        "smb-nonat",
        lambda c: agent(
            dataclasses.replace(
                c,
                network=dataclasses.replace(c.network, nat_gateways=NatGatewayMode.NONE),
                files=dataclasses.replace(
                    c.files, protocol=FileProtocol.SMB, smb_user="svc", smb_domain="CORP", bandwidth_limit_mbps=0
                ),
            )
        ),
    )


def main(outdir: str) -> int:
    from inventory_migration.synth.runtime import use_supported_node

    use_supported_node()
    from inventory_migration.config import available_environments, load_config
    from inventory_migration.config.environment import phased
    from inventory_migration.contracts.phases import MigrationPhase
    from inventory_migration.stacks.migration import MigrationStack, stack_name
    from inventory_migration.stacks.rehearsal_mode import RehearsalMode
    from inventory_migration.synth.cdk import Testing

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for environment in available_environments():
        base = load_config(environment, environ={})
        for phase in MigrationPhase:
            for name, change in variants():
                config = change(phased(base, phase))
                stack = MigrationStack(Testing.app(), stack_name(config), config=config)
                (out / f"{environment}-{phase.value}-{name}.json").write_text(Testing.synth(stack), encoding="utf-8")
                count += 1
        rehearsal = RehearsalMode(endpoint="http://127.0.0.1:5000", state_path="/tmp/rehearsal.tfstate")
        stack = MigrationStack(Testing.app(), stack_name(base), config=base, rehearsal=rehearsal)
        (out / f"{environment}-rehearsal.json").write_text(Testing.synth(stack), encoding="utf-8")
        count += 1
    print(f"{count} stacks synthesized into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/synth-matrix"))
