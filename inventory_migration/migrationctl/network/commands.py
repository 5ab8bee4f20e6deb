"""``network check``: arguments, and the wiring of :mod:`.crossings` and :mod:`.analysis` to the account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inventory_migration.config import ConfigError, OnPremConnectivity, load_config
from inventory_migration.config.environment import phased
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.contracts.phases import MigrationPhase
from inventory_migration.migrationctl.arguments import SubParsers
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.errors import ExitCode, UsageError
from inventory_migration.migrationctl.network import analysis
from inventory_migration.migrationctl.network.crossings import Crossing, crossings


def _phase(ctx: Context, outputs: dict[str, Any]) -> MigrationPhase:
    text = ctx.args.phase or str(outputs.get(StackOutput.MIGRATION_PHASE.value, ""))
    allowed = [p.value for p in MigrationPhase]
    if text not in allowed:
        raise UsageError(f"phase {text!r} unknown: give --phase (allowed: {', '.join(allowed)}) or the stack's outputs")
    return MigrationPhase(text)


def _interface(ec2: Any, outputs: dict[str, Any], vpc_id: str, crossing: Crossing) -> str:
    """The part's end of the path: the DataSync endpoint itself, else a network interface of the part's group."""
    if crossing.part == "datasync_endpoint" and outputs.get(StackOutput.DATASYNC_ENDPOINT_ID.value):
        return str(outputs[StackOutput.DATASYNC_ENDPOINT_ID.value])
    group = (outputs.get(StackOutput.SECURITY_GROUP_IDS.value) or {}).get(crossing.part, "")
    return analysis.interface_of(ec2, vpc_id, group) if group else ""


def cmd_check(ctx: Context) -> ExitCode:
    outputs = ctx.stack_outputs()
    vpc_id = str(outputs.get(StackOutput.VPC_ID.value, ""))
    if not vpc_id:
        raise UsageError("--stack-outputs with the applied stack's outputs is required (`terraform output -json`)")
    try:
        config = load_config(ctx.args.env)
    except ConfigError as error:
        raise UsageError(str(error).splitlines()[0]) from None
    phase = _phase(ctx, outputs)
    config = phased(config, phase)
    ec2 = ctx.client("ec2")
    lines = [f"network check: {config.environment}, phase {phase.value}, VPC {vpc_id}"]
    tunnel_rows: list[dict[str, Any]] = []
    problems = 0
    vpn = str(outputs.get(StackOutput.VPN_CONNECTION_ID.value, ""))
    if vpn:
        on_prem_gateway, tunnels = analysis.vpn(ec2, vpn)
        for t in tunnels:
            tunnel_rows.append({"address": t.address, "up": t.up, "message": t.message})
            problems += not t.up
            lines.append(
                f"  {'up' if t.up else 'DOWN':<14} VPN {vpn} tunnel {t.address}" + (f": {t.message}" if t.message else "")
            )
        if tunnel_rows and not any(t["up"] for t in tunnel_rows):
            lines.append("  ! no tunnel is up: nothing crosses the VPN, whatever the paths below say")
    elif config.network.connectivity is OnPremConnectivity.TRANSIT_GATEWAY:
        on_prem_gateway = config.network.transit_gateway_id
        lines.append(f"  {'-':<14} Transit Gateway {on_prem_gateway}: its links on-prem are the network team's, not checked")
    else:
        raise UsageError("the outputs name no VPN connection (vpn_connection_id) and the environment no Transit Gateway")
    internet_gateway = analysis.internet_gateway_of(ec2, vpc_id)
    findings = []
    for crossing in crossings(config, phase):
        interface = _interface(ec2, outputs, vpc_id, crossing)
        gateway = analysis.gateway_for(crossing, on_prem=on_prem_gateway, internet=internet_gateway)
        if not interface or not gateway:
            lacking = f"no network interface of {crossing.part}" if not interface else "no gateway on the VPC's edge"
            findings.append(analysis.Finding(crossing, False, (f"not analysed: {lacking}",)))
            continue
        findings.append(analysis.analyse(ec2, crossing, interface=interface, gateway=gateway))
    for f in findings:
        problems += not f.reachable
        lines.append(f"  {'reachable' if f.reachable else 'NOT REACHABLE':<14} {f.crossing.label}")
        lines += [f"      {why}" for why in f.why]
    reachable = sum(f.reachable for f in findings)
    up = sum(1 for t in tunnel_rows if t["up"])
    summary = f"paths: {reachable} of {len(findings)} reachable (each analysed path deleted)"
    if tunnel_rows:
        summary += f"; tunnels up: {up} of {len(tunnel_rows)}"
    lines.append(summary if not problems else f"NOT PROVEN: {problems} finding(s); {summary}")
    ctx.emit(
        {
            "environment": config.environment,
            "phase": phase.value,
            "tunnels": tunnel_rows,
            "paths": [
                {
                    "flow": f.crossing.flow,
                    "address": f.crossing.address,
                    "protocol": f.crossing.protocol,
                    "port": f.crossing.port,
                    "reachable": f.reachable,
                    "why": list(f.why),
                }
                for f in findings
            ],
        },
        "\n".join(lines),
    )
    return ExitCode.FINDINGS if problems else ExitCode.OK


def register(sub: SubParsers) -> None:
    """``network check``."""
    network = sub.add_parser("network", help="the network in the account: VPN tunnels, and every path that leaves the VPC")
    commands = network.add_subparsers(dest="network_command", required=True, metavar="SUBCOMMAND")
    p = commands.add_parser(
        "check",
        help="VPN tunnel telemetry, and Reachability Analyzer on every required flow that crosses the VPN or leaves the VPC"
        " (0.10 USD per path; each path deleted after)",
    )
    p.add_argument("--stack-outputs", type=Path, required=True, help="`terraform output -json` of the applied stack")
    p.add_argument("--env", help="environment file (default: $MIGRATION_ENV, then dev)")
    p.add_argument("--phase", choices=[ph.value for ph in MigrationPhase], help="phase (default: the outputs' migration_phase)")
    p.set_defaults(handler=cmd_check)
