"""``schema post-data --jobs N``: one object per transaction, in stages, resumable, on real PostgreSQL."""

from __future__ import annotations

import io
import json
from typing import Any

import psycopg
import pytest

from inventory_migration.migrationctl.cli import main
from inventory_migration.migrationctl.database.post_data import (
    _SESSION_LINE,
    Action,
    PostDataObject,
    Progress,
    Stage,
    statements,
    table_of,
)
from inventory_migration.migrationctl.database.schema import TocEntry
from tests.conftest import copy_data


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def loaded(source_db: str, empty_db: str) -> str:
    """The target as DMS leaves it after the full load: pre-data and the rows, no secondary index or key."""
    assert run("--no-progress", "schema", "pre-data", source_db, empty_db)[0] == 0
    copy_data(source_db, empty_db)
    return empty_db


def post_data(source_db: str, target: str, *extra: str) -> tuple[int, Any, str]:
    code, out, err = run("--output", "json", "schema", "post-data", *extra, source_db, target)
    return code, json.loads(out), err


def fetch(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


FOREIGN_KEYS = "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' ORDER BY 1"


# ------------------------------------------------------------------------------------------------------- units


def _object(kind: str, name: str, sql: str, *, partitioned: bool = False, action: Action = Action.CREATE) -> PostDataObject:
    entry = TocEntry(line="", dump_id=1, kind=kind, schema="s", name=name)
    return PostDataObject(
        entry=entry, sql=sql, table=table_of(sql), table_bytes=0, partitioned=partitioned, action=action, stage=Stage.BUILD
    )


FK_SQL = "ALTER TABLE ONLY s.child\n    ADD CONSTRAINT child_parent_fkey FOREIGN KEY (parent_id) REFERENCES s.parent(id);"


def test_a_foreign_key_is_added_not_valid_then_validated() -> None:
    fk = _object("FK CONSTRAINT", "child child_parent_fkey", FK_SQL)
    assert statements(fk, Stage.FOREIGN_KEY) == [FK_SQL[:-1] + " NOT VALID"]
    assert statements(fk, Stage.VALIDATE) == ['ALTER TABLE s.child VALIDATE CONSTRAINT "child_parent_fkey"']


def test_a_foreign_key_added_before_is_only_validated() -> None:
    fk = _object("FK CONSTRAINT", "child child_parent_fkey", FK_SQL, action=Action.VALIDATE)
    assert statements(fk, Stage.FOREIGN_KEY) == []


def test_a_partitioned_tables_foreign_key_is_added_whole() -> None:
    """PostgreSQL refuses NOT VALID foreign keys on partitioned tables (up to 17)."""
    fk = _object("FK CONSTRAINT", "child child_parent_fkey", FK_SQL, partitioned=True)
    assert statements(fk, Stage.VALIDATE) == [FK_SQL]


def test_an_invalid_index_is_dropped_then_built() -> None:
    sql = "CREATE INDEX i ON s.t USING btree (a);"
    assert statements(_object("INDEX", "i", sql, action=Action.REBUILD), Stage.BUILD) == ['DROP INDEX IF EXISTS "s"."i"', sql]


def test_the_table_is_read_from_the_sql() -> None:
    assert table_of('CREATE UNIQUE INDEX k ON ONLY "My Schema"."T" USING btree (lower(sku));') == '"My Schema"."T"'
    assert table_of(FK_SQL) == "s.child"
    assert table_of("COMMENT ON INDEX s.i IS 'x';") == ""


def test_psql_meta_commands_and_session_settings_are_left_out() -> None:
    for line in (
        "\\restrict abc",
        "\\unrestrict abc",
        "SET lock_timeout = 0;",
        "SELECT pg_catalog.set_config('search_path', '', false);",
    ):
        assert _SESSION_LINE.match(line)
    assert not _SESSION_LINE.match("CREATE INDEX i ON s.t (a);")


def test_progress_names_objects_bytes_the_estimate_and_what_is_building() -> None:
    line = Progress(done=3, total=10, bytes_done=1 << 30, bytes_total=4 << 30, current=("index s.i",), elapsed=60).line()
    assert line == ("post-data: 3/10 objects, 1.0 GiB of 4.0 GiB of tables (25 %), 1m00s, about 3m00s left; building index s.i")


# --------------------------------------------------------------------------------------------- real PostgreSQL


def test_post_data_builds_every_object_and_verifies_equal(source_db: str, loaded: str) -> None:
    code, report, _ = post_data(source_db, loaded, "--jobs", "2")
    assert code == 0, report
    assert report["failed"] == [] and len(report["restored"]) == 10
    assert all(valid for _name, valid in fetch(loaded, FOREIGN_KEYS))
    assert run("--no-progress", "verify", "--schema-only", source_db, loaded)[0] == 0


def test_a_second_run_does_nothing(source_db: str, loaded: str) -> None:
    assert post_data(source_db, loaded)[0] == 0
    code, report, _ = post_data(source_db, loaded)
    assert code == 0 and report["restored"] == [] and report["already_present"] == 10


def test_progress_lines_go_to_standard_error_when_it_is_not_a_terminal(source_db: str, loaded: str) -> None:
    code, _out, err = run("schema", "post-data", "--jobs", "2", source_db, loaded)
    assert code == 0
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("post-data: ") for line in lines)
    assert lines[-1].startswith("post-data: 14/14 objects")  # 10 objects; the 4 foreign keys count twice


