"""The night's cast: the two servers, the emulator's load balancer, the application's workload and the runs of
``migrationctl`` (each the real command in its own process), with the checks the scenario and its faults share."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg

from harness.aws.clients import REGION, client
from harness.night import dms as dms_night
from harness.night import workload as wl
from harness.night import writers
from harness.postgres import PostgresServer
from inventory_migration.contracts.names import REVERSE_SLOT_NAME
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.cutover import freeze
from inventory_migration.migrationctl.cutover import switch as switch_mod
from inventory_migration.migrationctl.cutover.journal import KILL_ENV
from inventory_migration.migrationctl.pg.slots import FORWARD_NAME, REVERSE_NAME, lsn_value, slot_position, sync_point
from inventory_migration.migrationctl.polling import poll
from inventory_migration.migrationctl.records import JOURNAL_DIR, STATE_DIR
from inventory_migration.migrationctl.state import parse_state

ROOT = Path(__file__).resolve().parents[2]
STATE_BUCKET, STATE_PREFIX = "rehearsal-state", "night"
"""Where the night's runs keep their state (``--state s3://...``, the emulator's S3)."""
ACKS_FILE = "acks.jsonl"
"""Every acknowledged commit of the night, one JSON object per line (:class:`~harness.night.workload.Ack`)."""
FREEZE_STEPS = {"freeze": "blue", "freeze-green": "green"}
"""The step of each operation that freezes a side, and the side."""
DATABASE = "shop"


class Replication(StrEnum):
    """What replicates in both directions on the night."""

    DMS = "dms"
    """DMS tasks in the emulator, run by the stand-in (harness/dms), driven by ``migrationctl --backend dms``."""
    NATIVE = "native"
    """PostgreSQL publications and subscriptions (``--backend native``)."""


def log(message: str) -> None:
    print(f"[night {dt.datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


class RehearsalFailed(RuntimeError):
    """The night did not go as it must."""


def wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for ``predicate`` (polled every 0.1 s); :class:`RehearsalFailed` after ``timeout`` seconds."""
    poll(predicate, timeout=timeout, interval=0.1, timed_out=lambda: RehearsalFailed(f"timed out waiting for {what}"))


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


