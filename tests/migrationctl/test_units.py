"""migrationctl's pure parts, and its AWS calls through botocore's Stubber (nothing calls real AWS)."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from inventory_migration.migrationctl import cli
from inventory_migration.migrationctl.context import Context
from inventory_migration.migrationctl.database.params import ExportedParameter, ParameterExport, SkippedParameter, translate
from inventory_migration.migrationctl.database.schema import parse_toc
from inventory_migration.migrationctl.db import describe, resolve_dsn
from inventory_migration.migrationctl.output import table
from inventory_migration.migrationctl.pg import lag
from inventory_migration.migrationctl.pg.sequences import plan_sync
from inventory_migration.migrationctl.pgtools import libpq_env

TASK_ARN = "arn:aws:dms:us-east-1:123456789012:task:TASKRESOURCEID7"
INSTANCE_ARN = "arn:aws:dms:us-east-1:123456789012:rep:INSTANCEARNID"


def test_parse_toc() -> None:
    listing = """;
; Archive created at 2026-11-26
;
215; 1259 16386 TABLE catalog category postgres
3342; 2606 16391 CONSTRAINT catalog category category_pkey postgres
3360; 2606 16426 FK CONSTRAINT catalog category category_parent_id_fkey postgres
3366; 2620 16460 TRIGGER inventory stock stock_audit postgres
230; 1255 16447 PROCEDURE inventory restock(character, bigint, integer) postgres
3380; 0 0 SEQUENCE OWNED BY catalog category_id_seq postgres
"""
    entries = parse_toc(listing)
    assert [(e.kind, e.schema, e.name) for e in entries] == [
        ("TABLE", "catalog", "category"),
        ("CONSTRAINT", "catalog", "category category_pkey"),
        ("FK CONSTRAINT", "catalog", "category category_parent_id_fkey"),
        ("TRIGGER", "inventory", "stock stock_audit"),
        ("PROCEDURE", "inventory", "restock(character, bigint, integer)"),
        ("SEQUENCE OWNED BY", "catalog", "category_id_seq"),
    ]
    assert entries[1].table_and_name == ("category", "category_pkey")


@pytest.mark.parametrize(
    ("name", "setting", "vartype", "major", "expected"),
    [
        ("work_mem", "16384", "integer", 16, ("work_mem", "16384")),
        ("enable_seqscan", "off", "bool", 16, ("enable_seqscan", "0")),
        ("jit", "on", "bool", 16, ("jit", "1")),
        ("wal_level", "logical", "enum", 16, "replaced by rds.logical_replication=1, which the stack sets"),
        ("vacuum_defer_cleanup_age", "0", "integer", 16, "removed in PostgreSQL 16"),
        ("vacuum_defer_cleanup_age", "0", "integer", 15, ("vacuum_defer_cleanup_age", "0")),
        ("force_parallel_mode", "off", "enum", 16, ("debug_parallel_query", "off")),
        ("stats_temp_directory", "x", "string", 15, "removed in PostgreSQL 15"),
    ],
)
def test_translate(name: str, setting: str, vartype: str, major: int, expected: Any) -> None:
    assert translate(name, setting, vartype, major) == expected


def test_parameter_export_toml() -> None:
    export = ParameterExport(
        16,
        [ExportedParameter("work_mem", "16384", "16384", "kB"), ExportedParameter("pg_stat_statements.max", "5000", "5000", "")],
        [SkippedParameter("fsync", "off", "storage")],
    )
    text = export.to_toml()
    assert '[aurora.source_parameters]\nwork_mem = "16384"  # kB\n"pg_stat_statements.max" = "5000"' in text
    assert "#   fsync = off: storage" in text


def test_plan_sync() -> None:
    source = {"a.s1": (100, 1), "a.s2": (None, 1), "a.s3": (50, 1), "a.s4": (-10, -1), "a.s5": (5, 1)}
    target = {"a.s1": (1, 1), "a.s2": (None, 1), "a.s3": (5000, 1), "a.s4": (-1, -1)}
    plan = {p.sequence: p for p in plan_sync(source, target, 10)}
    assert (plan["a.s1"].action, plan["a.s1"].new_value) == ("set", 110)
    assert plan["a.s2"].action == "unused on source"
    assert plan["a.s3"].action == "unchanged"
    assert (plan["a.s4"].action, plan["a.s4"].new_value) == ("set", -20)
    assert plan["a.s5"].action == "missing on target"


def test_table_rendering() -> None:
    assert table([], ["a"]) == "(none)"
    assert table([{"a": 1, "bb": "x"}, {"a": 22}], ["a", "bb"]) == "A   BB\n1   x\n22"


def test_dsn_helpers_never_expose_the_password() -> None:
    dsn = "host=db.example port=5433 dbname=inv user=mig password=s3cret"
    assert describe(dsn) == "host db.example port 5433 database inv user mig"
    assert describe("host='unterminated") == "an unparsable connection string"
    env = libpq_env(dsn)
    assert (env["PGHOST"], env["PGPORT"], env["PGDATABASE"], env["PGUSER"], env["PGPASSWORD"]) == (
        "db.example",
        "5433",
        "inv",
        "mig",
        "s3cret",
    )
    assert resolve_dsn(None, "X_DSN", {"X_DSN": "dbname=a"}) == "dbname=a"
    assert resolve_dsn("dbname=b", "X_DSN", {"X_DSN": "dbname=a"}) == "dbname=b"
    assert resolve_dsn(None, "X_DSN", {}) == ""


def stubbed_clients(datapoints: dict[str, list[dict[str, Any]]]) -> tuple[Any, Any, list[Stubber]]:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    cloudwatch, dms = session.client("cloudwatch"), session.client("dms")
    cw_stub, dms_stub = Stubber(cloudwatch), Stubber(dms)
    dms_stub.add_response(
        "describe_replication_tasks",
        {"ReplicationTasks": [{"ReplicationTaskArn": TASK_ARN, "ReplicationInstanceArn": INSTANCE_ARN}]},
        {"Filters": [{"Name": "replication-task-arn", "Values": [TASK_ARN]}]},
    )
    dms_stub.add_response(
        "describe_replication_instances",
        {
            "ReplicationInstances": [
                {"ReplicationInstanceArn": INSTANCE_ARN, "ReplicationInstanceIdentifier": "dms-instance-prod-inv"}
            ]
        },
        {"Filters": [{"Name": "replication-instance-arn", "Values": [INSTANCE_ARN]}]},
    )
    end = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
    for metric in lag.METRICS:
        cw_stub.add_response(
            "get_metric_statistics",
            {"Datapoints": datapoints.get(metric, []), "Label": metric},
            {
                "Namespace": "AWS/DMS",
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "ReplicationInstanceIdentifier", "Value": "dms-instance-prod-inv"},
                    {"Name": "ReplicationTaskIdentifier", "Value": "TASKRESOURCEID7"},
                ],
                "StartTime": end - dt.timedelta(minutes=10),
                "EndTime": end,
                "Period": 60,
                "Statistics": ["Maximum"],
            },
        )
    cw_stub.activate()
    dms_stub.activate()
    return cloudwatch, dms, [cw_stub, dms_stub]


def point(minute: int, value: float) -> dict[str, Any]:
    return {"Timestamp": dt.datetime(2026, 11, 26, 1, minute, tzinfo=dt.UTC), "Maximum": value, "Unit": "Seconds"}


def test_dms_lag_uses_the_task_resource_id_and_the_newest_point() -> None:
    cloudwatch, dms, stubs = stubbed_clients(
        {"CDCLatencySource": [point(55, 3.0), point(58, 7.0)], "CDCLatencyTarget": [point(58, 2.0)]}
    )
    result = lag.dms_lag(cloudwatch, dms, TASK_ARN, now=dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC))
    assert (result.task_resource_id, result.instance_identifier) == ("TASKRESOURCEID7", "dms-instance-prod-inv")
    assert (result.source_seconds, result.target_seconds, result.total_seconds) == (7.0, 2.0, 9.0)
    assert result.at == "2026-11-26T01:58:00+00:00"
    for stub in stubs:
        stub.assert_no_pending_responses()


def test_dms_lag_without_datapoints() -> None:
    cloudwatch, dms, _ = stubbed_clients({})
    result = lag.dms_lag(cloudwatch, dms, TASK_ARN, now=dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC))
    assert result.total_seconds is None and result.at is None


def test_lag_command_with_stubbed_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    cloudwatch, dms, _ = stubbed_clients({"CDCLatencySource": [point(58, 200.0)], "CDCLatencyTarget": [point(58, 100.0)]})
    fake_session = type("S", (), {"client": lambda self, name: {"cloudwatch": cloudwatch, "dms": dms}[name]})()
    monkeypatch.setattr(Context, "boto3_session", lambda self, botocore_session=None: fake_session)
    real = lag.dms_lag
    monkeypatch.setattr(lag, "dms_lag", lambda cw, d, arn: real(cw, d, arn, now=dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)))
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--output", "json", "lag", "--skip-source", "--task-arn", TASK_ARN, "--max-seconds", "120"], out, err)
    assert code == 1, err.getvalue()
    assert json.loads(out.getvalue())["dms"]["total_seconds"] == 300.0


def test_aws_errors_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import NoCredentialsError

    def no_credentials(self: Any, botocore_session: Any = None) -> Any:
        raise NoCredentialsError()

    monkeypatch.setattr(Context, "boto3_session", no_credentials)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["lag", "--skip-source", "--task-arn", TASK_ARN], out, err) == 2
    assert err.getvalue() == "migrationctl: error: AWS: Unable to locate credentials\n"


def test_usage_errors_exit_2() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["lag", "--skip-source"], out, err) == 2
    assert "nothing to measure" in err.getvalue()
    assert cli.main(["verify", "--jobs", "0"], io.StringIO(), io.StringIO()) == 2
    assert cli.main(["frobnicate"], io.StringIO(), io.StringIO()) == 2
    assert cli.main(["--help"], io.StringIO(), io.StringIO()) == 0
    assert cli.main(["verify", "--tables", "a,,b", "--schema-only", "--data-only"], io.StringIO(), io.StringIO()) == 2


def test_bad_task_arn_is_a_usage_error() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["lag", "--skip-source", "--task-arn", "dms-task-full-load-cdc-prod-inv"], out, err) == 2
    assert "not a DMS task ARN" in err.getvalue()


def test_row_hash_uses_value_hashes_and_falls_back_to_text() -> None:
    from psycopg import sql as psql

    from inventory_migration.migrationctl.pg.chunks import base_type, row_hash

    columns = (
        ("id", "bigint", "b"),
        ("price", "numeric(12,2)", "b"),
        ("status", "inventory.stock_status", "e"),
        ("tags", "text[]", "b"),
        ("blob", "bytea", "b"),
        ("at", "timestamp with time zone", "b"),
    )
    text = " ".join(row_hash(columns).as_string(None).split())
    assert text.startswith(
        'coalesce(hashint8extended("id", 1::bigint), -1) # coalesce(hash_numeric_extended("price", 2::bigint), -2)'
    )
    assert 'hashtextextended("status"::text, 3::bigint)' in text  # enums hash their OID: text instead
    assert 'hashtextextended("tags"::text, 4::bigint)' in text and 'hashtextextended("blob"::text, 5::bigint)' in text
    assert """timestamp_hash_extended("at" AT TIME ZONE INTERVAL '00:00', 6::bigint)""" in text
    assert row_hash(()).as_string(None) == "0::bigint"
    assert base_type("character varying(20)") == "character varying"
    assert isinstance(row_hash(columns), psql.Composable)


def test_row_hash_chains_not_null_columns_through_the_seed() -> None:
    from inventory_migration.migrationctl.pg.chunks import row_hash

    columns = (("id", "bigint", "b"), ("note", "text", "b"), ("qty", "integer", "b"))
    text = " ".join(row_hash(columns, frozenset({"id", "qty"})).as_string(None).split())
    assert (
        text == 'hashint4extended("qty", hashint8extended("id", 1::bigint)) # coalesce(hashtextextended("note", 2::bigint), -2)'
    )


def test_procedure_argument_modes_deparse_the_same_on_13_and_16() -> None:
    from inventory_migration.migrationctl.pg.schema_parity import normalize_definition

    on_13 = "CREATE OR REPLACE PROCEDURE s.p(a character, b numeric(10,2), INOUT c integer) LANGUAGE sql AS $$ SELECT 1 $$"
    on_16 = (
        "CREATE OR REPLACE PROCEDURE s.p(IN a character, IN b numeric(10,2),\n INOUT c integer) LANGUAGE sql AS $$ SELECT 1 $$"
    )
    assert normalize_definition("functions", on_13) == normalize_definition("functions", on_16) == on_13
    # A real difference still shows, and functions keep their text.
    assert normalize_definition("functions", on_16.replace("INOUT", "OUT")) != normalize_definition("functions", on_13)
    function = "CREATE OR REPLACE FUNCTION s.f(IN a integer) RETURNS integer"
    assert normalize_definition("functions", function) == function


ON_15 = "SELECT orders.id, orders.total FROM shop.orders WHERE (orders.total > (100)::numeric);"
ON_16 = "SELECT id, total FROM shop.orders WHERE (total > (100)::numeric);"
"""One view over one table, as ``pg_get_viewdef`` deparses it up to 15 (qualified columns) and from 16 on."""


def test_a_single_table_view_deparses_the_same_on_13_and_16() -> None:
    from inventory_migration.migrationctl.pg.schema_parity import normalize_definition

    assert normalize_definition("views", ON_15) == normalize_definition("views", ON_16) == ON_16


def test_a_single_table_view_that_differs_still_differs() -> None:
    from inventory_migration.migrationctl.pg.schema_parity import normalize_definition

    assert normalize_definition("views", ON_15.replace("100", "200")) != normalize_definition("views", ON_16)


def test_a_join_view_keeps_its_qualifiers() -> None:
    from inventory_migration.migrationctl.pg.schema_parity import normalize_definition

    joined = "SELECT o.id, c.email FROM (shop.orders o JOIN shop.customer c ON ((c.id = o.customer_id)));"
    assert normalize_definition("views", joined) == joined
