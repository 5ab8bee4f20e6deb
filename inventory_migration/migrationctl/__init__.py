"""migrationctl: the database side of the migration (preflight, parameters, schema, sequences, verify, lag)."""
