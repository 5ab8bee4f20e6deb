"""``migrationctl resume-changes``: after ``schema post-data``, the forward task applies the changes it cached.

The task stops itself after the full load, before applying the changes cached meanwhile
(``StopTaskCachedChangesNotApplied``, :class:`inventory_migration.synth.dms_settings.TaskSettings`): the target holds the
loaded rows and nothing writes to it while post-data builds. Resuming (``resume-processing``) applies the cached
changes, then replicates on.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from inventory_migration.migrationctl.errors import UsageError

RESUMABLE = "stopped"
RUNNING = ("starting", "running", "resuming")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Resumed:
    """What ``resume-changes`` did to the task."""

    task_arn: str
    status_before: str
    stop_reason: str
    resumed: bool
    full_load_progress: int | None
    """``FullLoadProgressPercent`` when the task stopped (100 after a complete load)."""

    def line(self) -> str:
        if not self.resumed:
            return f"forward task {self.task_arn}: already {self.status_before}, nothing to do"
        return (
            f"forward task {self.task_arn}: resumed (was stopped: {self.stop_reason or 'no reason given'}); it applies "
            "the changes cached since the full load, then replicates on: watch migrationctl lag or status"
        )


def resume(dms: Any, task_arn: str) -> Resumed:
    """Resume a task stopped after its full load; a running task is left alone; anything else is a usage error."""
    tasks = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}])
    if not tasks.get("ReplicationTasks"):
        raise UsageError(f"--task-arn {task_arn}: no such DMS task")
    task = tasks["ReplicationTasks"][0]
    status, reason = task.get("Status", ""), task.get("StopReason", "")
    progress = task.get("ReplicationTaskStats", {}).get("FullLoadProgressPercent")
    if status in RUNNING:
        return Resumed(task_arn=task_arn, status_before=status, stop_reason=reason, resumed=False, full_load_progress=progress)
    if status != RESUMABLE:
        raise UsageError(f"--task-arn {task_arn}: the task is {status!r}: only a stopped task resumes (start it first)")
    if progress is not None and progress < 100:
        raise UsageError(f"--task-arn {task_arn}: its full load stopped at {progress} %: resume it from the console")
    dms.start_replication_task(ReplicationTaskArn=task_arn, StartReplicationTaskType="resume-processing")
    return Resumed(task_arn=task_arn, status_before=status, stop_reason=reason, resumed=True, full_load_progress=progress)
