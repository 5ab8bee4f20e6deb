"""The deploy rehearsal (``make rehearse``): :mod:`.walk` applies every phase of an environment to the emulator,
:mod:`.checks` reads back what the emulator holds, :mod:`.tomlfile` writes each phase's configuration."""
