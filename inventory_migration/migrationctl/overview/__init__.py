"""The night as a whole: ``status`` (one screen) and ``cleanup`` (what the migration leaves behind, after
decommission)."""
