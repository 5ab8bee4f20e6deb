"""The database side of the migration: ``preflight``, ``params export``, ``schema pre-data|post-data``,
``sequences sync``, ``verify`` (schema parity and data parity) and ``lag``.

:mod:`.objects` says which schemas and objects are the user's (one definition for every command); :mod:`.commands`
registers the commands and renders their results; the other modules do the work.
"""
