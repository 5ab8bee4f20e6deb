"""What a cutover or rollback works with, the defaults its command line shows, and how it can end early."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inventory_migration.migrationctl.cutover.replication import ReplicationBackend
from inventory_migration.migrationctl.cutover.switch import Listener
from inventory_migration.migrationctl.pg.sequences import DEFAULT_GAP
from inventory_migration.migrationctl.records import JOURNAL_DIR


class GatesFailed(RuntimeError):
    """A gate said no: this run changed nothing. ``resumed_at``: the step a resumed operation would have continued
    with (the operation stays where it stopped); empty for one that never started."""

    def __init__(self, message: str, *, resumed_at: str = "") -> None:
        super().__init__(message)
        self.resumed_at = resumed_at


class PostconditionFailed(RuntimeError):
    """A step did its work and the system says its promise does not hold: the run stops there, nothing further
    changes, and the step is run again by the next run."""


class CutoverAborted(RuntimeError):
    """The cutover stopped and put the source back; nothing else has changed."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a cutover or rollback works with. The optional fields' defaults are also the command line's."""

    source_dsn: str
    """On-prem (blue)."""
    target_dsn: str
    """Aurora (green)."""
    app_roles: tuple[str, ...]
    """The applications' database roles: frozen on the side being left, opened on the other."""
    freeze_roles: tuple[str, ...] = ()
    """Other roles that write user tables (batch jobs, cron) and must stop with the applications: frozen on the side
    being left, not opened on the other. Default: none."""
    exempt_roles: tuple[str, ...] = ()
    """Roles that write user tables and are explicitly left writing (a DBA superuser, the reverse DMS task's user on
    the side it writes). Default: none — every writer must be named (gate)."""
    reverse_user: str = ""
    """The on-prem role the way back writes as (the reverse DMS endpoint's user): its privileges are a gate. Default:
    none (not checked; the native backend applies as the migration user)."""
    dms_target_user: str = ""
    """The Aurora role the forward task writes as and the reverse task reads as (the target endpoint's secret): its
    privileges are a gate. Default: none (not checked; ``preflight --privileges`` finds it from the secret)."""
    backend: ReplicationBackend
    """Replication in both directions."""
    state_dir: Path
    """Journal, snapshot holders and the verify records."""
    listener: Listener | None = None
    """The blue-green listener. Default: none (the weights are moved by hand)."""
    elbv2: Any = None
    """boto3 ``elbv2`` client for the listener. Default: none."""
    cloudwatch: Any = None
    """boto3 ``cloudwatch`` client for the cutover-blocked alarm. Default: none."""
    cutover_alarm: str = ""
    """Composite alarm that must be OK before a cutover. Default: none (the gate is reported as not checked)."""
    sns: Any = None
    """boto3 ``sns`` client for the switch-point notice. Default: none."""
    topic_arn: str = ""
    """Topic told about a difference at the switch point. Default: none."""
    drain_timeout: float = 90.0
    """Seconds to wait for the fence row to arrive on the other side before aborting. Longer than DMS's heartbeat
    interval (``dms.heartbeat_frequency_minutes``, a test keeps them so). Default: 90."""
    catch_up_timeout: float = 600.0
    """Seconds to wait, before the left side is frozen and with its writes still flowing, for the replication to
    apply a fence row within 5 s of its writing (:func:`~.sides.catch_up`): the drain after the freeze then waits for
    the last moments only, not for a backlog — the way back's, started after the forward task's stop, or the forward
    task's after a rollback resumed it (the lag gate reads CloudWatch's latency, a minute behind). Nothing is frozen if
    it does not arrive; 0: no catch-up, the drain waits for any backlog under the freeze. Default: 600."""
    max_lag_bytes: int = 64 * 1024 * 1024
    """Gate: the forward slot's lag in bytes. Default: 64 MiB."""
    max_lag_seconds: float = 30.0
    """Gate: DMS CDC latency in seconds. Default: 30."""
    verify_max_age_hours: float = 24.0
    """Gate: age of the last clean ``verify`` (and ``files verify``) in hours. Default: 24."""
    require_files_verify: bool = False
    """Gate: a clean ``files verify`` is required too. Default: false."""
    sequence_gap: int = DEFAULT_GAP
    """Sequences are set to the other side's position plus this. Default: 1000."""
    verify_jobs: int = 2
    """Switch-point verify: segments compared at once. Default: 2."""
    schemas: tuple[str, ...] = ()
    """Schemas the gates and the switch-point verify compare. Default: every user schema."""
    say: Callable[[str], None] = print
    """Where the operation tells its story, a line at a time. Default: standard output."""
    clock: Callable[[], float] = time.time
    """Wall clock (epoch seconds): record ages, journal facts. Default: :func:`time.time`."""

    @property
    def frozen_roles(self) -> tuple[str, ...]:
        """Every role the freeze stops: the applications and ``freeze_roles``."""
        return tuple(dict.fromkeys((*self.app_roles, *self.freeze_roles)))

    @property
    def journal_dir(self) -> Path:
        return self.state_dir / JOURNAL_DIR