def test_a_failure_costs_its_object_only_and_a_rerun_finishes(source_db: str, loaded: str) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:  # a duplicate the unique index will refuse
        conn.execute(
            "UPDATE catalog.category SET name = (SELECT name FROM catalog.category ORDER BY id LIMIT 1) WHERE id = (SELECT max(id) FROM catalog.category)"
        )
    code, report, _ = post_data(source_db, loaded)
    assert code == 1
    assert [f["object"] for f in report["failed"]] == ["constraint catalog.category category_name_key"]
    assert "could not create unique index" in report["failed"][0]["error"]
    assert len(report["restored"]) == 9
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("UPDATE catalog.category SET name = name || ' (2)' WHERE id = (SELECT max(id) FROM catalog.category)")
    code, report, _ = post_data(source_db, loaded)
    assert code == 0 and report["restored"] == ["constraint catalog.category category_name_key"]


def test_a_half_built_index_is_rebuilt(source_db: str, loaded: str) -> None:
    """What a killed ``CREATE INDEX CONCURRENTLY`` leaves: an index marked invalid."""
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("CREATE INDEX stock_low ON inventory.stock (product_id) WHERE quantity < 10")
        conn.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'inventory.stock_low'::regclass")
    code, report, _ = post_data(source_db, loaded)
    assert code == 0
    actions = {o["label"]: o["action"] for o in report["objects"]}
    assert actions["index inventory.stock_low"] == "rebuild"
    assert fetch(loaded, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'inventory.stock_low'::regclass") == [(True,)]


def test_a_key_added_not_valid_is_only_validated(source_db: str, loaded: str) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE ONLY inventory.stock ADD CONSTRAINT stock_product_id_fkey FOREIGN KEY (product_id) "
            "REFERENCES catalog.product(id) NOT VALID"
        )
    code, report, _ = post_data(source_db, loaded)
    assert code == 0, report["failed"]
    actions = {o["label"]: o["action"] for o in report["objects"]}
    assert actions["fk constraint inventory.stock stock_product_id_fkey"] == "validate"
    assert ("stock_product_id_fkey", True) in fetch(loaded, FOREIGN_KEYS)


def test_an_index_of_the_same_name_with_another_definition_is_left_alone(source_db: str, loaded: str) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("CREATE INDEX stock_low ON inventory.stock (warehouse_code)")
    code, report, _ = post_data(source_db, loaded)
    assert code == 1
    assert report["failed"] == [
        {"object": "index inventory.stock_low", "error": "on the target under this name with another definition"}
    ]
    (definition,) = fetch(loaded, "SELECT pg_get_indexdef('inventory.stock_low'::regclass)")[0]
    assert "warehouse_code" in definition


