"""The switch between on-prem (blue) and Aurora (green): ``migrationctl cutover`` and ``migrationctl rollback``.

:mod:`.steps` holds both operations as step tables run by one loop with the :mod:`.journal`, whose facts are
:mod:`.facts`; :mod:`.operations` chooses the table; :mod:`.gates` decides
whether a cutover may start; :mod:`.settings` is what both work with; :mod:`.replication` drives the replication in
both directions (DMS, or PostgreSQL's own); :mod:`.switch` freezes a database and moves the load balancer's weights;
:mod:`.snapshot_holder` keeps the switch point's snapshots for the verify; :mod:`.commands` is the CLI plumbing.
"""
