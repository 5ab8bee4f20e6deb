"""The facts a cutover or rollback journal keeps between steps (and between a kill and its re-run), each declared
once with its JSON type: a step says which it reads and writes (:class:`~.steps.Step`), and the journal refuses a
fact that is not declared here, or one of the wrong type.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Fact(Generic[T]):
    """One named fact of a journal: its name in the JSON file, its JSON type and what it says."""

    name: str
    type: type[T]
    doc: str

    def check(self, value: Any) -> T:
        """``value`` if it has this fact's type (an int is a float); :class:`TypeError` naming the fact otherwise."""
        if isinstance(value, self.type) or (self.type is float and isinstance(value, int) and not isinstance(value, bool)):
            return typing.cast(T, value)
        raise TypeError(f"journal fact {self.name!r} must be {self.type.__name__}, not {type(value).__name__}: {value!r}")


FREEZE_SOURCE = Fact("freeze_source", dict, "what the freeze of the source took away (write grants, roles set NOLOGIN)")
FREEZE_TARGET = Fact("freeze_target", dict, "what the freeze of the target took away")
FREEZE_LSN = Fact("freeze_lsn", str, "the source's WAL insert position when its freeze was complete (for the record)")
GREEN_FREEZE_LSN = Fact("green_freeze_lsn", str, "the target's WAL insert position when its freeze was complete")
FROZEN_AT = Fact("frozen_at", float, "when the last freeze was complete (the operation's clock, seconds)")
APPLIER_FENCE = Fact("applier_fence", dict, "what fencing the forward task's user on Aurora took away (write grants, NOLOGIN)")
REVERSE_FENCE = Fact("reverse_fence", dict, "what fencing the reverse task's user on-prem took away (write grants, NOLOGIN)")
FENCE = Fact("fence", str, "the token of the fence row the drain wrote on the side being left")
SNAPSHOTS = Fact("snapshots", dict, "the switch point's exported snapshots, by side")
REVERSE_START_LSN = Fact("reverse_start_lsn", str, "where the way back starts on the target (the reverse slot's point)")
SWITCHED_AT = Fact("switched_at", float, "when the writes moved to the other side (the operation's clock, seconds)")
FORWARD_RESUME_LSN = Fact("forward_resume_lsn", str, "where forward replication resumes on the source after a rollback")
ABORT_SIDE = Fact("abort_side", str, "the side an abort makes writable again: source or target")
ABORT_REASON = Fact("abort_reason", str, "why the abort began")
CUTOVER = Fact("cutover", str, "a rollback journal's cutover: that cutover journal's started_at")

FACTS: Mapping[str, Fact[Any]] = {
    f.name: f
    for f in (
        FREEZE_SOURCE,
        FREEZE_TARGET,
        FREEZE_LSN,
        GREEN_FREEZE_LSN,
        FROZEN_AT,
        FENCE,
        APPLIER_FENCE,
        REVERSE_FENCE,
        SNAPSHOTS,
        REVERSE_START_LSN,
        SWITCHED_AT,
        FORWARD_RESUME_LSN,
        ABORT_SIDE,
        ABORT_REASON,
        CUTOVER,
    )
}
"""Every fact a journal may keep, by name."""

JOURNAL_LEVEL = (ABORT_SIDE, ABORT_REASON, CUTOVER)
"""Facts recorded by the operation around its steps, not by one step."""


class UnknownFact(ValueError):
    """A fact name no declaration has, or one the step recording it does not declare."""
