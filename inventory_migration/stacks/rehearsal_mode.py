"""Rehearsal mode: the same stack, pointed at a local AWS emulator, with state in a local file.

Set ``MIGRATION_REHEARSAL_ENDPOINT=http://127.0.0.1:<port>`` (and ``MIGRATION_REHEARSAL_STATE=<file>``) and
``cdktf synth`` / ``deploy`` / ``destroy`` produce a stack whose provider uses dummy credentials, skips credential
validation and instance metadata, sends **every** service — STS included, so even the account-id lookup — to that
endpoint, and keeps state in that file instead of the configured backend. The mode can never reach a real
environment: it refuses any endpoint that is not an IP literal on the loopback interface (no names: ``localhost`` can
be remapped), and any scheme but plain ``http``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inventory_migration.contracts.environment import Variable
from inventory_migration.stacks.provider_endpoints import ENDPOINT_NAMES

ENDPOINT_ENV = Variable.MIGRATION_REHEARSAL_ENDPOINT
STATE_ENV = Variable.MIGRATION_REHEARSAL_STATE
DUMMY_KEY = "rehearsal-not-a-real-key"
REHEARSAL_ACCOUNT_ID = "123456789012"
"""The account id moto reports; the rehearsal's configuration uses it for ARNs it must know up front."""


class RehearsalModeError(ValueError):
    """The rehearsal settings could reach something other than a local emulator."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RehearsalMode:
    """Where the rehearsal's emulator listens and where its state lives."""

    endpoint: str
    """``http://<loopback IP>:<port>`` of the emulator."""
    state_path: str
    """Local state file (absolute)."""

    def __post_init__(self) -> None:
        problems = []
        url = urllib.parse.urlsplit(self.endpoint)
        if url.scheme != "http":
            problems.append(f"endpoint {self.endpoint!r}: only http:// to a local emulator")
        try:
            host = ipaddress.ip_address(url.hostname or "")
            if not host.is_loopback:
                problems.append(f"endpoint {self.endpoint!r}: {host} is not a loopback address")
        except ValueError:
            problems.append(f"endpoint {self.endpoint!r}: the host must be a loopback IP literal (127.0.0.1 or ::1)")
        try:
            if url.port is None:
                problems.append(f"endpoint {self.endpoint!r}: needs a port")
        except ValueError:
            problems.append(f"endpoint {self.endpoint!r}: bad port")
        if url.path not in ("", "/") or url.query or url.username:
            problems.append(f"endpoint {self.endpoint!r}: scheme, host and port only")
        if not Path(self.state_path).is_absolute():
            problems.append(f"state_path {self.state_path!r}: must be absolute")
        if problems:
            raise RehearsalModeError("; ".join(problems))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RehearsalMode | None:
        """The mode selected by ``MIGRATION_REHEARSAL_ENDPOINT`` (state defaults next to the working directory)."""
        env = os.environ if environ is None else environ
        endpoint = env.get(ENDPOINT_ENV, "")
        if not endpoint:
            return None
        state = env.get(STATE_ENV) or str(Path.cwd() / "rehearsal.tfstate")
        return cls(endpoint=endpoint.rstrip("/"), state_path=state)

    def provider_settings(self) -> dict[str, Any]:
        """Arguments of the ``aws`` provider block: dummy keys, no account lookups, every endpoint local."""
        return {
            "access_key": DUMMY_KEY,
            "secret_key": DUMMY_KEY,
            "skip_credentials_validation": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
            "s3_use_path_style": True,
            "endpoints": [dict.fromkeys(ENDPOINT_NAMES, self.endpoint)],
        }

    def environ(self) -> dict[str, str]:
        """The variables that select this mode in a child process (``cdktf deploy``)."""
        return {ENDPOINT_ENV: self.endpoint, STATE_ENV: self.state_path}
