"""A stand-in for the application during the cutover rehearsal: writes through whichever database the load balancer
points at, and logs every acknowledged commit so that nothing lost or written twice can hide.

* **Routing** like a client with a cached lookup: a poller reads the listener's weights every ``poll_seconds`` and each
  transaction picks blue (on-prem) or green (Aurora) by those weights.
* **Writes** (each one transaction, on the ``shop`` schema: foreign keys, sequences, an audit trigger): a new order with
  its lines (sometimes a new customer), an update of one of the worker's own orders (version + 1) and a delete.
* **Retries**: a permission error (``42501``: the database is frozen, its writes revoked) or a lost session
  (``57P01``: the cutover ended it) retries the same write after a short pause, on whatever database the weights now
  name. A commit whose connection
  died while committing is *uncertain*: it may or may not have happened, and the checks allow both.
* **The log**: every acknowledged commit with its time, database and what it wrote; :func:`check` compares it with
  the final primary.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import errors as pg_errors

SCHEMA_SQL = """
CREATE SCHEMA shop;
CREATE TABLE shop.customer (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shop.orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES shop.customer,
    client_ref uuid NOT NULL UNIQUE,
    status text NOT NULL CHECK (status IN ('new', 'paid', 'shipped')),
    total numeric(12, 2) NOT NULL DEFAULT 0,
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_by_customer ON shop.orders (customer_id);
CREATE TABLE shop.order_line (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES shop.orders ON DELETE CASCADE,
    sku text NOT NULL,
    qty integer NOT NULL CHECK (qty > 0),
    price numeric(10, 2) NOT NULL
);
CREATE INDEX order_line_by_order ON shop.order_line (order_id);
CREATE TABLE shop.order_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- written by the trigger only: DMS's apply needs BY DEFAULT
    order_id bigint NOT NULL,
    op text NOT NULL,
    version integer NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION shop.log_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO shop.order_event (order_id, op, version)
    VALUES (coalesce(NEW.id, OLD.id), TG_OP, coalesce(NEW.version, OLD.version));
    RETURN NULL;
END $$;
CREATE TRIGGER order_events AFTER INSERT OR UPDATE OR DELETE ON shop.orders
    FOR EACH ROW EXECUTE FUNCTION shop.log_order();
CREATE PROCEDURE shop.mark_paid(p_order bigint) LANGUAGE sql AS $$
    UPDATE shop.orders SET status = 'paid', version = version + 1, updated_at = now() WHERE id = p_order
$$;
"""
"""The application's schema on the source (13): everything ``schema pre-data`` / ``post-data`` must carry over."""

SEED_SQL = """
INSERT INTO shop.customer (email) SELECT 'seed' || g || '@example.com' FROM generate_series(1, {customers}) g;
INSERT INTO shop.orders (customer_id, client_ref, status, total)
    SELECT 1 + g % {customers}, md5('seed-order-' || g)::uuid, 'new', g % 500 FROM generate_series(1, {orders}) g;
INSERT INTO shop.order_line (order_id, sku, qty, price)
    SELECT 1 + g % {orders}, 'SKU-' || g % 997, 1 + g % 5, (g % 90) + 0.99 FROM generate_series(1, {lines}) g;
"""

ROLE = "shop_app"
ROLE_PASSWORD = "shop-app-password-1"


def role_sql(password: str = ROLE_PASSWORD) -> str:
    """The application role on a server, with the rights the application has (idempotent)."""
    return f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
        CREATE ROLE {ROLE} LOGIN PASSWORD '{password}';
    END IF;
END $$;
"""


GRANTS_SQL = f"""
GRANT USAGE ON SCHEMA shop TO {ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA shop TO {ROLE};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA shop TO {ROLE};
GRANT EXECUTE ON PROCEDURE shop.mark_paid(bigint) TO {ROLE};
"""
"""The application's rights on-prem."""
READ_GRANTS_SQL = f"""
GRANT USAGE ON SCHEMA shop TO {ROLE};
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO {ROLE};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA shop TO {ROLE};
GRANT EXECUTE ON PROCEDURE shop.mark_paid(bigint) TO {ROLE};
"""
"""The application's rights on Aurora until the cutover opens it: reads only (the cutover grants the writes it had
on-prem). What ``migrationctl roles copy --app-roles shop_app --apply`` gives it (the night runs that; the cutover
tests use this)."""

FROZEN = (pg_errors.InsufficientPrivilege, pg_errors.ReadOnlySqlTransaction)
"""What a write meets on a frozen database: its write privileges are gone (``42501``; ``25006`` if read-only)."""
RETRYABLE = (*FROZEN, pg_errors.AdminShutdown)


@dataclasses.dataclass(frozen=True)
class Ack:
    """One acknowledged commit."""

    at: float
    """When the commit returned (epoch seconds): the write took effect at or before it."""
    database: str
    worker: int
    op: str
    """``insert``, ``update`` or ``delete``."""
    order_id: int
    client_ref: str = ""
    version: int = 0
    line_ids: tuple[int, ...] = ()
    customer_id: int = 0
    began: float = 0.0
    """When the COMMIT was sent: the write took effect at or after it."""


@dataclasses.dataclass
class Stats:
    acks: list[Ack] = dataclasses.field(default_factory=list)
    uncertain: list[Ack] = dataclasses.field(default_factory=list)
    """Writes whose COMMIT lost its connection: done or not, both are fine."""
    read_only_retries: int = 0
    session_retries: int = 0
    collisions: list[str] = dataclasses.field(default_factory=list)
    """Unique violations on a generated key: a sequence handed out an id that already exists."""
    errors: list[str] = dataclasses.field(default_factory=list)


class Router:
    """The listener's weights, polled like a client's cache; picks a database per transaction."""

    def __init__(self, read_weights: Callable[[], dict[str, int]], poll_seconds: float = 0.2) -> None:
        self._read = read_weights
        self.poll_seconds = poll_seconds
        self.weights = read_weights()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="router", daemon=True)

    def start(self) -> Router:
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.weights = self._read()
            except Exception:
                continue

    def pick(self, rng: random.Random) -> str:
        weights = self.weights
        total = weights.get("blue", 0) + weights.get("green", 0)
        if total == 0:
            return "blue"
        return "blue" if rng.random() * total < weights.get("blue", 0) else "green"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Workload:
    """``workers`` threads writing about ``rate`` transactions per second in total until :meth:`stop`."""

    def __init__(self, dsns: dict[str, str], router: Router, *, workers: int = 4, rate: float = 250.0, seed: int = 7) -> None:
        self.dsns = dsns
        self.router = router
        self.workers = workers
        self.rate = rate
        self.stats = Stats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i, seed + i), name=f"worker-{i}") for i in range(workers)]

    def start(self) -> Workload:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> Stats:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
        return self.stats

    def acked_since(self, since: float) -> int:
        with self._lock:
            return sum(1 for a in self.stats.acks if a.at >= since)

    # ------------------------------------------------------------------------------------------------ worker

    def _connect(self, database: str) -> psycopg.Connection:
        return psycopg.connect(self.dsns[database], autocommit=False, connect_timeout=5, application_name="shop-app")

    def _run(self, worker: int, seed: int) -> None:
        rng = random.Random(seed)
        conns: dict[str, psycopg.Connection] = {}
        mine: list[int] = []  # this worker's live orders: no two workers touch the same row
        interval = self.workers / self.rate
        next_at = time.monotonic()
        pending: tuple[str, Any] | None = None
        while not self._stop.is_set():
            next_at = max(next_at + interval, time.monotonic() - 1.0)
            if pending is None:
                op = rng.choices(("insert", "update", "delete"), weights=(50, 35, 15))[0]
                if op != "insert" and len(mine) < 5:
                    op = "insert"
                target = rng.choice(mine) if op != "insert" else 0
                pending = (op, target)
            database = self.router.pick(rng)
            try:
                conn = conns.get(database)
                if conn is None or conn.closed:
                    conn = conns[database] = self._connect(database)
                ack = self._write(conn, database, worker, pending, rng)
            except FROZEN:
                self._rollback(conns.get(database))
                with self._lock:
                    self.stats.read_only_retries += 1
                time.sleep(0.01)
                continue
            except pg_errors.UniqueViolation as error:
                self._rollback(conns.get(database))
                with self._lock:
                    self.stats.collisions.append(f"{database}: {str(error).splitlines()[0]}")
                time.sleep(0.01)
                continue
            except _Uncertain as uncertain:
                conns.pop(database, None)
                with self._lock:
                    self.stats.uncertain.append(uncertain.ack)
                if uncertain.ack.op == "delete" and uncertain.ack.order_id in mine:
                    mine.remove(uncertain.ack.order_id)  # never touch it again: it may be gone
                pending = None
                continue
            except (psycopg.OperationalError, pg_errors.AdminShutdown):
                conns.pop(database, None)
                with self._lock:
                    self.stats.session_retries += 1
                time.sleep(0.01)
                continue
            except psycopg.Error as error:  # anything else is a finding
                self._rollback(conns.get(database))
                with self._lock:
                    self.stats.errors.append(f"{database} {pending[0]}: {type(error).__name__}: {str(error).splitlines()[0]}")
                pending = None
                continue
            with self._lock:
                self.stats.acks.append(ack)
            if ack.op == "insert":
                mine.append(ack.order_id)
            elif ack.op == "delete":
                mine.remove(ack.order_id)
            pending = None
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
        for conn in conns.values():
            conn.close()

    @staticmethod
    def _rollback(conn: psycopg.Connection | None) -> None:
        if conn is not None and not conn.closed:
            try:
                conn.rollback()
            except psycopg.Error:
                conn.close()

    def _write(self, conn: psycopg.Connection, database: str, worker: int, pending: tuple[str, Any], rng: random.Random) -> Ack:
        op, order_id = pending
        with conn.cursor() as cur:
            if op == "insert":
                client_ref = str(uuid.UUID(int=rng.getrandbits(128)))
                if rng.random() < 0.1:
                    cur.execute("INSERT INTO shop.customer (email) VALUES (%s) RETURNING id", (f"{client_ref}@example.com",))
                    customer_id = int(cur.fetchone()[0])  # type: ignore[index]
                else:
                    customer_id = rng.randint(1, 500)
                cur.execute(
                    "INSERT INTO shop.orders (customer_id, client_ref, status, total) VALUES (%s, %s, 'new', %s) RETURNING id",
                    (customer_id, client_ref, rng.randint(1, 900)),
                )
                new_id = int(cur.fetchone()[0])  # type: ignore[index]
                lines = []
                for _ in range(rng.randint(1, 3)):
                    cur.execute(
                        "INSERT INTO shop.order_line (order_id, sku, qty, price) VALUES (%s, %s, %s, %s) RETURNING id",
                        (new_id, f"SKU-{rng.randint(1, 997)}", rng.randint(1, 5), rng.randint(100, 9000) / 100),
                    )
                    lines.append(int(cur.fetchone()[0]))  # type: ignore[index]
                ack = Ack(time.time(), database, worker, "insert", new_id, client_ref, 1, tuple(lines), customer_id)
            elif op == "update":
                if rng.random() < 0.3:
                    cur.execute("CALL shop.mark_paid(%s)", (order_id,))
                    cur.execute("SELECT version FROM shop.orders WHERE id = %s", (order_id,))
                else:
                    cur.execute(
                        "UPDATE shop.orders SET version = version + 1, status = 'shipped', total = total + 1, "
                        "updated_at = now() WHERE id = %s RETURNING version",
                        (order_id,),
                    )
                row = cur.fetchone()
                if row is None:
                    raise psycopg.DataError(f"order {order_id} vanished")  # a lost insert: reported as an error
                ack = Ack(time.time(), database, worker, "update", order_id, version=int(row[0]))
            else:
                cur.execute("DELETE FROM shop.orders WHERE id = %s", (order_id,))
                if cur.rowcount != 1:
                    raise psycopg.DataError(f"order {order_id} to delete vanished")
                ack = Ack(time.time(), database, worker, "delete", order_id)
        began = time.time()
        try:
            conn.commit()
        except (psycopg.OperationalError, pg_errors.AdminShutdown) as error:
            raise _Uncertain(dataclasses.replace(ack, at=time.time(), began=began)) from error
        return dataclasses.replace(ack, at=time.time(), began=began)


