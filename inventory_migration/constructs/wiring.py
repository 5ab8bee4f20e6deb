"""The one check constructs make of what the stack wires into them.

A construct's settings are its configuration section, already validated there (``config/``); what is left for the
construct to check is its wiring, the references and phase facts it receives from other constructs. Every rule
is collected and raised together, as the configuration does.
"""

from __future__ import annotations


class WiringError(ValueError):
    """A construct was wired wrongly: every broken rule of one wiring object, together."""


def check_wiring(wiring: object, *rules: tuple[bool, str]) -> None:
    """Raise :class:`WiringError` naming ``wiring``'s type and every ``(violated, message)`` rule that is violated."""
    problems = [message for violated, message in rules if violated]
    if problems:
        raise WiringError(f"{type(wiring).__name__}: " + "; ".join(problems))
