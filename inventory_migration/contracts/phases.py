"""The migration's phases as deployable states of the stack: one table says what exists and runs in each.

Every phase-dependent decision of the stack reads :data:`PHASE_PLANS` (no scattered ``if phase == …``):

=================  ===============  ================  ==========  ===========  ==============  ===========
phase              forward task     reverse task      blue/green  replication  blue targets    image sync
=================  ===============  ================  ==========  ===========  ==============  ===========
foundation         created          absent            100/0       yes          yes             scheduled
full-load          running          absent            100/0       yes          yes             scheduled
cdc                running          absent            100/0       yes          yes             scheduled
cutover            stopped          created           0/100       yes          yes             on demand
rollback-window    stopped          running           0/100       yes          yes             on demand
decommission       absent           absent            0/100       no           no              absent
=================  ===============  ================  ==========  ===========  ==============  ===========

*Forward* is DMS on-prem → Aurora (full load + CDC); *reverse* is DMS Aurora → on-prem (CDC only, from the position
``migrationctl cutover`` records at the switch), the way back. *Replication* is the DMS instance, endpoints, secrets
and their alarms. Transitions go forward one step at a time, or back from ``cutover`` / ``rollback-window`` to
``cdc`` (a rollback); anything else is refused unless ``force_phase_transition`` is set.

The same table drives the tests and the deploy rehearsal: :func:`expected_changes` derives, for a transition, which
components must be added, removed or changed, and :func:`component_of` maps a resource's construct path to its
component, so a plan (or a JSON diff) that touches anything else — above all Aurora, the KMS keys or the image
bucket (:data:`PROTECTED_PATHS`) — is caught.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import types
from collections.abc import Mapping
from enum import Enum


class MigrationPhase(Enum):
    """Phases of the migration, in order; the value is the ``MigrationPhase`` tag."""

    FOUNDATION = "foundation"
    """Network, keys, Aurora, DMS, the load balancer and ECS exist; nothing replicates yet."""
    FULL_LOAD = "full-load"
    """DMS copies the 500 GB baseline, then keeps applying changes."""
    CDC = "cdc"
    """Change data capture keeps Aurora in step; post-data schema is in; testers use green through the header rule."""
    CUTOVER = "cutover"
    """``migrationctl cutover`` has switched: Aurora and green serve, the way back is created."""
    ROLLBACK_WINDOW = "rollback-window"
    """Aurora is primary; the reverse DMS task keeps on-prem in step, so a rollback loses nothing."""
    DECOMMISSION = "decommission"
    """The migration-only resources (DMS, the blue target group) are gone; Aurora, S3, ECS and monitoring stay."""


PHASE_ORDER: tuple[MigrationPhase, ...] = tuple(MigrationPhase)


class TaskState(Enum):
    """What the stack declares for a DMS replication task."""

    ABSENT = "absent"
    """Not in the stack (never created, or removed)."""
    CREATED = "created"
    """Exists; Terraform does not start it (``start_replication_task = false``)."""
    RUNNING = "running"
    """Terraform starts it (``start_replication_task = true``)."""
    STOPPED = "stopped"
    """Exists and was running before; Terraform stops it (``start_replication_task = false``)."""

    @property
    def exists(self) -> bool:
        return self is not TaskState.ABSENT

    @property
    def running(self) -> bool:
        return self is TaskState.RUNNING


class ImageSync(Enum):
    """The DataSync task that copies the product images."""

    SCHEDULED = "scheduled"
    """Exists and runs incrementally on its schedule."""
    ON_DEMAND = "on-demand"
    """Exists without a schedule: the final run in the window is started by the runbook."""
    ABSENT = "absent"
    """Removed."""


class Database(Enum):
    """Where the applications write."""

    ON_PREM = "on-prem"
    AURORA = "aurora"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PhasePlan:
    """What one phase deploys."""

    forward_task: TaskState
    """DMS on-prem → Aurora (full load + CDC)."""
    reverse_task: TaskState
    """DMS Aurora → on-prem (CDC only), with its endpoints and secret."""
    blue_weight: int
    """Listener weight of the blue target group (on-prem application servers)."""
    green_weight: int
    """Listener weight of the green target group (ECS Fargate on Aurora)."""
    replication: bool
    """The DMS instance, endpoints, secrets, security group and alarms exist."""
    blue_targets: bool
    """The blue target group and its on-prem targets exist."""
    image_sync: ImageSync
    """The DataSync task's state."""

    def __post_init__(self) -> None:
        problems = [
            message
            for broken, message in (
                (self.blue_weight + self.green_weight != 100, "weights must add up to 100"),
                (not self.blue_targets and self.blue_weight, "blue has weight but no target group"),
                (not self.replication and (self.forward_task.exists or self.reverse_task.exists), "a task needs replication"),
            )
            if broken
        ]
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def writers(self) -> frozenset[Database]:
        """The databases the applications can write to: the target group(s) with traffic decide."""
        return frozenset(
            db for db, weight in ((Database.ON_PREM, self.blue_weight), (Database.AURORA, self.green_weight)) if weight > 0
        )


