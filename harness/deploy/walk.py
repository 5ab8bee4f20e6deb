"""The deploy rehearsal: every phase of one environment applied to a local AWS emulator, each re-planned empty and
checked, each transition's plan held to the phase table, then destroyed to nothing.

``make rehearse [ENV=dev|prod]`` runs :func:`main`; ``tests/harness/test_deploy_rehearsal.py`` runs the same :class:`Rehearsal`.

1. Start the patched emulator on a free loopback port (bounded lifetime, always stopped).
2. Write the environment's configuration into a work directory, with the emulator's certificate, and point
   ``MIGRATION_CONFIG_DIR`` / ``MIGRATION_REHEARSAL_*`` at it (rehearsal mode: local endpoint, local state).
3. ``npx cdktf deploy --auto-approve`` of the first phase: the users' own command (cdktf.json's app, Node 22).
4. Check through boto3 what matters, from the emulator (:mod:`harness.deploy.checks`).
5. ``terraform plan -detailed-exitcode`` after every apply: no changes.
6. Each next phase of :data:`WALK`: one config edit, synthesize, ``plan -out``, hold ``show -json`` of the plan to the
   transition's intended change set, apply that plan, re-plan empty, check.
7. ``npx cdktf destroy --auto-approve``, then list every resource type we create: nothing left.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from harness.deploy import tomlfile
from harness.deploy.commands import COMMAND_TIMEOUT, CommandTimedOut, failure_excerpt, run_logged, tail_lines
from inventory_migration.config import MigrationConfig
from inventory_migration.contracts.phases import MigrationPhase
from inventory_migration.devtools.change_sets import Action, ResourceChange, plan_changes, violations
from inventory_migration.stacks.rehearsal_mode import REHEARSAL_ACCOUNT_ID, RehearsalMode

P = MigrationPhase
WALK: tuple[MigrationPhase, ...] = (
    P.FOUNDATION,
    P.FULL_LOAD,
    P.CDC,
    P.CUTOVER,
    P.ROLLBACK_WINDOW,
    P.CDC,
    P.CUTOVER,
    P.ROLLBACK_WINDOW,
    P.DECOMMISSION,
)
"""In order to the switch, back to ``cdc`` (a rollback), then forward to the end."""
LEGS: tuple[tuple[MigrationPhase, ...], ...] = (
    (P.FOUNDATION, P.FULL_LOAD, P.CDC, P.CUTOVER),
    (P.CUTOVER, P.ROLLBACK_WINDOW, P.CDC),
    (P.ROLLBACK_WINDOW, P.DECOMMISSION),
)
"""The walk's transitions in three legs, each on its own emulator, run side by side (the applies mostly wait on the
provider's polling): every transition of :data:`WALK` is in one of them. A leg that starts after ``foundation`` starts
with a fresh deploy directly in that phase (``force_phase_transition``, as a sandbox rebuilt in a later phase would),
into an account that already has DMS's account roles (:meth:`Rehearsal.account_roles_exist`)."""
TRANSIT_GATEWAY_LEGS = frozenset({1})
"""Legs (by index in :data:`LEGS`) deployed over a Transit Gateway instead of the site-to-site VPN: the account has a
gateway whose VPN attachment carries the on-prem networks (:meth:`Rehearsal.transit_gateway_exists`); the emulator,
as AWS, refuses a VPC route to a gateway the VPC is not attached to, and the applied network's analysis reads what the
gateway's route table carries on-prem."""
_SYNTH_LOCK = threading.Lock()
"""One jsii kernel per process: the legs synthesize one at a time."""
REHEARSAL_LSN = "0/1A2B3C4D"
"""The reverse task's start position in the rehearsal (``migrationctl cutover`` records the real one)."""
REHEARSAL_AGENT_ARN = f"arn:aws:datasync:us-east-1:{REHEARSAL_ACCOUNT_ID}:agent/agent-0123456789abcdef0"
REHEARSAL_DNS_SERVERS = ["192.168.0.2"]
REHEARSAL_DNS_DOMAINS = ["corp.internal"]
SECOND_PASS_PATHS = ("files/*", "monitoring/dashboard", "monitoring/datasync-*", "monitoring/cutover-blocked")
"""What the second pass of the first deploy may touch: it adds the DataSync agent's side (locations, task, its rule and
metric), and the dashboard and alarms that show the task."""
ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_PARALLELISM = 30
INSTALL_FLAKE = "it is still not detected in"
"""Terraform's own words when ``init`` linked the provider from the mirror and then did not find it ("this is a bug
in Terraform", hashicorp/terraform#26562; seen once in CI with three legs initialising side by side). The known
remedy, taken once per command: remove the stack's ``.terraform/providers`` and run the command again."""

