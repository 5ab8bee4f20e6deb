"""The night's hostile cases: writers that try to outlast the freeze (a prepared transaction, a batch role nobody
named, sessions that lift a read-only default), writers that reach ``shop.orders`` by paths nobody listed, and a
cutover resumed after a delay in which one of its gates turned false. The generated ones are seeded; the seed is in the
fault's outcome.

Privilege paths (the kinds :mod:`harness.privilege_graphs` generates, applied to the night's schema): a write grant to
PUBLIC, a column-level INSERT, a ``SECURITY DEFINER`` function the migration user owns (EXECUTE left to PUBLIC), a
view the migration user owns with INSERT granted on it, a grant passed on ``WITH GRANT OPTION``, and a ``NOINHERIT``
member that must ``SET ROLE`` to its writing group. A pool per path reconnects every 10 ms and writes through it; every
write a pool saw acknowledged must be on Aurora after the cutover (judged by the databases, not by clocks), and the
rollback must give every ACL back exactly.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
import uuid

import psycopg

from harness.night import workload as wl
from harness.night.night import DATABASE, Night, RehearsalFailed
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.cutover import freeze
from inventory_migration.migrationctl.cutover.steps import CUTOVER_STEPS, GATE_STEP, OPENS_TARGET
from inventory_migration.migrationctl.pg.grants import acl_snapshot

PASSWORD = "hostile-password-1"
VALUES = "(1, %(ref)s, 'new')"
"""Each write carries its own ``client_ref`` (made by the pool): an acknowledged write is found by it on either side."""
HOSTILE_INSERT = f"INSERT INTO shop.orders (customer_id, client_ref, status) VALUES {VALUES}"


@dataclasses.dataclass(frozen=True)
class Path:
    """One way to write ``shop.orders``: the SQL that opens it, the login role that uses it, and the write."""

    kind: str
    setup: str
    role: str
    write: str
    teardown: str


def _paths() -> list[Path]:
    cols = "customer_id, client_ref, status"
    return [
        Path(
            "a grant to PUBLIC",
            f"GRANT INSERT ON shop.orders TO PUBLIC; CREATE ROLE h_public LOGIN PASSWORD '{PASSWORD}'",
            "h_public",
            HOSTILE_INSERT,
            "REVOKE INSERT ON shop.orders FROM PUBLIC; DROP ROLE IF EXISTS h_public",
        ),
        Path(
            "a column-level INSERT",
            f"CREATE ROLE h_column LOGIN PASSWORD '{PASSWORD}'; GRANT INSERT ({cols}) ON shop.orders TO h_column",
            "h_column",
            HOSTILE_INSERT,
            f"REVOKE INSERT ({cols}) ON shop.orders FROM h_column; DROP ROLE IF EXISTS h_column",
        ),
        Path(
            "a SECURITY DEFINER function of the migration user",
            "CREATE FUNCTION shop.h_order(ref uuid) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$ INSERT INTO "
            f"shop.orders ({cols}) VALUES (1, ref, 'new') $$; CREATE ROLE h_definer LOGIN PASSWORD '{PASSWORD}'",
            "h_definer",
            "SELECT shop.h_order(%(ref)s)",
            "DROP FUNCTION IF EXISTS shop.h_order(uuid); DROP ROLE IF EXISTS h_definer",
        ),
        Path(
            "a view of the migration user",
            f"CREATE VIEW shop.h_entry AS SELECT {cols} FROM shop.orders; "
            f"CREATE ROLE h_view LOGIN PASSWORD '{PASSWORD}'; GRANT INSERT ON shop.h_entry TO h_view",
            "h_view",
            f"INSERT INTO shop.h_entry ({cols}) VALUES {VALUES}",
            "DROP VIEW IF EXISTS shop.h_entry; DROP ROLE IF EXISTS h_view",
        ),
        Path(
            "a grant passed on WITH GRANT OPTION",
            "CREATE ROLE h_lead NOLOGIN; GRANT INSERT ON shop.orders TO h_lead WITH GRANT OPTION; "
            f"CREATE ROLE h_chain LOGIN PASSWORD '{PASSWORD}'; SET ROLE h_lead; GRANT INSERT ON shop.orders TO h_chain; "
            "RESET ROLE",
            "h_chain",
            HOSTILE_INSERT,
            "REVOKE INSERT ON shop.orders FROM h_lead CASCADE; DROP ROLE IF EXISTS h_chain; DROP ROLE IF EXISTS h_lead",
        ),
        Path(
            "a NOINHERIT member that sets its role",
            "CREATE ROLE h_group NOLOGIN; GRANT INSERT ON shop.orders TO h_group; "
            f"CREATE ROLE h_noinherit LOGIN NOINHERIT PASSWORD '{PASSWORD}' IN ROLE h_group",
            "h_noinherit",
            f"SET ROLE h_group; {HOSTILE_INSERT}",
            "REVOKE INSERT ON shop.orders FROM h_group; DROP ROLE IF EXISTS h_noinherit; DROP ROLE IF EXISTS h_group",
        ),
    ]


def _pool(dsn: str, write: str, stop: threading.Event, committed: list[str], *, hold: float = 0.0) -> None:
    """Reconnect every 10 ms, lift a read-only default and write, holding the transaction open ``hold`` seconds before
    COMMIT; keep the ``client_ref`` of every write whose commit was acknowledged."""
    while not stop.is_set():
        ref = str(uuid.uuid4())
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=2) as conn:
                conn.execute("SET default_transaction_read_only = off")
                conn.execute("BEGIN READ WRITE")
                for statement in write.split("; "):  # SET ROLE first where the path needs it
                    conn.execute(statement, {"ref": ref} if "%(ref)s" in statement else None)
                time.sleep(hold)
                conn.execute("COMMIT")
                committed.append(ref)
        except psycopg.Error:
            pass
        time.sleep(0.01)


def _missing(dsn: str, refs: list[str]) -> int:
    """How many of ``refs`` (acknowledged writes) are not in ``shop.orders`` at ``dsn``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute("SELECT count(*) FROM shop.orders WHERE client_ref = ANY(%s::uuid[])", (refs,)).fetchone()
    return len(refs) - int(found[0] if found else 0)


