"""The whole cutover on DMS's semantics: migrationctl's DMS backend driving stand-in tasks (harness/dms) between real
PostgreSQL servers, an application writing all along. The forward task takes its time to stop and applies while
stopping; the switch does not wait for it: write unavailability stays far under the stop time, and the forward task
applies nothing after green's first write (its apply log)."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import psycopg
import pytest

from harness.dms.api import StandInCloudWatch, StandInDms, task_arn
from harness.dms.standin import StandInSettings, StandInTask, apply_exceptions_ddl
from harness.night.dms import ensure_role, grant_applier
from inventory_migration.contracts.names import REVERSE_SLOT_NAME
from inventory_migration.migrationctl.cutover import operations
from inventory_migration.migrationctl.cutover.journal import DONE
from inventory_migration.migrationctl.cutover.replication import DmsReplication
from inventory_migration.migrationctl.pg import fence
from tests.migrationctl.cutover.support import Shop, wait

APPLIER, PASSWORD = "dms_applier", "applier-password-1"
REVERSE_USER = "dms_reverse"
"""The way back's user on-prem: a superuser, as session_replication_role needs on PostgreSQL 13."""
DMS_SLOT = "dms_forward"
STOP_SECONDS = 10.0
"""The stand-in's stop time here (30 s by default, as real tasks take; 10 s keeps the test short). The unavailability
must stay under half of it: the switch did not wait for a stop (the ≤ 3 s target is make bench-cutover's, measured
alone; here the machine runs the rest of make check beside it, and the stand-in commits every CommitTimeout, 1 s)."""


