"""The database side of the migration: ``preflight``, ``params export``, ``schema pre-data|post-data``,
``sequences sync``, ``verify`` (schema parity and data parity) and ``lag``.

The PostgreSQL building blocks it shares with ``cutover`` live in :mod:`..pg`; :mod:`.commands`
registers the commands and renders their results; the other modules do the work.
"""