def privilege_paths(night: Night, *, seed: int | None = None) -> None:
    seed = random.SystemRandom().randrange(1_000_000) if seed is None else seed
    chosen = random.Random(seed).sample(_paths(), k=4)
    source = night.source
    # What every path needs besides its write: the schema, the sequences, and the order_event row the orders trigger
    # writes as the invoker (a PUBLIC write grant of its own, frozen and given back like the others).
    common = (
        "GRANT USAGE ON SCHEMA shop TO PUBLIC; GRANT USAGE ON ALL SEQUENCES IN SCHEMA shop TO PUBLIC; "
        "GRANT INSERT ON shop.order_event TO PUBLIC"
    )
    night.sql(source, common)
    for path in chosen:
        night.sql(source, path.setup)
    stop = threading.Event()
    writes: dict[str, list[str]] = {p.kind: [] for p in chosen}
    try:
        with psycopg.connect(night.source_dsn, autocommit=True) as conn:
            acl_before = acl_snapshot(conn)
            me = freeze.me(conn)
            named = sorted(r for r in freeze.writers(conn) if r not in (me, wl.ROLE))
        pools = [
            threading.Thread(
                target=_pool,
                args=(source.dsn(DATABASE, user=p.role, password=PASSWORD), p.write, stop, writes[p.kind]),
                daemon=True,
            )
            for p in chosen
        ]
        for pool in pools:
            pool.start()
        try:
            time.sleep(0.5)
            night.expect(
                night.run_operation("cutover", "cutover with generated privilege paths", "--freeze-roles", ",".join(named)),
                0,
            )
            time.sleep(0.5)
        finally:
            stop.set()
            for pool in pools:
                pool.join(10)
        # Judged by the databases, not by clocks: every write a hostile pool saw acknowledged is on Aurora, so none
        # committed on the source after the fence (it would never have been replicated).
        lost = {kind: _missing(night.target_dsn, refs) for kind, refs in writes.items()}
        silent = [kind for kind, refs in writes.items() if not refs]
        if any(lost.values()) or silent:
            raise RehearsalFailed(
                f"seed {seed}: acknowledged writes not on Aurora after the cutover {lost}; paths that never wrote {silent}"
            )
        night.writes_for(1.0, "green")
        night.expect(night.run_operation("rollback", "rollback after the privilege paths", "--freeze-roles", ",".join(named)), 0)
        with psycopg.connect(night.source_dsn, autocommit=True) as conn:
            changed = acl_before ^ acl_snapshot(conn)
        if changed:
            raise RehearsalFailed(f"seed {seed}: the rollback did not give the ACLs back exactly: {sorted(changed)[:5]}")
        night.writes_for(1.0, "blue")
    finally:
        stop.set()
        for path in chosen:
            for server in (night.source, night.target):
                night.sql_quietly(server, path.teardown)
        for server in (night.source, night.target):
            night.sql_quietly(
                server,
                "REVOKE INSERT ON shop.order_event FROM PUBLIC; REVOKE USAGE ON SCHEMA shop FROM PUBLIC; "
                "REVOKE USAGE ON ALL SEQUENCES IN SCHEMA shop FROM PUBLIC",
            )
    night.record_fault(
        "writers through generated privilege paths",
        f"seed {seed}: {', '.join(p.kind for p in chosen)}: "
        + ", ".join(f"{len(ts)}" for ts in writes.values())
        + " acknowledged commits, every one on Aurora after the cutover; the rollback gave every ACL back exactly",
    )


