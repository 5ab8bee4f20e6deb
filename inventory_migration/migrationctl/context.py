"""What every command is given: its parsed arguments, the output path, progress, connections and AWS."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from inventory_migration.contracts.outputs import OutputsFileError, parse_outputs
from inventory_migration.migrationctl.db import SOURCE_ENV, TARGET_ENV, dsn_from_secret, resolve_dsn, with_iam_token
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.output import OutputFormat, clock, emit

PROGRESS_LINE_SECONDS = 30.0
"""When standard error is not a terminal (nohup, CI, a log), progress is a plain line this often."""


class LineProgress:
    """Progress for logs: ``verify: 120/500 segments (24 %), 2m10s, about 6m50s left`` every ``every`` seconds and
    once at the end; the same calls as a tqdm bar (``update``, ``total``, ``refresh``, a context manager)."""

    def __init__(self, description: str, *, unit: str, total: int | None, out: TextIO, every: float) -> None:
        self.description, self.unit, self.total, self.out, self.every = description, unit, total, out, every
        self.n = 0
        self.started = self.last = time.monotonic()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.n:
            self._line()

    def refresh(self) -> None:
        pass

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= self.every:
            self._line()

    def _line(self) -> None:
        self.last = now = time.monotonic()
        elapsed = now - self.started
        text = f"{self.description}: {self.n:,}"
        if self.total:
            text += f"/{self.total:,} {self.unit}s ({100 * self.n / self.total:.0f} %), {clock(elapsed)}"
            if 0 < self.n < self.total:
                text += f", about {clock(elapsed * (self.total - self.n) / self.n)} left"
        else:
            text += f" {self.unit}s, {clock(elapsed)}"
        self.out.write(text + "\n")
        self.out.flush()


def read_stack_outputs(path: Path) -> dict[str, Any]:
    """``name -> value`` of an outputs file (``--stack-outputs``) in any of its three shapes; a file that cannot be read
    is a usage error naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read --stack-outputs {path}: {error}") from None
    try:
        return parse_outputs(text, f"--stack-outputs {path}")
    except OutputsFileError as error:
        raise UsageError(str(error)) from None


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
        dsn = resolve_dsn(getattr(self.args, "source_dsn", None), SOURCE_ENV)
        secret = getattr(self.args, "source_secret", None)
        return dsn_from_secret(self.client("secretsmanager"), secret, dsn) if secret else dsn

    def target(self) -> str:
        dsn = resolve_dsn(getattr(self.args, "target_dsn", None), TARGET_ENV)
        secret = getattr(self.args, "target_secret", None)
        if secret:
            dsn = dsn_from_secret(self.client("secretsmanager"), secret, dsn)
        if getattr(self.args, "target_iam_auth", False):
            dsn = with_iam_token(self.client("rds"), dsn)
        return dsn

    def progress(self, description: str, *, unit: str, total: int | None = None) -> Any:
        """Progress on standard error: a bar on a terminal, a plain line every :data:`PROGRESS_LINE_SECONDS`
        otherwise (a log, CI), nothing with ``--no-progress``."""
        from tqdm import tqdm

        if not self.args.no_progress and not self.err.isatty():
            return LineProgress(description, unit=unit, total=total, out=self.err, every=PROGRESS_LINE_SECONDS)
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
            with state_mod.mirrored(location, lambda: self.client("s3"), lock_for=lock_for, lease_seconds=lease, say=self.say):
                yield location.local
        except state_mod.StateConflict as conflict:
            raise UsageError(str(conflict)) from None

    def stack_outputs(self) -> dict[str, Any]:
        """The deployed stack's outputs from ``--stack-outputs`` (``name -> value``; none given: empty)."""
        path = getattr(self.args, "stack_outputs", None)
        return read_stack_outputs(Path(path)) if path else {}

    def boto3_session(self, botocore_session: Any = None) -> Any:
        """A boto3 session of the command's profile and region (over ``botocore_session`` when given: one whose
        components a command has set, such as its response parser's defaults)."""
        import boto3

        return boto3.Session(profile_name=self.args.profile, region_name=self.args.region, botocore_session=botocore_session)

    def client(self, service: str, botocore_session: Any = None, **kwargs: Any) -> Any:
        """A boto3 client of the command's profile and region; ``--endpoint-url`` when given (else boto3's own
        ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``)."""
        if getattr(self.args, "endpoint_url", None):
            kwargs.setdefault("endpoint_url", self.args.endpoint_url)
        return self.boto3_session(botocore_session).client(service, **kwargs)
