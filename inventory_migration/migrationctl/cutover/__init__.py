"""The switch between on-prem (blue) and Aurora (green): ``migrationctl cutover`` and ``migrationctl rollback``.

:mod:`.steps` holds the cutover's step table and :mod:`.rollback_steps` the way back's (and the undo of a cutover that
never switched), run by one loop (:mod:`.step_table`) with the :mod:`.journal`, whose facts are :mod:`.facts`; what
both ways share — the freeze of a side, the drain, the abort — is :mod:`.sides`, and what each step must leave true,
asked of the system afterwards, :mod:`.postconditions`. :mod:`.operations` chooses the table; :mod:`.gates` decides
whether a cutover may start or resume; :mod:`.freeze` takes every write path but the exempt roles' and proves it;
:mod:`.settings` is what both work with; :mod:`.replication` drives the replication in both directions (DMS, or
PostgreSQL's own); :mod:`.switch` moves the load balancer's weights; :mod:`.snapshot_holder` keeps the switch point's
snapshots for the verify (:mod:`.switch_point`); :mod:`.commands` is the CLI plumbing.
"""