def test_dry_run_lists_what_each_object_needs(source_db: str, loaded: str) -> None:
    code, out, err = run("--no-progress", "schema", "post-data", "--dry-run", source_db, loaded)
    assert code == 0, err
    assert out.startswith("post-data: would restore 10 object(s); 0 already on the target")
    assert "  create    index catalog.product_sku_lower_key" in out
    assert fetch(loaded, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'") == [(0,)]


def test_jobs_must_be_positive(source_db: str, loaded: str) -> None:
    assert run("schema", "post-data", "--jobs", "0", source_db, loaded)[0] == 2


# ------------------------------------------------------------------------------ resume-changes (after post-data)

TASK_ARN = "arn:aws:dms:us-east-1:123456789012:task:ABCDEFGHIJKLMNOP"


def _stubbed_dms(task: dict[str, Any] | None, *, expect_start: bool) -> Any:
    import boto3
    from botocore.stub import Stubber

    dms = boto3.client("dms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(dms)
    stub.add_response(
        "describe_replication_tasks",
        {"ReplicationTasks": [task] if task else []},
        {"Filters": [{"Name": "replication-task-arn", "Values": [TASK_ARN]}]},
    )
    if expect_start:
        stub.add_response(
            "start_replication_task",
            {"ReplicationTask": {"ReplicationTaskArn": TASK_ARN, "Status": "starting"}},
            {"ReplicationTaskArn": TASK_ARN, "StartReplicationTaskType": "resume-processing"},
        )
    stub.activate()
    return dms, stub


def resume_changes(monkeypatch: pytest.MonkeyPatch, dms: Any) -> tuple[int, str, str]:
    from inventory_migration.migrationctl.context import Context

    monkeypatch.setattr(Context, "client", lambda self, name: dms)
    return run("resume-changes", "--task-arn", TASK_ARN)


def _task(status: str, progress: int = 100) -> dict[str, Any]:
    return {
        "ReplicationTaskArn": TASK_ARN,
        "Status": status,
        "StopReason": "Stop Reason CACHED_CHANGES_NOT_APPLIED",
        "ReplicationTaskStats": {"FullLoadProgressPercent": progress},
    }


def test_resume_changes_resumes_a_task_stopped_after_its_full_load(monkeypatch: pytest.MonkeyPatch) -> None:
    dms, stub = _stubbed_dms(_task("stopped"), expect_start=True)
    code, out, _ = resume_changes(monkeypatch, dms)
    assert code == 0 and "resumed (was stopped: Stop Reason CACHED_CHANGES_NOT_APPLIED)" in out
    stub.assert_no_pending_responses()


def test_resume_changes_leaves_a_running_task_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    dms, stub = _stubbed_dms(_task("running"), expect_start=False)
    code, out, _ = resume_changes(monkeypatch, dms)
    assert code == 0 and "already running, nothing to do" in out
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (None, "no such DMS task"),
        (_task("ready"), "the task is 'ready': only a stopped task resumes"),
        (_task("stopped", progress=40), "its full load stopped at 40 %"),
    ],
)
def test_resume_changes_refuses_what_it_cannot_resume(
    monkeypatch: pytest.MonkeyPatch, task: dict[str, Any] | None, message: str
) -> None:
    dms, _stub = _stubbed_dms(task, expect_start=False)
    code, _out, err = resume_changes(monkeypatch, dms)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_the_forward_task_stops_before_applying_cached_changes() -> None:
    import json as json_

    from inventory_migration.synth.dms_settings import TaskSettings

    full_load = json_.loads(TaskSettings(lob_max_size_kb=64).to_json())["FullLoadSettings"]
    assert full_load["StopTaskCachedChangesNotApplied"] is True and full_load["StopTaskCachedChangesApplied"] is False


