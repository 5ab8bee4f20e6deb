"""Every environment variable the kit reads, who reads it and what it does: the one list (README's table is
checked against it). Modules name a variable through :class:`Variable`, never as a string of their own."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum


class Variable(StrEnum):
    """An environment variable's name (a ``str``: ``os.environ.get(Variable.MIGRATION_ENV)`` works)."""

    MIGRATION_ENV = "MIGRATION_ENV"
    MIGRATION_CONFIG_DIR = "MIGRATION_CONFIG_DIR"
    MIGRATION_REHEARSAL_ENDPOINT = "MIGRATION_REHEARSAL_ENDPOINT"
    MIGRATION_REHEARSAL_STATE = "MIGRATION_REHEARSAL_STATE"
    TF_PROVIDER_MIRROR = "TF_PROVIDER_MIRROR"
    SYNTH_HCL_OUTPUT = "SYNTH_HCL_OUTPUT"
    JSII_NODE = "JSII_NODE"
    MIGRATION_SOURCE_DSN = "MIGRATION_SOURCE_DSN"
    MIGRATION_TARGET_DSN = "MIGRATION_TARGET_DSN"
    MIGRATION_REVERSE_DSN = "MIGRATION_REVERSE_DSN"
    MIGRATION_APP_DSN = "MIGRATION_APP_DSN"
    MIGRATION_SNAPSHOT_DSN = "MIGRATION_SNAPSHOT_DSN"
    MIGRATIONCTL_KILL_AFTER = "MIGRATIONCTL_KILL_AFTER"
    PGHOST = "PGHOST"
    PGPORT = "PGPORT"
    PGUSER = "PGUSER"
    PGDATABASE = "PGDATABASE"


@dataclasses.dataclass(frozen=True)
class Use:
    """Who reads a variable and what it does there."""

    read_by: str
    purpose: str


USES: Mapping[Variable, Use] = {
    Variable.MIGRATION_ENV: Use("synth (`main.py`, `make synth ENV=…`)", "the environment file to synthesize (default: dev)"),
    Variable.MIGRATION_CONFIG_DIR: Use("synth", "a directory of environment files instead of `config/` (the deploy rehearsal)"),
    Variable.MIGRATION_REHEARSAL_ENDPOINT: Use(
        "synth", "rehearsal mode: every AWS endpoint on this loopback address (the local emulator), dummy keys"
    ),
    Variable.MIGRATION_REHEARSAL_STATE: Use("synth, in rehearsal mode", "the local state file (default: ./rehearsal.tfstate)"),
    Variable.TF_PROVIDER_MIRROR: Use(
        "`make validate`, `make mirror`, the tests", "the filesystem mirror that holds hashicorp/aws for offline runs"
    ),
    Variable.SYNTH_HCL_OUTPUT: Use("cdktf (set by `make synth-hcl`)", "cdktf writes HCL instead of JSON"),
    Variable.JSII_NODE: Use("jsii (set by the kit unless given)", "the Node.js that runs the cdktf bindings (Node 22)"),
    Variable.MIGRATION_SOURCE_DSN: Use("`migrationctl`", "the on-prem source's connection string (instead of `--source-dsn`)"),
    Variable.MIGRATION_TARGET_DSN: Use("`migrationctl`", "Aurora's connection string (instead of `--target-dsn`)"),
    Variable.MIGRATION_REVERSE_DSN: Use(
        "`migrationctl secret fill reverse-target`", "the on-prem connection the reverse DMS task uses"
    ),
    Variable.MIGRATION_APP_DSN: Use("`migrationctl secret fill app`", "the application's Aurora connection"),
    Variable.MIGRATION_SNAPSHOT_DSN: Use(
        "`migrationctl`'s snapshot holder (set by the cutover)", "the database whose switch-point snapshot it holds"
    ),
    Variable.MIGRATIONCTL_KILL_AFTER: Use(
        "`migrationctl cutover|rollback` (tests and rehearsals only)",
        "`operation:step`: the process kills itself after that step",
    ),
    Variable.PGHOST: Use("`migrationctl` (libpq's own variable)", "shown in the connection summary when the DSN has no host"),
    Variable.PGPORT: Use("`migrationctl` (libpq's own variable)", "shown in the connection summary when the DSN has no port"),
    Variable.PGUSER: Use("`migrationctl` (libpq's own variable)", "shown in the connection summary when the DSN has no user"),
    Variable.PGDATABASE: Use(
        "`migrationctl` (libpq's own variable)", "shown in the connection summary when the DSN has no database"
    ),
}


def markdown_table() -> str:
    """README's table of environment variables."""
    rows = ["| variable | read by | what it does |", "| --- | --- | --- |"]
    rows += [f"| `{v.value}` | {USES[v].read_by} | {USES[v].purpose} |" for v in Variable]
    return "\n".join(rows)
