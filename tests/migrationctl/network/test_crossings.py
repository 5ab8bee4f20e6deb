"""Which flows `network check` asks Reachability Analyzer about (migrationctl/network/crossings.py)."""

from __future__ import annotations

import dataclasses

from inventory_migration.contracts.phases import MigrationPhase
from inventory_migration.migrationctl.network.crossings import Gateway, crossings
from tests.conftest import phase_config


def _labels(phase: MigrationPhase, config: object = None) -> set[tuple[str, str, int, bool]]:
    found = crossings(config or phase_config("dev", phase), phase)  # type: ignore[arg-type]
    return {(c.part, c.address, c.port, c.outbound) for c in found}


def test_every_flow_across_the_vpn_is_a_path_per_address_and_port() -> None:
    assert _labels(MigrationPhase.CDC) >= {
        ("dms", "192.168.20.10", 5432, True),
        ("alb", "192.168.10.11", 8080, True),
        ("alb", "192.168.10.12", 8080, True),
        ("aurora", "192.168.100.1", 5432, False),
        ("datasync_endpoint", "192.168.30.10", 443, False),
        ("datasync_endpoint", "192.168.30.10", 1024, False),
    }


def test_an_image_outside_ecr_adds_the_path_out_to_the_internet() -> None:
    (out,) = [c for c in crossings(phase_config("dev", MigrationPhase.CDC), MigrationPhase.CDC) if c.gateway is Gateway.INTERNET]
    assert (out.part, out.address, out.port, out.outbound) == ("app", "", 443, True)


def test_an_image_in_ecr_leaves_nothing_for_the_internet() -> None:
    config = phase_config("dev", MigrationPhase.CDC)
    config = dataclasses.replace(
        config, app=dataclasses.replace(config.app, container_image="111122223333.dkr.ecr.us-east-1.amazonaws.com/app:1")
    )
    assert all(c.gateway is Gateway.ON_PREM for c in crossings(config, MigrationPhase.CDC))


def test_only_required_flows_with_one_end_in_the_vpc_are_paths() -> None:
    from inventory_migration.reachability.flows import FLOWS, Kind

    required = {f"{f.source.value} -> {f.destination.value}" for f in FLOWS if f.kind is Kind.REQUIRED}
    found = crossings(phase_config("dev", MigrationPhase.CDC), MigrationPhase.CDC)
    assert found and all(c.flow in required for c in found)
    assert not [c for c in found if c.port == 22], "the agent's port 22 is a forbidden flow, not a path to prove"


def test_the_way_back_over_the_same_path_is_analysed_once() -> None:
    found = crossings(phase_config("dev", MigrationPhase.CUTOVER), MigrationPhase.CUTOVER)
    assert len([c for c in found if c.part == "dms"]) == 1


def test_decommission_keeps_only_the_operator_and_the_load_balancer_paths() -> None:
    parts = {c.part for c in crossings(phase_config("dev", MigrationPhase.DECOMMISSION), MigrationPhase.DECOMMISSION)}
    assert "dms" not in parts and "datasync_endpoint" not in parts
