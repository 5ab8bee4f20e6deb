"""Contracts: the facts the stack writes and ``migrationctl`` (and the rehearsals) read, each declared once.

============= ==========================================================================================
module        what
============= ==========================================================================================
``phases``    the phase table: what exists and runs in each phase, which transitions are allowed
``outputs``   the stack's outputs: their names, descriptions and sensitivity, and the three shapes an
              outputs file comes in
``names``     the names both sides use: the way back's slot, the fence's schema and table, the DMS tasks'
``environment`` every environment variable the kit reads, who reads it and what it does
============= ==========================================================================================
"""
