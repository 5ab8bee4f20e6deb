"""cdktf entry point: synthesize the migration stack of the selected environment.

Select the environment with ``MIGRATION_ENV=prod`` (default: dev). Run through ``cdktf synth`` /
``make synth``; see README.md.
"""

from __future__ import annotations

import sys


def main(outdir: str | None = None) -> int:
    """Synthesize; ``outdir`` defaults to ``CDKTF_OUTDIR`` (set by the cdktf CLI) or ``cdktf.out``."""
    from inventory_migration.synth.runtime import use_supported_node

    use_supported_node()
    from inventory_migration.config import ConfigError
    from inventory_migration.stacks.rehearsal_mode import RehearsalModeError

    try:
        from inventory_migration.app import build_app

        app, _stack, _config = build_app(outdir=outdir)
    except (ConfigError, RehearsalModeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
