"""The JSON journal of ``migrationctl cutover`` / ``rollback``: every step with its times and result, and the facts
a later step (or a re-run) needs — LSNs, the exported snapshot, the switch time.

Written atomically and durably (:func:`inventory_migration.migrationctl.records.write_json`) before and after every
step, so a process killed at any moment leaves a journal that says exactly which steps finished; a re-run skips
those and resumes with the first unfinished one. Every step is idempotent, so repeating a half-done step is safe.
A journal knows the steps of its operation (the step tables of :mod:`.steps`) and refuses any other name, and the
facts of :mod:`.facts` and refuses any other (or one of the wrong type, or one the running step does not declare), so a
typo fails the first test that runs the step rather than the night.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import time
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from inventory_migration.contracts.environment import Variable
from inventory_migration.migrationctl.cutover.facts import FACTS, JOURNAL_LEVEL, Fact, UnknownFact
from inventory_migration.migrationctl.records import move, read_json, write_json

T = TypeVar("T")

RUNNING, DONE, FAILED, ABORTED = "running", "done", "failed", "aborted"
ABORTING = "aborting"
"""An abort under way: recorded before the side being left is made writable again, so a killed abort is finished by
the next run instead of being mistaken for a step to resume."""
ROLLED_BACK = "rolled back"
"""A cutover journal closed by the rollback that undid it: the next cutover starts anew, from the gates."""
FINISHED = (DONE, ABORTED, ROLLED_BACK)
KILL_ENV = Variable.MIGRATIONCTL_KILL_AFTER
"""Fault injection for rehearsals: ``<operation>:<step>`` kills the process with SIGKILL right after that step's work,
before the journal records it as done — the worst moment, which the re-run must survive."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class UnknownStep(ValueError):
    """A step name that is not in the operation's step table."""


class MissingFact(ValueError):
    """A fact a step needs that no earlier step recorded."""


class Journal:
    """One operation's journal file; ``steps``: the names its operation may record, or each name with the facts that
    step may record (then a step that records another fact is refused)."""

    def __init__(self, path: Path, operation: str, steps: Collection[str] | Mapping[str, Collection[str]]) -> None:
        self.path = path
        self.operation = operation
        self.steps = tuple(steps)
        self.writes = {name: frozenset(facts) for name, facts in steps.items()} if isinstance(steps, Mapping) else None
        self._running: str | None = None
        if path.is_file():
            self.data: dict[str, Any] = read_json(path)
            if self.data.get("operation") != operation:
                raise ValueError(f"{path} is a {self.data.get('operation')} journal, not {operation}")
        else:
            self.data = {"operation": operation, "status": RUNNING, "started_at": now(), "steps": {}, "facts": {}}

    @property
    def facts(self) -> dict[str, Any]:
        return dict(self.data["facts"])

    @property
    def status(self) -> str:
        return str(self.data["status"])

    def _known(self, step: str) -> str:
        if step not in self.steps:
            raise UnknownStep(f"{self.operation} has no step {step!r}; its steps: {', '.join(self.steps)}")
        return step

    def done(self, step: str) -> bool:
        return bool(self.data["steps"].get(self._known(step), {}).get("status") == DONE)

    def started(self, step: str) -> bool:
        """Whether the step ever began (it may have finished, failed, or been killed half-way)."""
        return self._known(step) in self.data["steps"]

    def _checked(self, name: str, value: Any) -> Any:
        fact = FACTS.get(name)
        if fact is None:
            raise UnknownFact(f"{self.operation} journal: no fact {name!r}; the facts: {', '.join(FACTS)}")
        allowed = self.writes.get(self._running, frozenset()) if self.writes is not None and self._running else None
        if allowed is not None and name not in allowed and fact not in JOURNAL_LEVEL:
            raise UnknownFact(f"{self.operation} step {self._running!r} does not declare that it writes {name!r}")
        return fact.check(value)

    def record(self, values: Mapping[Fact[Any], Any] | None = None, **named: Any) -> None:
        """Record facts (by declaration, or by name) in one durable write."""
        merged = {**{f.name: v for f, v in (values or {}).items()}, **named}
        self.data["facts"].update({name: self._checked(name, value) for name, value in merged.items()})
        self.save()

    def put(self, fact: Fact[T], value: T) -> None:
        """Record one fact."""
        self.record({fact: value})

    def get(self, fact: Fact[T]) -> T | None:
        """The recorded value of ``fact``, or ``None``."""
        value = self.data["facts"].get(fact.name)
        return None if value is None else fact.check(value)

    def require(self, fact: Fact[T]) -> T:
        """The recorded value of ``fact``; :class:`MissingFact` when no step recorded it."""
        value = self.get(fact)
        if value is None:
            raise MissingFact(f"{self.operation} journal {self.path} has no {fact.name!r} ({fact.doc}): a step before is missing")
        return value

    def note_gates(self, failed: list[str], *, checked: list[str]) -> None:
        """Record a run's gate evaluation (every resumed run makes one): when, which groups, which failed."""
        self.data.setdefault("gate_checks", []).append({"at": now(), "checked": checked, "failed": failed})
        self.save()

    def finish(self, status: str = DONE) -> None:
        self.data["status"] = status
        self.data["finished_at"] = now()
        self.save()

    def save(self) -> None:
        write_json(self.path, self.data)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[dict[str, Any]]:
        """Run one step: the yielded dict is its result; on an exception the step is marked failed and re-raised."""
        entry = self.data["steps"].setdefault(self._known(name), {})
        entry.update({"status": RUNNING, "started_at": now(), "attempts": entry.get("attempts", 0) + 1})
        entry.pop("error", None)
        self.save()
        started = time.monotonic()
        result: dict[str, Any] = {}
        self._running = name
        try:
            yield result
        except BaseException as error:
            entry.update({"status": FAILED, "finished_at": now(), "error": f"{type(error).__name__}: {error}"})
            entry["seconds"] = round(time.monotonic() - started, 3)
            self.save()
            raise
        finally:
            self._running = None
        if os.environ.get(KILL_ENV) == f"{self.operation}:{name}":
            os.kill(os.getpid(), signal.SIGKILL)
        entry.update({"status": DONE, "finished_at": now(), "seconds": round(time.monotonic() - started, 3), "result": result})
        self.save()

    def archive(self) -> Path:
        """Move a finished journal aside (``name-<time>.json``) so the next operation starts a new one."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        target = self.path.with_name(f"{self.path.stem}-{stamp}.json")
        move(self.path, target)
        return target
