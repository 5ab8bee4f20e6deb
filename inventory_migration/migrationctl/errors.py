"""Exit codes and the errors that map to them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means. ``cutover`` and ``rollback`` use all five, the other commands 0 to 2."""

    OK = 0
    """Everything checked out (cutover/rollback: done, and equal at the switch point)."""
    FINDINGS = 1
    """The command ran and found something: blockers, differences, lag over a threshold (cutover/rollback: a gate
    refused; nothing changed)."""
    USAGE = 2
    """Bad arguments, unreachable server, wrong password, missing privileges."""
    ABORTED = 3
    """cutover/rollback stopped part-way and put the side it was leaving back: that side is writable again."""
    SWITCHED_WITH_DIFFERENCES = 4
    """cutover switched, but the switch-point verify found differences or could not run (its snapshots were lost):
    the new side serves; decide now whether to roll back (the alarm topic was told)."""


class UsageError(Exception):
    """A problem the user fixes by changing how they run the command; printed as one line, exit 2."""
