"""Waiting for something to become true, with a deadline: the one loop behind every wait of migrationctl (a slot to
confirm a position, sessions to end, a subscription's worker to exit, a DMS task to reach a state, a snapshot holder
to export its snapshot).

The clock and the sleep are injectable, so a test can run a wait of minutes in no time and end exactly at the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(
    check: Callable[[], T],
    *,
    timeout: float,
    interval: float,
    timed_out: Callable[[], BaseException],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``check`` until it returns a true value, and return that value; ``check`` runs at least once.

    After each false answer, when more than ``timeout`` seconds have passed since the first call, raise
    ``timed_out()`` (built then, so its message can name the last state seen); else sleep ``interval`` seconds.
    """
    deadline = clock() + timeout
    while True:
        value = check()
        if value:
            return value
        if clock() > deadline:
            raise timed_out()
        sleep(interval)