NOT_REHEARSED: Mapping[str, str] = {}
"""Resource types of the stack that the rehearsal cannot apply, with the reason (the goal, and today's state: none)."""


class RehearsalFailed(RuntimeError):
    """A step of the rehearsal did not do what the runbook says."""


@dataclasses.dataclass
class Step:
    """One timed step, for the summary."""

    name: str
    phase: str
    seconds: float
    detail: str = ""


@dataclasses.dataclass
class Report:
    """What a rehearsal did: steps, resources per phase, changes per transition, destroy result."""

    environment: str
    steps: list[Step] = dataclasses.field(default_factory=list)
    resources_per_phase: dict[str, int] = dataclasses.field(default_factory=dict)
    transitions: list[tuple[str, str, dict[str, int]]] = dataclasses.field(default_factory=list)
    left_after_destroy: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    destroyed: int = 0
    patches: list[str] = dataclasses.field(default_factory=list)
    checks: list[str] = dataclasses.field(default_factory=list)
    datasync_first_pass: dict[str, str] = dataclasses.field(default_factory=dict)
    """The first pass of the first deploy: what the agent's activation is given (endpoint id, IP, subnet, group)."""
    datasync_second_pass: dict[str, int] = dataclasses.field(default_factory=dict)
    """The second pass: what adding the agent changed."""
    retried: list[str] = dataclasses.field(default_factory=list)
    """Commands run a second time after Terraform's provider-install flake (:data:`INSTALL_FLAKE`)."""

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def render(self) -> str:
        phases = len(self.transitions) + 1
        lines = [f"deploy rehearsal of {self.environment}: {phases} phases applied, {len(self.transitions)} transitions"]
        lines.append("\nresources applied per phase:")
        lines += [f"  {phase:<16} {count:>4}" for phase, count in self.resources_per_phase.items()]
        lines.append("\nchanges per transition (besides retagging; from the plan, all as the phase table intends):")
        for previous, current, counts in self.transitions:
            summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "none"
            lines.append(f"  {previous:>15} -> {current:<15} {summary}")
        if self.datasync_first_pass:
            lines.append(f"\nfirst deploy, pass 1 (no DataSync agent): activation outputs {self.datasync_first_pass}")
            lines.append(f"first deploy, pass 2 (agent added): {self.datasync_second_pass}")
        lines.append(
            f"\ndestroy: {self.destroyed} resources destroyed; left behind: {sum(map(len, self.left_after_destroy.values()))}"
        )
        lines.append(
            f"not rehearsed: {len(NOT_REHEARSED)} resource type(s)" + "".join(f"\n  {t}: {r}" for t, r in NOT_REHEARSED.items())
        )
        if self.retried:
            lines.append(f"retried after Terraform's provider-install flake: {len(self.retried)}")
            lines += [f"  {command}" for command in self.retried]
        lines.append(f"emulator gaps patched (test-only launcher): {len(self.patches)}")
        lines += [f"  {p}" for p in self.patches]
        lines.append("\nseconds per step:")
        lines += [f"  {s.seconds:7.1f}  {s.name:<28} {s.phase:<16} {s.detail}" for s in self.steps]
        lines.append(f"  {self.total_seconds:7.1f}  total")
        return "\n".join(lines)


