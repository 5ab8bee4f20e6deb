"""The PostgreSQL building blocks ``database/`` and ``cutover/`` both use, so neither imports the other.

================= =====================================================================================
module            what
================= =====================================================================================
``objects``       which schemas, tables and objects are the user's (SQL and Python, one definition)
``privileges``    the privilege table: what each user needs on each side, checked through PostgreSQL's own
                  privilege functions; the write privileges a freeze takes away
``write_paths``   who can write a user relation, by any path, asked of PostgreSQL's privilege functions
``grants``        write grants as exact ACL entries, revoked and given back as their grantors
``fence``         the fence row that proves a replication has applied everything written before it
``slots``         logical replication slots and WAL positions
``sequences``     setting one side's sequences past the other's
``identities``    handing GENERATED ALWAYS identity columns to the side that writes
``lag``           how far a replication trails: a slot's bytes, DMS's CloudWatch latency
``schema_parity`` the two schemas compared object by object (verify, and the cutover's post-data gate)
``chunks``        tables, their keys, key ranges and the row hash the data comparison reads
``data_parity``   the rows of two databases compared chunk by chunk (verify, and the switch-point verify)
================= =====================================================================================
"""