class Night:
    """The servers, the emulator, the workload and the runs of migrationctl."""

    def __init__(
        self,
        workdir: Path,
        source: PostgresServer,
        target: PostgresServer,
        endpoint: str,
        outputs: dict[StackOutput, str],
        *,
        replication: Replication = Replication.DMS,
    ):
        self.workdir = workdir
        self.replication = replication
        self.tasks: dms_night.DmsTasks | None = None
        """The DMS tasks (``Replication.DMS``), once the initial copy has handed over to them."""
        self.source = source
        self.target = target
        self.endpoint = endpoint
        self.outputs = outputs
        self.outputs_file = workdir / "stack-outputs.json"
        self.outputs_file.write_text(json.dumps({k.value: {"value": v} for k, v in outputs.items()}, indent=2))
        self.listener = switch_mod.Listener(
            listener_arn=outputs[StackOutput.HTTPS_LISTENER_ARN],
            blue_target_group_arn=outputs[StackOutput.BLUE_TARGET_GROUP_ARN],
            green_target_group_arn=outputs[StackOutput.GREEN_TARGET_GROUP_ARN],
        )
        self.elbv2 = client(endpoint, "elbv2")
        self.cloudwatch = client(endpoint, "cloudwatch")
        self.s3 = client(endpoint, "s3")
        self.s3.create_bucket(Bucket=STATE_BUCKET)
        self.state = parse_state(f"s3://{STATE_BUCKET}/{STATE_PREFIX}", cache=workdir / STATE_DIR)
        """Every run keeps its journal and records in the emulator's S3, as the runbook does in the stack's bucket."""
        self.operations: list[Operation] = []
        self.faults: list[dict[str, Any]] = []
        self.workload: wl.Workload | None = None
        self.router: wl.Router | None = None

    def record_fault(self, name: str, outcome: str, **facts: Any) -> None:
        """A fault case's outcome, in the report and the log."""
        self.faults.append({"case": name, "outcome": outcome, **facts})
        log(f"fault {name}: {outcome}")

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

    @property
    def journal_dir(self) -> Path:
        """The local working copy of the journals (where the snapshot holders' files are too)."""
        return self.state.local / JOURNAL_DIR

    def switch_args(self, *extra: str) -> list[str]:
        return [
            "--state",
            str(self.state),
            "--app-roles",
            wl.ROLE,
            *(self.tasks.switch_args() if self.tasks else ["--backend", "native"]),
            "--stack-outputs",
            str(self.outputs_file),
            "--drain-timeout",
            "30",
            *extra,
        ]

    def journal(self, operation: str) -> dict[str, Any]:
        """The operation's journal as the state in S3 holds it."""
        try:
            body = self.s3.get_object(Bucket=STATE_BUCKET, Key=self.state.key(f"{JOURNAL_DIR}/{operation}.json"))["Body"]
        except self.s3.exceptions.NoSuchKey:
            return {}
        return dict(json.loads(body.read()))

    def run_operation(
        self, operation: str, label: str, *extra: str, fault: str = "", kill_after: float | None = None
    ) -> Operation:
        """One run of ``migrationctl operation``; ``fault``: killed right after that step's work (the journal not yet
        updated); ``kill_after``: killed that many seconds after it started, wherever it is (inside a step)."""
        env = {KILL_ENV: f"{operation}:{fault}"} if fault else {}
        started = time.time()
        if kill_after is None:
            proc = self.migrationctl(operation, *self.switch_args(*extra), **env)
            code, output = proc.returncode, proc.stdout + proc.stderr
        else:
            code, output = self._killed_after(kill_after, operation, *self.switch_args(*extra))
        op = Operation(operation, label, started, time.time(), code, self.journal(operation), fault, output)
        self.operations.append(op)
        return op

    def _killed_after(self, seconds: float, *args: str) -> tuple[int, str]:
        with subprocess.Popen(
            [sys.executable, "-m", "inventory_migration.migrationctl.cli", "--no-progress", *args],
            cwd=self.workdir,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as proc:
            timer = threading.Timer(seconds, proc.kill)
            timer.start()
            output, _ = proc.communicate(timeout=600)
            timer.cancel()
            return proc.returncode, output

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

    def sql_quietly(self, server: PostgresServer, statement: str) -> None:
        """Clean-up SQL whose objects may be gone already (each statement on its own; errors ignored)."""
        with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn:
            for part in statement.split(";"):
                if part.strip():
                    with contextlib.suppress(psycopg.Error):
                        conn.execute(part)

    def frozen(self, server: PostgresServer) -> bool:
        """The application cannot write there."""
        with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn:
            return not freeze.can_write(conn, wl.ROLE)

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
        wait(native.initial_copy_done, 120, "the initial copy")
        self.step_ok("schema post-data", self.migrationctl("schema", "post-data"))
        # pre-data copies no grant: roles copy carries them, the application's reads only until the cutover opens
        # Aurora (its writes held back). The role itself exists on both servers already, with its password.
        if self.replication is Replication.DMS:
            dms_night.on_prem_users(self.source_dsn)
        self.step_ok("roles copy", self.migrationctl("roles", "copy", "--app-roles", wl.ROLE, "--apply"))
        for server in (self.source, self.target):  # the replication's own record of what it applied (never two writers)
            server.psql(DATABASE, writers.APPLY_LOG_SQL)
        wait(self.forward_caught_up, 60, "forward replication to catch up")
        self.step_ok("verify", self.migrationctl("verify", "--app-roles", wl.ROLE, "--state", str(self.state)))
        if self.replication is Replication.DMS:
            self.tasks = dms_night.hand_over(self.endpoint, self.source, self.target, DATABASE)
            wait(lambda: dms_night.task_status(self.endpoint, self.tasks.forward_arn) == "running", 60, "the DMS task")  # type: ignore[union-attr]
            log(f"replication: DMS tasks on the stand-in (stop time {dms_night.stop_seconds():.0f} s), slot {self.forward_slot}")

    def step_ok(self, label: str, proc: subprocess.CompletedProcess[str]) -> None:
        if proc.returncode != 0:
            raise RehearsalFailed(f"{label}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
        log(f"{label}: {proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else 'ok'}")

    @property
    def forward_slot(self) -> str:
        return dms_night.FORWARD_SLOT if self.tasks else FORWARD_NAME

    @property
    def reverse_slot(self) -> str:
        return REVERSE_SLOT_NAME if self.tasks else REVERSE_NAME

    def wait_forward_applied(self, timeout: float = 240.0) -> None:
        """On DMS, before a case that runs a cutover without its catch-up (``--catch-up-timeout 0``): a fence row
        written on-prem, waited for on Aurora, writes flowing, as the cutover's catch-up does. A forward task resumed by
        a rollback starts with blue's backlog, which would otherwise be drained under the freeze."""
        if self.tasks:
            self._fence_through(self.source_dsn, self.target_dsn, "source", "forward task caught up", timeout)

    def _fence_through(self, left_dsn: str, other_dsn: str, side: str, what: str, timeout: float) -> None:
        """A fence row written on ``left_dsn`` and waited for on ``other_dsn``: everything committed there before it
        has been *applied* (a slot's confirmed position says only what was read: DMS confirms before applying)."""
        from inventory_migration.migrationctl.pg import fence

        token = f"night {what}@{time.time():.6f}"
        with psycopg.connect(left_dsn, autocommit=True) as left, psycopg.connect(other_dsn, autocommit=True) as other:
            fence.write(left, token, side)
            log(f"{what} in {fence.wait_visible(other, token, timeout):.1f} s (fence row from {side})")

    def forward_caught_up(self) -> bool:
        with psycopg.connect(self.source_dsn, autocommit=True) as conn:
            position = slot_position(conn, self.forward_slot)
            return position is not None and position[0] is not None and lsn_value(position[0]) >= lsn_value(sync_point(conn))

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
            with (self.workdir / ACKS_FILE).open("w") as out:  # the per-write record, kept whatever happened
                for ack in self.workload.stats.acks:
                    out.write(json.dumps(dataclasses.asdict(ack)) + "\n")

    def writes_for(self, seconds: float, colour: str) -> None:
        """Let the application write for ``seconds``: its commits must land on ``colour`` only. No time window is
        assumed for the application to notice a switch: any commit *begun* now on the other side is a finding, and
        ``colour`` must take some commits within a generous deadline (a slow reconnect is not a failure)."""
        assert self.workload is not None
        workload, other = self.workload, {"blue": "green", "green": "blue"}[colour]
        since = time.time()
        time.sleep(seconds)

        def landed() -> bool:
            with workload._lock:
                return sum(1 for a in workload.stats.acks if a.began >= since and a.database == colour) >= 10

        wait(landed, 60, f"the application to write on {colour}")
        with workload._lock:
            wrong = [a for a in workload.stats.acks if a.began >= since and a.database == other]
        if wrong:
            first = wrong[0].began
            raise RehearsalFailed(f"writes expected on {colour} only; {len(wrong)} began on {other} (first at {first:.3f})")

    def live_verify(self) -> dict[str, Any]:
        """``verify --live`` under the application's load: equal with nothing injected; then three differences made on
        the target behind replication's back — a row changed, a row deleted, a sequence set back — each named; then
        repaired."""
        clean = self.migrationctl("--output", "json", "verify", "--live", "--app-roles", wl.ROLE, "--state", str(self.state))
        if clean.returncode != 0:
            raise RehearsalFailed(
                f"verify --live under load, nothing injected: exit {clean.returncode}\n{clean.stdout[-3000:]}{clean.stderr}"
            )
        report = json.loads(clean.stdout)
        self.sql(
            self.target,
            "SET session_replication_role = replica; UPDATE shop.orders SET total = total + 1 WHERE id = 3;"
            "DELETE FROM shop.order_line WHERE id = 5; SELECT setval('shop.customer_id_seq', 1)",
        )
        found = self.migrationctl("--output", "json", "verify", "--live", "--data-only", "--state", str(self.state))
        injected = json.loads(found.stdout) if found.stdout.strip().startswith("{") else {}
        tables = {t["table"]: t for t in injected.get("tables", [])}
        named = (
            found.returncode == 1
            and "changed: 3" in tables.get("shop.orders", {}).get("differing_ranges", [])
            and "missing: 5" in tables.get("shop.order_line", {}).get("differing_ranges", [])
            and any(s.startswith("shop.customer_id_seq: target 1,") for s in injected.get("sequences_behind", []))
        )
        if not named:
            raise RehearsalFailed(
                f"verify --live must name the three injected differences:\n{found.stdout[-3000:]}{found.stderr}"
            )
        with psycopg.connect(self.source_dsn) as source:
            total = source.execute("SELECT total FROM shop.orders WHERE id = 3").fetchone()[0]  # type: ignore[index]
            line = source.execute("SELECT id, order_id, sku, qty, price FROM shop.order_line WHERE id = 5").fetchone()
        with psycopg.connect(self.target_dsn, autocommit=True) as target:
            target.execute("SET session_replication_role = replica")
            target.execute("UPDATE shop.orders SET total = %s WHERE id = 3", (total,))
            target.execute("INSERT INTO shop.order_line (id, order_id, sku, qty, price) VALUES (%s, %s, %s, %s, %s)", line)
        return {
            "in_flight": report.get("in_flight", 0),
            "rows": report.get("rows_compared", 0),
            "seconds": report.get("seconds", 0),
            "named": "orders 3 changed, order_line 5 missing, shop.customer_id_seq behind",
        }

    # ------------------------------------------------------------------------------------------------ the end

    def writer_findings(self, acks: list[wl.Ack]) -> list[str]:
        """Never two writers (:mod:`.writers`): from the application's acknowledged commits, the replication's apply
        log on each side and the freezes the journals recorded."""
        writes = [writers.Write(side=a.database, began=a.began, at=a.at) for a in acks]
        ops = sorted(self.operations, key=lambda o: o.started)
        windows = [
            writers.Window(label=f"{op.label} ({op.name})", start=op.started, end=nxt.started if nxt else float("inf"))
            for op, nxt in zip(ops, [*ops[1:], None], strict=True)
        ]
        frozen: dict[str, set[float]] = {"blue": set(), "green": set()}
        for op in ops:
            for step, (_start, end, _s) in op.steps().items():
                if step in FREEZE_STEPS:
                    frozen[FREEZE_STEPS[step]].add(end)
        problems = writers.writer_changes(writes, windows)
        for colour, server in (("blue", self.source), ("green", self.target)):
            with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn:
                problems += writers.stale_applies(colour, writers.applied(conn), writes, frozen[colour])
        return problems

    def drain_way_back(self) -> None:
        """After the last cutover, let the way back apply everything so both sides can be compared in full."""
        self._fence_through(self.target_dsn, self.source_dsn, "target", "the way back drained", 120)


# --------------------------------------------------------------------------------------------- main