def _progress(message: str) -> None:
    print(f"[rehearse {dt.datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class Rehearsal:
    """One rehearsal of one environment in ``workdir``."""

    environment: str
    workdir: Path
    progress: Callable[[str], None] = _progress
    walk: tuple[MigrationPhase, ...] = WALK
    transit_gateway: bool = False
    """Deploy over a Transit Gateway the account already has (else the stack's site-to-site VPN)."""
    report: Report = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.report = Report(self.environment)
        self.config_dir = self.workdir / "config"
        self.outdir = self.workdir / "cdktf.out"
        self.state = self.workdir / "terraform.tfstate"
        self.stack_dir = self.outdir / "stacks" / f"inventory-migration-{self.environment}"
        self.transit_gateway_id = ""

    # ----------------------------------------------------------------------------------------- plumbing

    @contextlib.contextmanager
    def step(self, name: str, phase: MigrationPhase | None = None, detail: str = "") -> Iterator[Step]:
        label = phase.value if phase else ""
        self.progress(f"{name} {label}".strip() + " …")
        record = Step(name, label, 0.0, detail)
        started = time.monotonic()
        try:
            yield record
        finally:
            record.seconds = time.monotonic() - started
            self.report.steps.append(record)
            self.progress(f"{name} {label}".strip() + f": {record.seconds:.1f} s {record.detail}".rstrip())

    def env(self) -> dict[str, str]:
        assert self.mode is not None
        # cdktf.json's app runs scripts/in-venv (the project's .venv, no pipenv needed; pipenv only without a .venv).
        path = ":".join(
            (
                str(ROOT / "node_modules" / ".bin"),
                str(Path(sys.executable).parent),
                os.environ.get("PATH", ""),
                str(ROOT / ".build" / "tools" / "bin"),
            )
        )
        return {
            **os.environ,
            **self.mode.environ(),
            "PATH": path,
            "MIGRATION_ENV": self.environment,
            "MIGRATION_CONFIG_DIR": str(self.config_dir),
            "TF_CLI_CONFIG_FILE": str(self.cli_config),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            "AWS_ACCESS_KEY_ID": "rehearsal",
            "AWS_SECRET_ACCESS_KEY": "rehearsal",
            "AWS_DEFAULT_REGION": "us-east-1",
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        }

    def run(
        self,
        *command: str,
        cwd: Path | None = None,
        ok_codes: tuple[int, ...] = (0,),
        timeout: float = COMMAND_TIMEOUT,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env(), **(extra_env or {})}
        log = (
            self.workdir
            / "logs"
            / f"{len(self.report.steps):02d}-{Path(command[0]).name}-{command[1] if len(command) > 1 else ''}.log"
        )
        try:
            proc = run_logged(command, cwd=cwd or ROOT, env=env, log=log, timeout=timeout)
            if proc.returncode not in ok_codes and INSTALL_FLAKE in proc.stdout + proc.stderr:
                self.report.retried.append(" ".join(command[:4]))
                shutil.rmtree(self.stack_dir / ".terraform" / "providers", ignore_errors=True)
                proc = run_logged(command, cwd=cwd or ROOT, env=env, log=log, timeout=timeout)
        except CommandTimedOut as hung:
            raise RehearsalFailed(str(hung) + self._emulator_said("the emulator's last lines", r".")) from None
        if proc.returncode not in ok_codes:
            raise RehearsalFailed(
                f"{' '.join(command[:3])} exited {proc.returncode}; see {log}\n{failure_excerpt(proc.stdout + proc.stderr)}"
                + self._emulator_said("the emulator's last error answers", r".*emulator: \S+ [45]\d\d")
            )
        return proc

    def _emulator_said(self, title: str, pattern: str) -> str:
        lines = [line for line in tail_lines(self.workdir / "logs" / "emulator.log") if re.match(pattern, line)]
        return f"\n{title}:\n" + "\n".join(lines[-8:]) if lines else ""

    def terraform(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        return self.run("terraform", *args, "-no-color", cwd=self.stack_dir, ok_codes=ok_codes)

    # ----------------------------------------------------------------------------------------- the scenario

    def execute(self, endpoint: str, *, cli_config: Path) -> Report:
        from harness.aws.clients import import_certificate
        from harness.aws.moto_patches import PATCHES

        self.mode = RehearsalMode(endpoint=endpoint, state_path=str(self.state))
        self.cli_config = cli_config
        self.report.patches = [f"{p.service}: {p.gap}" for p in PATCHES]
        first_deploy = self.walk[0] is MigrationPhase.FOUNDATION
        with self.step("prepare"):
            self.certificate_arn = import_certificate(endpoint)
            self.transit_gateway_id = self.transit_gateway_exists(endpoint) if self.transit_gateway else ""
            self.write_config(self.walk[0], None, agent=not first_deploy)
        if not first_deploy:
            self.account_roles_exist(endpoint)
        with self.step("cdktf deploy", self.walk[0], "(npx cdktf deploy --auto-approve)"):
            self.run(
                "npx",
                "--no-install",
                "cdktf",
                "deploy",
                "--auto-approve",
                "--skip-provider-lock",
                "--output",
                str(self.outdir),
                "--terraform-parallelism",
                str(TERRAFORM_PARALLELISM),
            )
        self.after_apply(self.walk[0])
        if first_deploy:
            self.second_pass()
        for previous, current in zip(self.walk, self.walk[1:], strict=False):
            self.transition(previous, current)
        self.destroy()
        return self.report

    def transit_gateway_exists(self, endpoint: str) -> str:
        """A Transit Gateway in the account, with a VPN attachment and a static route for each on-prem network of the
        environment toward it (what the network team runs); its id."""
        from harness.aws.clients import client

        ec2 = client(endpoint, "ec2")
        gateway = ec2.create_transit_gateway(Description="the network team's")["TransitGateway"]
        customer = ec2.create_customer_gateway(BgpAsn=65000, PublicIp="198.51.100.77", Type="ipsec.1")["CustomerGateway"]
        ec2.create_vpn_connection(
            CustomerGatewayId=customer["CustomerGatewayId"],
            Type="ipsec.1",
            TransitGatewayId=gateway["TransitGatewayId"],
            Options={"StaticRoutesOnly": True},
        )
        (vpn,) = ec2.describe_transit_gateway_attachments(
            Filters=[
                {"Name": "transit-gateway-id", "Values": [gateway["TransitGatewayId"]]},
                {"Name": "resource-type", "Values": ["vpn"]},
            ]
        )["TransitGatewayAttachments"]
        data = tomllib.loads((ROOT / "config" / f"{self.environment}.toml").read_text(encoding="utf-8"))
        for cidr in data.get("network", {}).get("on_prem_cidrs", ["192.168.0.0/16"]):
            ec2.create_transit_gateway_route(
                DestinationCidrBlock=cidr,
                TransitGatewayRouteTableId=gateway["Options"]["AssociationDefaultRouteTableId"],
                TransitGatewayAttachmentId=vpn["TransitGatewayAttachmentId"],
            )
        self.report.checks = sorted({*self.report.checks, "transit gateway: routes wait for the VPC's attachment"})
        return str(gateway["TransitGatewayId"])

    def account_roles_exist(self, endpoint: str) -> None:
        """A leg that starts after ``foundation`` deploys into an account that already has DMS's account roles (another
        stack made them): ``preflight --account-roles``'s check names the conflict, the configuration says
        ``create_account_roles = false``, and the deploy uses the roles as they are (the emulator, as AWS, refuses
        DMS's subnet group without ``dms-vpc-role`` and its policy)."""
        from harness.aws.clients import client
        from inventory_migration.migrationctl.database.account_roles import check_account_roles
        from inventory_migration.migrationctl.database.preflight import Severity
        from inventory_migration.synth.naming import DMS_ACCOUNT_ROLES

        iam = client(endpoint, "iam")
        with self.step("account roles", None, "(dms-vpc-role and dms-cloudwatch-logs-role made before the deploy)"):
            missing = check_account_roles(iam, create=False)
            trust = json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "dms.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                }
            )
            for name, policy in DMS_ACCOUNT_ROLES.items():
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
                iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:aws:iam::aws:policy/service-role/{policy}")
            conflicting = check_account_roles(iam, create=True)
            usable = check_account_roles(iam, create=False)
            expected = (
                all(f.severity is Severity.BLOCKER and "is missing" in f.message for f in missing)
                and all(f.severity is Severity.BLOCKER and "already exists" in f.message for f in conflicting)
                and all(f.severity is Severity.INFO for f in usable)
            )
            if not expected:
                found = [f.message for f in missing + conflicting + usable]
                raise RehearsalFailed("preflight --account-roles did not see the account as it is:\n" + "\n".join(found))
        self.report.checks = sorted({*self.report.checks, "account roles: preflight detects them; deployed with them"})

    def config(self) -> MigrationConfig:
        """The configuration the walk deployed last."""
        from inventory_migration.config import load_config

        return load_config(self.environment, config_dir=self.config_dir, environ={})

    def write_config(self, phase: MigrationPhase, previous: MigrationPhase | None, *, agent: bool = True) -> None:
        """The environment's file for ``phase``; ``agent`` False is the first pass of the first deploy: no DataSync agent
        yet, only its endpoint."""
        data = tomllib.loads((ROOT / "config" / f"{self.environment}.toml").read_text(encoding="utf-8"))
        data["migration_phase"] = phase.value
        data.pop("previous_phase", None)
        data.pop("force_phase_transition", None)
        if previous is not None:
            data["previous_phase"] = previous.value
        elif phase is not MigrationPhase.FOUNDATION:
            data["force_phase_transition"] = True  # a leg that starts in a later phase
        data.setdefault("dms", {})["reverse_cdc_start_position"] = REHEARSAL_LSN
        if self.walk[0] is not MigrationPhase.FOUNDATION:
            data["dms"]["create_account_roles"] = False  # the account has them (:meth:`account_roles_exist`)
        data.setdefault("app", {})["certificate_arn"] = self.certificate_arn
        files = data.setdefault("files", {})
        files.pop("agent_activation_key", None)
        files.pop("agent_arn", None)
        if agent:
            files["agent_arn"] = REHEARSAL_AGENT_ARN
        # The optional on-prem DNS forwarding, so the resolver endpoint and its rules are applied (and in the matrix).
        network = data.setdefault("network", {})
        if self.transit_gateway:
            network.update(connectivity="transit-gateway", transit_gateway_id=self.transit_gateway_id)
        network.setdefault("on_prem_dns_servers", REHEARSAL_DNS_SERVERS)
        network.setdefault("on_prem_domains", REHEARSAL_DNS_DOMAINS)
        data.setdefault("backend", {})["kind"] = "local"  # rehearsal mode ignores it; keeps the file valid without a bucket
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / f"{self.environment}.toml").write_text(tomlfile.dumps(data), encoding="utf-8")

    def synth(self) -> None:
        """Synthesize the current config into the stack directory, as ``cdktf synth`` would: the same ``build_app``
        with the same environment, in this process (the provider bindings are imported once, not once per phase)."""
        from inventory_migration.synth.runtime import use_supported_node

        use_supported_node()  # before the first cdktf import: jsii picks its Node when it starts
        from inventory_migration.app import build_app

        with _SYNTH_LOCK:  # one jsii kernel per process: legs run side by side, their synths one at a time
            app, _stack, _config = build_app(outdir=str(self.outdir), environ=self.env())
            app.synth()

    def after_apply(self, phase: MigrationPhase) -> None:
        from harness.deploy import checks

        state = json.loads(self.terraform("show", "-json").stdout)
        resources = [r for r in state.get("values", {}).get("root_module", {}).get("resources", []) if r["mode"] == "managed"]
        self.report.resources_per_phase.setdefault(phase.value, len(resources))
        with self.step("re-plan", phase, "(plan -detailed-exitcode: must be 0)"):
            result = self.terraform(
                "plan", "-detailed-exitcode", "-input=false", f"-parallelism={TERRAFORM_PARALLELISM}", ok_codes=(0, 2)
            )
            if result.returncode == 2:
                raise RehearsalFailed(f"{phase.value}: the plan after apply is not empty:\n{_plan_summary(result.stdout)}")
        with self.step("checks", phase) as record:
            try:
                done = checks.check_phase(self.mode.endpoint, phase, state, self.config())
            except checks.CheckFailed as failed:
                raise RehearsalFailed(f"{phase.value}: check failed: {failed}") from None
            record.detail = f"({len(done)} checks)"
            self.report.checks = sorted(set(self.report.checks) | set(done))

    def transition(self, previous: MigrationPhase, current: MigrationPhase) -> None:
        with self.step("synth", current):
            self.write_config(current, previous)
            self.synth()
        with self.step("plan", current) as record:
            # The re-plan after the last apply has just refreshed everything and found nothing: no second refresh.
            self.terraform("plan", "-input=false", "-refresh=false", "-out=phase.tfplan", f"-parallelism={TERRAFORM_PARALLELISM}")
            plan = json.loads(self.terraform("show", "-json", "phase.tfplan").stdout)
            changes = plan_changes(plan)
            problems = violations(changes, previous, current, image_agent=self.config().files.agent_configured)
            counts = _counts(changes)
            record.detail = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
            if problems:
                raise RehearsalFailed(
                    f"{previous.value} -> {current.value}: the plan is not what the phase table says:\n" + "\n".join(problems)
                )
            self.report.transitions.append((previous.value, current.value, counts))
        with self.step("apply", current):
            self.terraform("apply", "-input=false", f"-parallelism={TERRAFORM_PARALLELISM}", "phase.tfplan")
        self.after_apply(current)

    def second_pass(self) -> None:
        """The first deploy's second pass: the agent, activated on-prem against the endpoint the first pass made, goes
        into the configuration; the plan may only add the DataSync side and update what shows it."""
        phase = MigrationPhase.FOUNDATION
        outputs = json.loads(self.terraform("output", "-json").stdout)
        needed = (
            "datasync_endpoint_id",
            "datasync_endpoint_private_ip",
            "datasync_endpoint_subnet_arn",
            "datasync_endpoint_security_group_arn",
        )
        missing = [name for name in needed if not outputs.get(name, {}).get("value")]
        if missing or "datasync_task_arn" in outputs:
            raise RehearsalFailed(f"first pass: activation outputs missing {missing} or a task already exists")
        self.report.datasync_first_pass = {name: outputs[name]["value"] for name in needed}
        with self.step("synth", phase, "(second pass: the DataSync agent)"):
            self.write_config(phase, None, agent=True)
            self.synth()
        with self.step("plan", phase) as record:
            self.terraform("plan", "-input=false", "-refresh=false", "-out=phase.tfplan", f"-parallelism={TERRAFORM_PARALLELISM}")
            changes = plan_changes(json.loads(self.terraform("show", "-json", "phase.tfplan").stdout))
            stray = [
                f"{c.address}: {c.action.value}"
                for c in changes
                if c.action is not Action.RETAG and not any(fnmatch.fnmatchcase(c.path, p) for p in SECOND_PASS_PATHS)
            ]
            removed = [c.address for c in changes if c.action in (Action.DELETE, Action.REPLACE)]
            if stray or removed:
                raise RehearsalFailed("second pass: the plan touches more than the DataSync side:\n" + "\n".join(stray + removed))
            counts = _counts(changes)
            record.detail = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
            self.report.datasync_second_pass = counts
        with self.step("apply", phase):
            self.terraform("apply", "-input=false", f"-parallelism={TERRAFORM_PARALLELISM}", "phase.tfplan")
        self.after_apply(phase)

    def destroy(self) -> None:
        from harness.deploy import checks

        with self.step("cdktf destroy", self.walk[-1], "(npx cdktf destroy --auto-approve)"):
            before = len(
                json.loads(self.terraform("show", "-json").stdout).get("values", {}).get("root_module", {}).get("resources", [])
            )
            self.run(
                "npx",
                "--no-install",
                "cdktf",
                "destroy",
                "--auto-approve",
                "--skip-provider-lock",
                "--output",
                str(self.outdir),
                "--terraform-parallelism",
                str(TERRAFORM_PARALLELISM),
            )
            self.report.destroyed = before
        with self.step("leftovers"):
            self.report.left_after_destroy = checks.leftovers(self.mode.endpoint)
            left = {k: v for k, v in self.report.left_after_destroy.items() if v}
            if left:
                raise RehearsalFailed(f"destroy left resources behind: {json.dumps(left, indent=1)}")


