"""What every command is given: its parsed arguments, the output path, progress, connections and AWS."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from inventory_migration.migrationctl.db import SOURCE_ENV, TARGET_ENV, resolve_dsn
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.output import OutputFormat, emit


class Context:
    """One command's run: arguments, output format and streams, and the resources it may ask for."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.fmt = OutputFormat(args.output)
        self.progress_enabled = not args.no_progress and err.isatty()
        self.log: list[str] = []
        """The lines :meth:`say` printed (a JSON result carries them)."""

    @property
    def json(self) -> bool:
        return self.fmt is OutputFormat.JSON

    def emit(self, payload: Mapping[str, Any], text: str) -> None:
        """The command's result: ``payload`` with ``--output json``, ``text`` otherwise."""
        emit(self.fmt, payload, text, self.out)

    def say(self, line: str) -> None:
        """A line of a long operation's story, printed as it happens (table output) and kept for the JSON result."""
        self.log.append(line)
        if not self.json:
            self.out.write(line + "\n")
            self.out.flush()

    def source(self) -> str:
        return resolve_dsn(getattr(self.args, "source_dsn", None), SOURCE_ENV)

    def target(self) -> str:
        return resolve_dsn(getattr(self.args, "target_dsn", None), TARGET_ENV)

    def progress(self, description: str, *, unit: str, total: int | None = None) -> Any:
        """A progress bar on standard error (shown on a terminal only)."""
        from tqdm import tqdm

        return tqdm(total=total, desc=description, unit=unit, file=self.err, disable=not self.progress_enabled, leave=False)

    @contextlib.contextmanager
    def state(self, *, lock_for: str = "") -> Iterator[Path]:
        """The ``--state`` of the command, as a local directory for the block: pulled from S3 and pushed back on every
        write when it is ``s3://...``, with the lock held for ``lock_for`` (:mod:`.state`)."""
        from inventory_migration.migrationctl import state as state_mod

        location = state_mod.parse_state(self.args.state)
        if location.local.exists() and not location.local.is_dir():
            raise UsageError(f"--state {self.args.state}: {location.local} is a file, not a directory")
        lease = getattr(self.args, "lock_lease", state_mod.DEFAULT_LEASE_SECONDS)
        try:
            with state_mod.mirrored(
                location, lambda: self.boto3_session().client("s3"), lock_for=lock_for, lease_seconds=lease, say=self.say
            ):
                yield location.local
        except state_mod.StateConflict as conflict:
            raise UsageError(str(conflict)) from None

    def boto3_session(self) -> Any:
        import boto3

        return boto3.Session(profile_name=self.args.profile, region_name=self.args.region)
