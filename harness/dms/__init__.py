"""A stand-in for an AWS DMS PostgreSQL -> PostgreSQL CDC task: what the rehearsals replicate with where the real
service cannot run (:mod:`.standin`), and the reader of its logical-decoding stream (:mod:`.decoding`)."""