def test_one_pg_restore_gives_each_entry_the_sql_it_gives_alone(source_db: str, tmp_path: Any) -> None:
    """The archive's post-data entries read in one pg_restore call and split at its entry headers are what one call per
    entry gives (the split is by header, so an entry can neither lose its SQL nor take its neighbour's)."""
    from inventory_migration.migrationctl import pgtools
    from inventory_migration.migrationctl.database import schema
    from inventory_migration.migrationctl.database.post_data import entries_sql

    archive = tmp_path / "schema.dump"
    schema.dump(source_db, archive, ())
    listing = pgtools.run("pg_restore", ["--list", "--section=post-data", str(archive)], "", "archive")
    entries = schema.parse_toc(listing)
    together = entries_sql(archive, entries)
    assert len(together) == len(entries) > 10
    assert {e.dump_id: entries_sql(archive, [e])[e.dump_id] for e in entries} == together


SLOW_SOURCE = """
CREATE SCHEMA slow;
CREATE FUNCTION slow.crawl(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS 'BEGIN PERFORM pg_sleep(0.002); RETURN v; END';
CREATE TABLE slow.item (id int PRIMARY KEY, v int NOT NULL);
CREATE TABLE slow.line (id int PRIMARY KEY, item_id int NOT NULL);
INSERT INTO slow.item SELECT g, g FROM generate_series(1, 1500) g;
INSERT INTO slow.line SELECT g, 1 + g % 1500 FROM generate_series(1, 3000) g;
CREATE INDEX item_crawl ON slow.item (slow.crawl(v));
CREATE INDEX line_item ON slow.line (item_id);
ALTER TABLE slow.line ADD CONSTRAINT line_item_fk FOREIGN KEY (item_id) REFERENCES slow.item;
"""
"""A post-data whose index build takes seconds (an immutable function that sleeps per row), to kill inside it."""


@pytest.fixture()
def slow_pair(pg_pair: Any) -> Any:
    pg_pair.source.psql("postgres", "CREATE DATABASE pd_slow_src")
    pg_pair.target.psql("postgres", "CREATE DATABASE pd_slow_tgt")
    pg_pair.source.psql("pd_slow_src", SLOW_SOURCE)
    source, target = str(pg_pair.source.dsn("pd_slow_src")), str(pg_pair.target.dsn("pd_slow_tgt"))
    assert run("--no-progress", "schema", "pre-data", source, target)[0] == 0
    copy_data(source, target)
    yield source, target
    pg_pair.source.psql("postgres", "DROP DATABASE IF EXISTS pd_slow_src WITH (FORCE)")
    pg_pair.target.psql("postgres", "DROP DATABASE IF EXISTS pd_slow_tgt WITH (FORCE)")


@pytest.mark.wide  # seconds of a build made slow on purpose
def test_a_post_data_killed_inside_a_build_is_finished_by_a_rerun(slow_pair: tuple[str, str]) -> None:
    """SIGKILL while the slow index builds (its transaction open on the server): nothing half-done is left behind, the
    re-run builds what is missing, and the target's schema equals the source's."""
    import os
    import signal
    import subprocess
    import sys
    import time

    source, target = slow_pair
    process = subprocess.Popen(
        [sys.executable, "-m", "inventory_migration.migrationctl.cli", "schema", "post-data", "--jobs", "2", source, target],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    seen = ""
    for line in process.stderr:
        seen += line
        if "building index slow.item_crawl" in line:
            time.sleep(0.5)  # inside the build: 1,500 rows of 2 ms
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(30)
    assert process.returncode == -signal.SIGKILL, seen
    with psycopg.connect(target) as conn:
        built = conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'item_crawl'").fetchone()
        assert built == (0,), "the killed build's transaction never committed"
    code, report, _err = post_data(source, target, "--jobs", "2")
    assert code == 0 and not report["failed"]
    assert run("--no-progress", "verify", "--schema-only", source, target)[0] == 0
