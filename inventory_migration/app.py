"""Build the cdktf app for one environment (no side effects at import)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from inventory_migration.config import CONFIG_DIR, ENV_VAR, ConfigError, MigrationConfig, load_config
from inventory_migration.config.placeholders import PlaceholderPolicy, placeholders
from inventory_migration.contracts.environment import Variable
from inventory_migration.stacks.migration import MigrationStack, stack_name
from inventory_migration.stacks.rehearsal_mode import RehearsalMode
from inventory_migration.synth.cdk import App

CONFIG_DIR_ENV = Variable.MIGRATION_CONFIG_DIR
"""Directory of the environment files, instead of ``config/`` (the deploy rehearsal uses it)."""

CONTEXT_KEY = "environment"
"""cdktf context key that selects the environment (``cdktf synth --context environment=prod``... or cdktf.json)."""


def select_environment(app: App, environ: Mapping[str, str]) -> str | None:
    """``MIGRATION_ENV`` wins, then the cdktf context value, else ``None`` (the embedded dev default)."""
    if environ.get(ENV_VAR):
        return environ[ENV_VAR]
    value = app.node.try_get_context(CONTEXT_KEY)
    return str(value) if value else None


def check_placeholders(config: MigrationConfig, rehearsal: RehearsalMode | None, warn: Callable[[str], None]) -> None:
    """Refuse (``placeholders = "refuse"``, outside rehearsal mode) or warn about the configuration's placeholders."""
    found = placeholders(config)
    if not found:
        return
    source = f"{config.config_dir or CONFIG_DIR}/{config.environment}.toml"
    if config.placeholders is PlaceholderPolicy.REFUSE and rehearsal is None:
        raise ConfigError(found, source=f'{source} (placeholders = "refuse")')
    fields = ", ".join(dict.fromkeys(p.field for p in found))
    warn(f"warning: {source} keeps {len(found)} placeholder value(s) ({fields}); prod refuses them")


def build_app(
    *,
    environment: str | None = None,
    outdir: str | None = None,
    config_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> tuple[App, MigrationStack, MigrationConfig]:
    """The app with the migration stack of the chosen environment.

    ``MIGRATION_CONFIG_DIR`` replaces ``config/`` (the deploy rehearsal writes its phases there);
    ``MIGRATION_REHEARSAL_ENDPOINT`` selects rehearsal mode (``inventory_migration/stacks/rehearsal_mode.py``).
    Placeholders are refused or reported through ``warn`` (:func:`check_placeholders`).
    """
    env = os.environ if environ is None else environ
    app = App(outdir=outdir) if outdir else App()
    directory = config_dir or Path(env.get(CONFIG_DIR_ENV) or CONFIG_DIR)
    config = load_config(environment or select_environment(app, env), config_dir=directory, environ=env)
    rehearsal = RehearsalMode.from_environ(env)
    check_placeholders(config, rehearsal, warn)
    stack = MigrationStack(app, stack_name(config), config=config, rehearsal=rehearsal)
    return app, stack, config
