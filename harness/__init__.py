"""The rehearsals' test harness: everything that *tests* the migration night, none of what runs on it.

Not part of the shipped package (``pyproject.toml`` packages ``inventory_migration`` only): it needs the dev
dependencies (moto, matplotlib, cryptography) and runs from a checkout.

``aws/``      the local AWS emulator (moto's server, patched where it falls short) and boto3 clients for it
``deploy/``   the deploy rehearsal (``make rehearse``): every phase applied, re-planned empty, checked, destroyed
``night/``    the cutover night (``make rehearse-cutover``): PostgreSQL 13 -> 16 under load, with its fault cases
``postgres``  throwaway PostgreSQL servers (13 and 16 from npm, Debian's as a fallback) run as the ``postgres`` user
"""