def _counts(changes: list[ResourceChange]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in changes:
        if change.action is not Action.RETAG:
            counts[change.action.value] = counts.get(change.action.value, 0) + 1
    retagged = sum(1 for c in changes if c.action is Action.RETAG)
    if retagged:
        counts["retag"] = retagged
    return counts


def _plan_summary(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip().startswith(("#", "~", "+", "-", "Plan:"))]
    return "\n".join(lines[:120])


def cli_config_for_mirror(workdir: Path) -> Path:
    from inventory_migration.devtools.terraform_cli import find_provider_mirror, write_cli_config

    mirror = find_provider_mirror()
    if mirror is None or shutil.which("terraform") is None:
        raise RehearsalFailed("terraform not on PATH or no hashicorp/aws 5.x filesystem mirror found")
    return write_cli_config(mirror, workdir / "terraform.tfrc")


def rehearse(
    environment: str,
    workdir: Path,
    *,
    progress: Callable[[str], None] = _progress,
    walk: tuple[MigrationPhase, ...] = WALK,
    transit_gateway: bool = False,
) -> Report:
    """Run the whole rehearsal against a fresh emulator; raise :class:`RehearsalFailed` at the first deviation."""
    from harness.aws.emulator import running_emulator

    workdir.mkdir(parents=True, exist_ok=True)
    rehearsal = Rehearsal(environment, workdir, progress=progress, walk=walk, transit_gateway=transit_gateway)
    cli_config = cli_config_for_mirror(workdir)
    with contextlib.ExitStack() as stack:
        with rehearsal.step("start emulator"):
            emulator = stack.enter_context(running_emulator(workdir / "logs" / "emulator.log"))
        return rehearsal.execute(emulator.endpoint, cli_config=cli_config)


def rehearse_legs(
    environment: str,
    workdir: Path,
    *,
    legs: tuple[tuple[MigrationPhase, ...], ...] = LEGS,
    progress: Callable[[str], None] = _progress,
) -> list[Report]:
    """The legs side by side, each with its own emulator and work directory; raise the first leg's failure."""

    def leg(i: int) -> Report:
        def tagged(line: str) -> None:
            progress(f"[leg {i + 1}] {line}")

        return rehearse(
            environment, workdir / f"leg-{i + 1}", progress=tagged, walk=legs[i], transit_gateway=i in TRANSIT_GATEWAY_LEGS
        )

    with concurrent.futures.ThreadPoolExecutor(len(legs), thread_name_prefix="leg") as pool:
        futures = [pool.submit(leg, i) for i in range(len(legs))]
        return [f.result() for f in futures]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rehearse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("environment", nargs="?", default="dev", help="environment to rehearse (default: dev)")
    parser.add_argument(
        "--workdir", type=Path, help="keep the work directory here (default: a temporary one, removed on success)"
    )
    parser.add_argument(
        "--sequential", action="store_true", help="the whole walk on one emulator, one phase after the other (slower)"
    )
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rehearse-"))
    started = time.monotonic()
    try:
        reports = [rehearse(args.environment, workdir)] if args.sequential else rehearse_legs(args.environment, workdir)
    except RehearsalFailed as failure:
        print(f"REHEARSAL FAILED: {failure}\n(work directory kept: {workdir})", file=sys.stderr)
        return 1
    for report in reports:
        print(report.render())
    print(f"\nwhole rehearsal: {time.monotonic() - started:.0f} s")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