PHASE_PLANS: Mapping[MigrationPhase, PhasePlan] = types.MappingProxyType(
    {
        MigrationPhase.FOUNDATION: PhasePlan(
            forward_task=TaskState.CREATED,
            reverse_task=TaskState.ABSENT,
            blue_weight=100,
            green_weight=0,
            replication=True,
            blue_targets=True,
            image_sync=ImageSync.SCHEDULED,
        ),
        MigrationPhase.FULL_LOAD: PhasePlan(
            forward_task=TaskState.RUNNING,
            reverse_task=TaskState.ABSENT,
            blue_weight=100,
            green_weight=0,
            replication=True,
            blue_targets=True,
            image_sync=ImageSync.SCHEDULED,
        ),
        MigrationPhase.CDC: PhasePlan(
            forward_task=TaskState.RUNNING,
            reverse_task=TaskState.ABSENT,
            blue_weight=100,
            green_weight=0,
            replication=True,
            blue_targets=True,
            image_sync=ImageSync.SCHEDULED,
        ),
        MigrationPhase.CUTOVER: PhasePlan(
            forward_task=TaskState.STOPPED,
            reverse_task=TaskState.CREATED,
            blue_weight=0,
            green_weight=100,
            replication=True,
            blue_targets=True,
            image_sync=ImageSync.ON_DEMAND,
        ),
        MigrationPhase.ROLLBACK_WINDOW: PhasePlan(
            forward_task=TaskState.STOPPED,
            reverse_task=TaskState.RUNNING,
            blue_weight=0,
            green_weight=100,
            replication=True,
            blue_targets=True,
            image_sync=ImageSync.ON_DEMAND,
        ),
        MigrationPhase.DECOMMISSION: PhasePlan(
            forward_task=TaskState.ABSENT,
            reverse_task=TaskState.ABSENT,
            blue_weight=0,
            green_weight=100,
            replication=False,
            blue_targets=False,
            image_sync=ImageSync.ABSENT,
        ),
    }
)
"""The one table of what each phase deploys."""

ROLLBACK_TRANSITIONS = frozenset(
    {(MigrationPhase.CUTOVER, MigrationPhase.CDC), (MigrationPhase.ROLLBACK_WINDOW, MigrationPhase.CDC)}
)
"""The way back: from the switched phases to ``cdc`` (``migrationctl rollback`` has switched traffic back)."""

ALLOWED_TRANSITIONS = frozenset({(a, b) for a, b in itertools.pairwise(PHASE_ORDER)} | ROLLBACK_TRANSITIONS)
"""Forward one step at a time, plus the rollbacks."""


def plan_for(phase: MigrationPhase) -> PhasePlan:
    return PHASE_PLANS[phase]


def transition_problem(previous: MigrationPhase | None, current: MigrationPhase) -> str | None:
    """Why moving from ``previous`` to ``current`` is not allowed (``None`` when it is).

    Re-deploying the same phase is always allowed. Without a previous phase only ``foundation`` (a new
    environment) is allowed.
    """
    if previous is None:
        if current is MigrationPhase.FOUNDATION:
            return None
        return (
            f"no previous_phase given for {current.value!r}: set previous_phase to the deployed phase "
            "(`terraform output migration_phase`), or force_phase_transition = true for a new environment"
        )
    if previous is current or (previous, current) in ALLOWED_TRANSITIONS:
        return None
    allowed = sorted(b.value for a, b in ALLOWED_TRANSITIONS if a is previous)
    return (
        f"transition {previous.value!r} -> {current.value!r} is not allowed; from {previous.value!r} only "
        f"{', '.join(repr(a) for a in allowed) or 'nothing'} (or set force_phase_transition = true)"
    )


# --------------------------------------------------------------------------------------------- change sets