class _Uncertain(Exception):
    def __init__(self, ack: Ack) -> None:
        super().__init__(ack.op)
        self.ack = ack


# --------------------------------------------------------------------------------------------- checks


@dataclasses.dataclass
class Findings:
    lost: list[str] = dataclasses.field(default_factory=list)
    duplicated: list[str] = dataclasses.field(default_factory=list)
    collisions: list[str] = dataclasses.field(default_factory=list)
    acknowledged: int = 0

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.collisions)


def check(conn: psycopg.Connection, stats: Stats) -> Findings:
    """Every acknowledged commit against the final primary: lost, duplicated, and sequence collisions."""
    findings = Findings(acknowledged=len(stats.acks), collisions=list(stats.collisions))
    rows = {int(r[0]): (str(r[1]), int(r[2])) for r in conn.execute("SELECT id, client_ref, version FROM shop.orders")}
    lines = {int(r[0]): int(r[1]) for r in conn.execute("SELECT id, order_id FROM shop.order_line")}
    events: dict[tuple[int, str, int], int] = {}
    for order_id, op, version, count in conn.execute(
        "SELECT order_id, op, version, count(*) FROM shop.order_event GROUP BY 1, 2, 3"
    ):
        events[(int(order_id), str(op), int(version))] = int(count)
    uncertain_deletes = {u.order_id for u in stats.uncertain if u.op == "delete"}
    uncertain_updates: dict[int, int] = {}
    for u in stats.uncertain:
        if u.op == "update":
            uncertain_updates[u.order_id] = uncertain_updates.get(u.order_id, 0) + 1
    inserted: dict[int, Ack] = {}
    deleted: set[int] = set()
    max_version: dict[int, int] = {}
    ids_seen: dict[int, str] = {}
    for ack in stats.acks:
        if ack.op == "insert":
            if ack.order_id in ids_seen and ids_seen[ack.order_id] != ack.client_ref:
                findings.collisions.append(f"order id {ack.order_id} acknowledged for two different orders")
            ids_seen[ack.order_id] = ack.client_ref
            inserted[ack.order_id] = ack
        elif ack.op == "update":
            max_version[ack.order_id] = max(max_version.get(ack.order_id, 0), ack.version)
        else:
            deleted.add(ack.order_id)
    for order_id, ack in inserted.items():
        if order_id in deleted or order_id in uncertain_deletes:
            continue
        row = rows.get(order_id)
        if row is None:
            findings.lost.append(f"insert of order {order_id} ({ack.database} at {ack.at:.3f})")
            continue
        if row[0] != ack.client_ref:
            findings.collisions.append(f"order {order_id} holds another order's client_ref")
        for line in ack.line_ids:
            if lines.get(line) != order_id:
                findings.lost.append(f"line {line} of order {order_id}")
    for order_id in deleted:
        if order_id in rows:
            findings.lost.append(f"delete of order {order_id}")
    for order_id, version in max_version.items():
        if order_id in deleted or order_id in uncertain_deletes or order_id not in rows:
            continue
        final = rows[order_id][1]
        if final < version:
            findings.lost.append(f"update of order {order_id} to version {version} (found {final})")
        elif final > version + uncertain_updates.get(order_id, 0):
            findings.duplicated.append(f"order {order_id} at version {final}, acknowledged up to {version}")
    findings.duplicated += [f"order_event {key} x{count}" for key, count in events.items() if count > 1]
    return findings