BATCH, WRITERS = "shop_batch", "shop_writers"
"""A batch job's login role and the group it writes through: not an application role (``--app-roles``)."""


def freeze_lifters(night: Night) -> None:
    """Writers the freeze must stop for good: a prepared transaction and a batch role nobody named stop the gates;
    once named, the batch role (through its group) and the application's sessions that ``SET
    default_transaction_read_only = off`` and reconnect every 10 ms lose no acknowledged write: each is on Aurora after
    the cutover (judged by the databases, not by clocks)."""
    source = night.source
    source.psql(
        DATABASE,
        f"CREATE ROLE {WRITERS} NOLOGIN; CREATE ROLE {BATCH} LOGIN PASSWORD '{BATCH}-password-1' IN ROLE {WRITERS};"
        f"GRANT USAGE ON SCHEMA shop TO {WRITERS}; GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA shop TO {WRITERS};"
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA shop TO {WRITERS};",
    )
    try:
        with psycopg.connect(night.source_dsn) as conn:
            conn.execute(HOSTILE_INSERT, {"ref": str(uuid.uuid4())})
            conn.execute("PREPARE TRANSACTION 'rehearsal-prepared'")
        op = night.expect(night.run_operation("cutover", "cutover with a prepared transaction"), 1)
        if "no prepared transaction on the source" not in op.output or op.journal:
            raise RehearsalFailed(f"a prepared transaction must stop the gates:\n{op.output}")
        night.sql(source, "ROLLBACK PREPARED 'rehearsal-prepared'")
        op = night.expect(night.run_operation("cutover", "cutover with an unnamed batch role"), 1)
        if f"{BATCH}: " not in op.output or op.journal:
            raise RehearsalFailed(f"a writer nobody named must stop the gates:\n{op.output}")
        stop = threading.Event()
        app_writes: list[str] = []
        batch_writes: list[str] = []
        app_dsn = source.dsn(DATABASE, user=wl.ROLE, password=wl.ROLE_PASSWORD)
        batch_dsn = source.dsn(DATABASE, user=BATCH, password=f"{BATCH}-password-1")
        pools = [
            threading.Thread(target=_pool, args=(app_dsn, HOSTILE_INSERT, stop, app_writes), kwargs={"hold": 0.005}, daemon=True),
            threading.Thread(
                target=_pool, args=(batch_dsn, HOSTILE_INSERT, stop, batch_writes), kwargs={"hold": 0.005}, daemon=True
            ),
        ]
        for pool in pools:
            pool.start()
        try:
            time.sleep(0.5)
            op = night.expect(night.run_operation("cutover", "cutover with hostile writers", "--freeze-roles", BATCH), 0)
        finally:
            stop.set()
            for pool in pools:
                pool.join(10)
        lost = _missing(night.target_dsn, app_writes + batch_writes)
        if lost or not batch_writes or not app_writes:
            raise RehearsalFailed(
                f"{lost} acknowledged hostile commit(s) not on Aurora after the cutover; "
                f"{len(app_writes)} app, {len(batch_writes)} batch acknowledged"
            )
        ended = op.journal["steps"]["freeze"]["result"]["sessions_ended"]
        night.writes_for(1.0, "green")
        night.expect(night.run_operation("rollback", "rollback after the hostile writers", "--freeze-roles", BATCH), 0)
        night.writes_for(1.0, "blue")
    finally:
        night.sql(source, f"REVOKE ALL ON ALL TABLES IN SCHEMA shop FROM {WRITERS}")
        night.sql(source, f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA shop FROM {WRITERS}")
        night.sql(source, f"REVOKE ALL ON SCHEMA shop FROM {WRITERS}")
        night.sql(source, f"DROP ROLE IF EXISTS {BATCH}")
        night.sql(source, f"DROP ROLE IF EXISTS {WRITERS}")
    night.record_fault(
        "writers that try to outlast the freeze",
        "a prepared transaction and an unnamed batch role each refused by a gate (exit 1, nothing changed); then "
        f"{len(app_writes)} application and {len(batch_writes)} batch commits (through a group, SET read_only off, "
        f"reconnecting every 10 ms) acknowledged, every one on Aurora after the cutover; {ended} session(s) ended",
    )


RESUMABLE = CUTOVER_STEPS[CUTOVER_STEPS.index(GATE_STEP) + 1 : CUTOVER_STEPS.index(OPENS_TARGET)]
"""Cutover steps after which a kill leaves a run to resume before its switch."""


def resumed_after_a_gate_turned_false(night: Night, *, seed: int | None = None) -> None:
    """A cutover killed after a (seeded) step before its switch, left while the cutover-blocked alarm fires: the resumed
    run evaluates the gates of every step still to run, is refused (exit 1) and changes nothing; once the alarm
    clears, it resumes and finishes."""
    seed = random.SystemRandom().randrange(1_000_000) if seed is None else seed
    step = random.Random(seed).choice(RESUMABLE)
    op = night.run_operation("cutover", f"cutover killed after {step}", fault=step)
    if op.exit_code != -9:
        raise RehearsalFailed(f"the kill after {step} did not happen: exit {op.exit_code}\n{op.output}")
    alarm = night.outputs[StackOutput.CUTOVER_BLOCKED_ALARM_NAME]
    night.cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="rehearsal: fired while it was down")
    try:
        before = {k: v.get("status") for k, v in night.journal("cutover").get("steps", {}).items()}
        refused = night.expect(night.run_operation("cutover", "cutover resumed while the alarm fires"), 1)
        after = {k: v.get("status") for k, v in night.journal("cutover").get("steps", {}).items()}
        if "gate FAIL no cutover-blocked alarm" not in refused.output or before != after:
            raise RehearsalFailed(f"seed {seed}: a resume after a gate turned false must be refused:\n{refused.output}")
        if night.weights() != {"blue": 100, "green": 0} or not night.frozen(night.target):
            raise RehearsalFailed(f"seed {seed}: the refused resume changed the switch")
    finally:
        night.cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="rehearsal")
    night.expect(night.run_operation("cutover", "cutover resumed once the alarm cleared"), 0)
    night.writes_for(1.0, "green")
    night.expect(night.run_operation("rollback", "rollback after the resumed cutover"), 0)
    night.writes_for(1.0, "blue")
    night.record_fault(
        "a cutover resumed after a gate turned false",
        f"seed {seed}: killed after {step}; the alarm fired meanwhile: the resume was refused (exit 1, journal and "
        "switch unchanged); resumed once it cleared, and finished",
    )
