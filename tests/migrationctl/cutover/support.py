"""Helpers the tests of this directory share (from test_cutover.py)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import psycopg
from botocore.stub import Stubber

from harness.night import workload as wl
from inventory_migration.migrationctl import cli
from inventory_migration.migrationctl.cutover import freeze
from inventory_migration.migrationctl.cutover.replication import DmsReplication, NativeReplication
from inventory_migration.migrationctl.cutover.settings import Settings
from inventory_migration.migrationctl.pg.slots import FORWARD_NAME, lsn_value, slot_position, sync_point
from inventory_migration.migrationctl.polling import poll

FORWARD_ARN = "arn:aws:dms:us-east-1:123456789012:task:FORWARDTASK"


REVERSE_ARN = "arn:aws:dms:us-east-1:123456789012:task:REVERSETASK"


ROOT = Path(__file__).resolve().parents[3]


def dms_backend(**kwargs: Any) -> tuple[DmsReplication, Stubber]:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    client = session.client("dms")
    stub = Stubber(client)
    backend = DmsReplication(
        dms=client,
        cloudwatch=session.client("cloudwatch"),
        forward_task_arn=FORWARD_ARN,
        poll_seconds=0,
        timeout_seconds=5,
        **kwargs,
    )
    return backend, stub


def task(arn: str, status: str) -> dict[str, Any]:
    return {"ReplicationTasks": [{"ReplicationTaskArn": arn, "Status": status}]}


def describe(stub: Stubber, arn: str, status: str) -> None:
    stub.add_response(
        "describe_replication_tasks", task(arn, status), {"Filters": [{"Name": "replication-task-arn", "Values": [arn]}]}
    )


class Shop:
    """The shop database on both servers of a pair, replicated forward natively, verified, app role read-only on the
    target: the state of the night just before the window."""

    def __init__(self, pair: Any, name: str, state_dir: Path) -> None:
        self.pair = pair
        self.name = name
        self.source_dsn = pair.source.dsn(f"{name}_src")
        self.target_dsn = pair.target.dsn(f"{name}_tgt")
        self.state_dir = state_dir

    def app(self, side: str) -> str:
        server, db = (self.pair.source, f"{self.name}_src") if side == "source" else (self.pair.target, f"{self.name}_tgt")
        return str(server.dsn(db, user=wl.ROLE, password=wl.ROLE_PASSWORD))

    def setup(self) -> Shop:
        self.pair.source.psql("postgres", f"CREATE DATABASE {self.name}_src")
        self.pair.target.psql("postgres", f"CREATE DATABASE {self.name}_tgt")
        for server in {id(self.pair.source): self.pair.source, id(self.pair.target): self.pair.target}.values():
            server.psql("postgres", wl.role_sql())
        self.pair.source.psql(f"{self.name}_src", wl.SCHEMA_SQL + wl.SEED_SQL.format(customers=600, orders=800, lines=1600))
        self.pair.source.psql(f"{self.name}_src", wl.GRANTS_SQL)
        assert cli.main(["--no-progress", "schema", "pre-data", self.source_dsn, self.target_dsn]) == 0
        self.backend().setup_forward(copy_data=True)
        wait(self.backend().initial_copy_done, "initial copy")
        assert cli.main(["--no-progress", "schema", "post-data", self.source_dsn, self.target_dsn]) == 0
        self.pair.target.psql(f"{self.name}_tgt", wl.READ_GRANTS_SQL)  # reads only until the cutover opens it
        self.caught_up()
        argv = ["--no-progress", "verify", "--app-roles", wl.ROLE, self.source_dsn, self.target_dsn]
        assert cli.main(argv, io.StringIO()) == 0
        return self

    def backend(self) -> NativeReplication:
        return NativeReplication(source_dsn=self.source_dsn, target_dsn=self.target_dsn)

    def caught_up(self) -> None:
        with psycopg.connect(self.source_dsn, autocommit=True) as conn:
            goal = sync_point(conn)
            wait(lambda: lsn_value(slot_position(conn, FORWARD_NAME)[0] or "0/0") >= lsn_value(goal), "forward replication")  # type: ignore[index]

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "source_dsn": self.source_dsn,
            "target_dsn": self.target_dsn,
            "app_roles": (wl.ROLE,),
            "backend": self.backend(),
            "state_dir": self.state_dir,
            "drain_timeout": 20.0,
            "say": lambda _line: None,
        }
        return Settings(**(values | overrides))

    def insert(self, side: str) -> int:
        with psycopg.connect(self.app(side)) as conn:
            return int(
                conn.execute(
                    "INSERT INTO shop.orders (customer_id, client_ref, status) VALUES (1, gen_random_uuid(), 'new') RETURNING id"
                ).fetchone()[0]  # type: ignore[index]
            )

    def has_order(self, side: str, order_id: int) -> bool:
        dsn = self.source_dsn if side == "source" else self.target_dsn
        with psycopg.connect(dsn) as conn:
            return bool(conn.execute("SELECT 1 FROM shop.orders WHERE id = %s", (order_id,)).fetchone())

    def writable(self, side: str) -> bool:
        dsn = self.source_dsn if side == "source" else self.target_dsn
        with psycopg.connect(dsn, autocommit=True) as conn:
            return freeze.can_write(conn, wl.ROLE)

    def identity(self, side: str) -> str:
        """``shop.order_event.id``'s kind on that side: ``a`` (GENERATED ALWAYS) or ``d`` (BY DEFAULT)."""
        dsn = self.source_dsn if side == "source" else self.target_dsn
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT attidentity::text FROM pg_attribute WHERE attrelid = 'shop.order_event'::regclass AND attname = 'id'"
            ).fetchone()
            assert row is not None
            return str(row[0])


def wait(predicate: Any, what: str, timeout: float = 60) -> None:
    poll(predicate, timeout=timeout, interval=0.05, timed_out=lambda: AssertionError(f"timed out waiting for {what}"))


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--no-progress", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def shop_has_customer(shop: Shop, email: str) -> bool:
    with psycopg.connect(shop.target_dsn) as conn:
        return bool(conn.execute("SELECT 1 FROM shop.customer WHERE email = %s", (email,)).fetchone())