class Component(Enum):
    """A group of resources whose presence or settings depend on the phase."""

    FORWARD_TASK = "forward-task"
    REVERSE_REPLICATION = "reverse-replication"
    REPLICATION = "replication"
    BLUE_TARGETS = "blue-targets"
    TRAFFIC = "traffic"
    MONITORING_WIRING = "monitoring-wiring"
    IMAGE_ENDPOINT = "image-endpoint"
    """The DataSync VPC endpoint: exists while images move, from the first pass of the first deploy on."""
    IMAGE_SYNC = "image-sync"
    """The agent's side (locations, task, its rule and metric): exists while images move and the agent is configured."""


def component_state(component: Component, plan: PhasePlan, *, image_agent: bool = True) -> tuple[bool, tuple[object, ...]]:
    """(present?, settings) of a component in a phase; a settings change is an in-place update. ``image_agent``: whether
    the DataSync agent is configured (``files.agent_arn`` / ``agent_activation_key``): until the first deploy's second
    pass, only the endpoint of the image transfer exists."""
    states: dict[Component, tuple[bool, tuple[object, ...]]] = {
        Component.FORWARD_TASK: (plan.forward_task.exists, (plan.forward_task.running,)),
        Component.REVERSE_REPLICATION: (plan.reverse_task.exists, (plan.reverse_task.running,)),
        Component.REPLICATION: (plan.replication, ()),
        Component.BLUE_TARGETS: (plan.blue_targets, ()),
        Component.TRAFFIC: (True, (plan.blue_weight, plan.green_weight, plan.blue_targets)),
        Component.MONITORING_WIRING: (True, (plan.replication, plan.blue_targets)),
        Component.IMAGE_ENDPOINT: (plan.image_sync is not ImageSync.ABSENT, ()),
        Component.IMAGE_SYNC: (plan.image_sync is not ImageSync.ABSENT and image_agent, (plan.image_sync,)),
    }
    return states[component]


class Change(Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


def expected_changes(previous: MigrationPhase, current: MigrationPhase, *, image_agent: bool = True) -> dict[Component, Change]:
    """Which components a transition adds, removes or changes (components not listed stay as they are)."""
    before, after = plan_for(previous), plan_for(current)
    out: dict[Component, Change] = {}
    for component in Component:
        was, old = component_state(component, before, image_agent=image_agent)
        now, new = component_state(component, after, image_agent=image_agent)
        if was and not now:
            out[component] = Change.REMOVED
        elif now and not was:
            out[component] = Change.ADDED
        elif now and old != new:
            out[component] = Change.CHANGED
    return out


COMPONENT_PATHS: tuple[tuple[str, Component | None], ...] = (
    ("dms/task-logs", None),
    ("dms/task", Component.FORWARD_TASK),
    ("dms/task-events", Component.FORWARD_TASK),
    ("dms/reverse-*", Component.REVERSE_REPLICATION),
    ("dms/dms-reverse-*", Component.REVERSE_REPLICATION),
    ("dms/*", Component.REPLICATION),
    ("monitoring/dms-*", Component.REPLICATION),
    ("monitoring/source-slot-wal", Component.REPLICATION),
    ("security-groups/dms", Component.REPLICATION),
    ("security-groups/dms-*", Component.REPLICATION),
    ("security-groups/aurora-from-dms", Component.REPLICATION),
    ("security-groups/endpoints-from-dms", Component.REPLICATION),
    ("application/blue*", Component.BLUE_TARGETS),
    ("security-groups/alb-to-blue-*", Component.BLUE_TARGETS),
    ("application/https", Component.TRAFFIC),
    ("monitoring/cutover-blocked", Component.MONITORING_WIRING),
    ("monitoring/dashboard", Component.MONITORING_WIRING),
    ("files/logs", None),
    ("files/endpoint*", Component.IMAGE_ENDPOINT),
    ("files/*", Component.IMAGE_SYNC),
)
"""Construct paths (below the stack, fnmatch patterns, first match wins) of the phase-dependent resources.
Everything else must be identical in every phase."""

PROTECTED_PATHS = ("aurora/cluster", "aurora/instance-*", "kms/*", "storage/images")
"""Resources no transition may change, replace or remove: the data and the keys that encrypt it."""


def component_of(path: str) -> Component | None:
    """The component of a resource, from its construct path below the stack (``dms/task``)."""
    for pattern, component in COMPONENT_PATHS:
        if fnmatch.fnmatchcase(path, pattern):
            return component
    return None


def is_protected(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in PROTECTED_PATHS)
