"""``[dms]``: the DMS replication instance, the forward task and the reverse (way-back) task (feeds
``constructs/dms.py``)."""

from __future__ import annotations

import dataclasses
import re

from inventory_migration.config.base import Check, Problem, Validated, positive
from inventory_migration.contracts.names import REVERSE_SLOT_NAME
from inventory_migration.synth.dms_settings import table_ref

LSN_PATTERN = re.compile(r"[0-9A-F]{1,8}/[0-9A-F]{1,8}")
"""A PostgreSQL log sequence number as ``pg_lsn`` prints it."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DmsConfig(Validated):
    """AWS DMS: replication instance, endpoints and the full-load-and-CDC task.

    Sizing for 500 GB full load + CDC is reasoned in ``docs/dms-sizing.md``.
    """

    instance_class: str = "dms.r5.large"
    """Replication instance class (memory-optimized for CDC buffers). Default: ``dms.r5.large``."""
    allocated_storage_gb: int = 100
    """Replication instance storage for cached changes and task logs. Default: 100."""
    multi_az: bool = True
    """Standby replication instance in another AZ. Default: true."""
    engine_version: str = "3.5.4"
    """DMS engine version. Default: ``3.5.4``."""
    schemas: tuple[str, ...] = ("inventory",)
    """Source schemas to migrate (every table of each). Default: ``inventory``."""
    lob_max_size_kb: int = 64
    """Limited LOB mode: largest LOB (jsonb, text, bytea) copied, in KB. ``migrationctl preflight`` measures the
    largest value of every LOB column and names the size (or the tables for ``full_lob_tables``). Default: 64."""
    full_lob_tables: tuple[str, ...] = ()
    """``schema.table`` entries moved in full LOB mode (every LOB whole, one at a time: slower), for the few tables
    whose values exceed ``lob_max_size_kb``; both tasks. Default: none."""
    excluded_tables: tuple[str, ...] = ()
    """``schema.table`` entries left out of both tasks: the partitioned parents ``migrationctl preflight`` names (their
    partitions carry the rows and the changes, so each row is loaded once). Default: none."""
    max_full_load_subtasks: int = 8
    """Tables loaded in parallel (1 to 49). Default: 8."""
    create_account_roles: bool = True
    """Create the account-level ``dms-vpc-role`` and ``dms-cloudwatch-logs-role``; set false in an
    account that already has them. Default: true."""
    target_ca_certificate_file: str = ""
    """PEM file (relative to ``config/``) of the Aurora CA bundle; when set the target endpoint uses
    ``verify-full``. Default: none, ``require``."""
    heartbeat_frequency_minutes: int = 1
    """Minutes between DMS heartbeats on the source, keeping the slot's restart LSN moving; below the cutover's drain
    timeout, so the slot (the drain's secondary signal) moves while the source is frozen. Default: 1 (DMS's minimum)."""
    reverse_slot_name: str = REVERSE_SLOT_NAME
    """Logical replication slot on Aurora that holds the way back: ``migrationctl cutover`` creates it before the first
    green write, and the reverse task reads from it. Default: ``migration_way_back``."""
    reverse_cdc_start_position: str = ""
    """LSN where the reverse task starts (``X/Y``), printed and journaled by ``migrationctl cutover``; required from
    the ``cutover`` phase on. Default: none."""

    def _checks(self) -> list[Check]:
        checks: list[Check] = [
            (
                re.fullmatch(r"dms\.[a-z0-9]+\.[a-z0-9]+", self.instance_class) is None,
                Problem("instance_class", self.instance_class, "must look like dms.r5.large"),
            ),
            (
                not 5 <= self.allocated_storage_gb <= 6144,
                Problem("allocated_storage_gb", self.allocated_storage_gb, "must be 5 to 6144"),
            ),
            (not self.schemas, Problem("schemas", self.schemas, "must list at least one schema")),
            (
                not 1 <= self.max_full_load_subtasks <= 49,
                Problem("max_full_load_subtasks", self.max_full_load_subtasks, "must be 1 to 49"),
            ),
            (
                re.fullmatch(r"\d+\.\d+\.\d+", self.engine_version) is None,
                Problem("engine_version", self.engine_version, "must look like 3.5.4"),
            ),
            *positive(self, "lob_max_size_kb", "heartbeat_frequency_minutes"),
            (
                re.fullmatch(r"[a-z0-9_]{1,63}", self.reverse_slot_name) is None,
                Problem("reverse_slot_name", self.reverse_slot_name, "a replication slot name: 1-63 of a-z, 0-9 and _"),
            ),
            (
                bool(self.reverse_cdc_start_position) and LSN_PATTERN.fullmatch(self.reverse_cdc_start_position) is None,
                Problem(
                    "reverse_cdc_start_position", self.reverse_cdc_start_position, "must be a PostgreSQL LSN like 0/1A2B3C4D"
                ),
            ),
        ]
        for field in ("full_lob_tables", "excluded_tables"):
            for entry in getattr(self, field):
                try:
                    schema, _table = table_ref(entry)
                except ValueError:
                    checks.append((True, Problem(field, entry, "must be schema.table (no wildcards)")))
                    continue
                checks.append(
                    (schema not in self.schemas, Problem(field, entry, f"its schema must be one of {list(self.schemas)}"))
                )
        for entry in sorted(set(self.full_lob_tables) & set(self.excluded_tables)):
            checks.append((True, Problem("full_lob_tables", entry, "is also in excluded_tables: one or the other")))
        for schema in self.schemas:
            checks.append(
                (
                    re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", schema) is None,
                    Problem("schemas", schema, "must be a PostgreSQL schema name (no wildcards)"),
                )
            )
        return checks