class _App(threading.Thread):
    """The application: one order at a time on whichever side lets it write, reconnecting when its session ends."""

    def __init__(self, shop: Shop) -> None:
        super().__init__(daemon=True)
        self.shop, self.stop, self.acks = shop, threading.Event(), []  # type: list[tuple[float, str]]
        self.side = "source"
        self.error = ""

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with psycopg.connect(self.shop.app(self.side), autocommit=True, connect_timeout=2) as conn:
                    while not self.stop.is_set():
                        conn.execute(
                            "INSERT INTO shop.orders (customer_id, client_ref, status) VALUES (1, gen_random_uuid(), 'new')"
                        )
                        self.acks.append((time.time(), self.side))
                        time.sleep(0.002)
            except psycopg.errors.InsufficientPrivilege as error:
                self.error = f"{self.side}: {error}"
                self.side = "target" if self.side == "source" else "source"
                time.sleep(0.002)
            except psycopg.OperationalError as error:  # the freeze ended the session
                self.error = f"{self.side}: {error}"
                time.sleep(0.002)
            except psycopg.Error as error:  # anything else: kept for the failure's message, and tried again
                self.error = f"{type(error).__name__}: {error}"
                time.sleep(0.01)

    def longest_gap(self) -> float:
        times = [t for t, _side in self.acks]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def _to_dms(shop: Shop) -> tuple[StandInTask, StandInTask, DmsReplication]:
    """The shop as production runs it: DMS's slot on the source, its task writing Aurora as its own user."""
    shop.caught_up()
    shop.backend().stop_forward()  # the rehearsal's native replication hands over to the stand-in
    for dsn in (shop.source_dsn, shop.target_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            fence.ensure(conn)
            conn.execute(apply_exceptions_ddl())
    with psycopg.connect(shop.target_dsn, autocommit=True) as conn:
        ensure_role(conn, APPLIER, PASSWORD, "LOGIN REPLICATION")
        grant_applier(conn, APPLIER, ("shop", "migration_control"))
    with psycopg.connect(shop.source_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (DMS_SLOT,))
        ensure_role(conn, REVERSE_USER, PASSWORD, "SUPERUSER LOGIN")
    as_applier = psycopg.conninfo.make_conninfo(str(shop.target_dsn), user=APPLIER, password=PASSWORD)
    common: dict[str, Any] = dict(schemas=("shop", "migration_control"), poll_seconds=0.01, reconnect_seconds=0.2)
    forward = StandInTask(
        StandInSettings(
            task_name="forward",
            source_dsn=str(shop.source_dsn),
            target_dsn=as_applier,
            slot=DMS_SLOT,
            stop_seconds=STOP_SECONDS,
            **common,
        )
    )
    reverse = StandInTask(
        StandInSettings(
            task_name="forward-reverse",
            source_dsn=as_applier,
            target_dsn=psycopg.conninfo.make_conninfo(str(shop.source_dsn), user=REVERSE_USER, password=PASSWORD),
            slot=REVERSE_SLOT_NAME,
            stop_seconds=STOP_SECONDS,
            **common,
        )
    )
    dms = StandInDms({"forward": forward, "forward-reverse": reverse})
    backend = DmsReplication(
        dms=dms,
        cloudwatch=StandInCloudWatch(dms),
        forward_task_arn=task_arn("forward"),
        reverse_task_arn=task_arn("forward-reverse"),
        forward_slot=DMS_SLOT,
        poll_seconds=0.05,
        timeout_seconds=60,
    )
    forward.start()
    wait(backend.forward_running, "the forward task")
    return forward, reverse, backend


@pytest.mark.wide  # a minute of cutover and rollback under load: make check runs it (both pairs)
def test_the_switch_waits_for_no_dms_stop_and_the_forward_task_lands_nothing_on_open_green(shop: Shop) -> None:
    forward, reverse, backend = _to_dms(shop)
    app = _App(shop)
    app.start()
    try:
        try:
            wait(lambda: len(app.acks) > 50, "the application writing on-prem")
        except AssertionError as error:
            raise AssertionError(f"{error}; its last error: {app.error}") from None
        try:
            journal = operations.cutover(
                shop.settings(
                    backend=backend, dms_target_user=APPLIER, reverse_user=REVERSE_USER, exempt_roles=(REVERSE_USER,), elbv2=None
                )
            )
        except Exception as error:
            raise AssertionError(f"{error}: {_exceptions(shop)}") from error
        wait(lambda: any(side == "target" for _t, side in app.acks), "the application writing on Aurora")
        time.sleep(0.5)
        app.stop.set()
        app.join(10)
        assert journal.status == DONE, journal.data
        assert journal.data["steps"]["verify"]["result"]["equal"] is True
        first_green = min(t for t, side in app.acks if side == "target")
        late = [entry for entry in forward.apply_log if entry[2] >= first_green]
        assert late == [], f"the forward task applied {len(late)} transaction(s) after green's first write"
        gap = app.longest_gap()
        print(
            f"write unavailability {gap:.2f} s (the stand-in's stop: {STOP_SECONDS:.0f} s, run after the switch); "
            f"{len(app.acks)} acknowledged commits; steps (s): "
            + ", ".join(f"{name} {step['seconds']}" for name, step in journal.data["steps"].items())
        )
        assert gap < STOP_SECONDS / 2
        wait(lambda: shop.has_order("source", _last_green_order(shop)), "the way back (reverse stand-in)")
        _and_back(shop, backend, forward)
    finally:
        app.stop.set()
        for task in (forward, reverse):
            task.stop()
        for task in (forward, reverse):
            task.join(STOP_SECONDS + 5)
        with psycopg.connect(shop.source_dsn, autocommit=True) as conn:  # a superuser left able to log in is a writer
            conn.execute(f"ALTER ROLE {REVERSE_USER} NOLOGIN")  # of every database of the server: other tests' gates


def _and_back(shop: Shop, backend: DmsReplication, forward: StandInTask) -> None:
    """The rollback on the same stand-ins: the way back drained, blue writable, the forward task resumed."""
    app = _App(shop)
    app.side = "target"
    app.start()
    try:
        wait(lambda: len(app.acks) > 50, "the application writing on Aurora")
        journal = operations.rollback(
            shop.settings(
                backend=backend, dms_target_user=APPLIER, reverse_user=REVERSE_USER, exempt_roles=(REVERSE_USER,), elbv2=None
            )
        )
        wait(lambda: any(side == "source" for _t, side in app.acks[-5:]), "the application writing on-prem again")
    finally:
        app.stop.set()
        app.join(10)
    assert journal.status == DONE, journal.data
    assert journal.data["steps"]["verify"]["result"]["equal"] is True
    gap = app.longest_gap()
    print(
        f"rollback: write unavailability {gap:.2f} s; fence-reverse {journal.data['steps']['fence-reverse']['result']}; "
        "steps (s): " + ", ".join(f"{name} {step['seconds']}" for name, step in journal.data["steps"].items())
    )
    assert "stopped_instead" not in journal.data["steps"]["fence-reverse"]["result"]
    assert gap < STOP_SECONDS / 2
    wait(lambda: shop.has_order("target", _last_order(shop, "source")), "forward replication resumed")


def _last_order(shop: Shop, side: str) -> int:
    with psycopg.connect(shop.source_dsn if side == "source" else shop.target_dsn, autocommit=True) as conn:
        return int(conn.execute("SELECT max(id) FROM shop.orders").fetchone()[0])  # type: ignore[index]


def _last_green_order(shop: Shop) -> int:
    with psycopg.connect(shop.target_dsn, autocommit=True) as conn:
        return int(conn.execute("SELECT max(id) FROM shop.orders").fetchone()[0])  # type: ignore[index]


def _exceptions(shop: Shop) -> list[tuple[Any, ...]]:
    """What the forward task could not apply (for a failure's message)."""
    with psycopg.connect(shop.target_dsn, autocommit=True) as conn:
        return conn.execute("SELECT table_name, statement, error FROM public.awsdms_apply_exceptions").fetchall()
