"""Exit codes and the errors that map to them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Everything checked out."""
    FINDINGS = 1
    """The command ran and found something: blockers, differences, lag over a threshold."""
    USAGE = 2
    """Bad arguments, unreachable server, wrong password, missing privileges."""


class UsageError(Exception):
    """A problem the user fixes by changing how they run the command; printed as one line, exit 2."""
