"""Liveness of pipeline runs: the heartbeat of a running run, and reaping the dead ones.

The process executing a run beats a heartbeat (`heartbeat_at`) while it works. A run whose
worker died (SIGKILL, a lost machine) stops beating; whoever next looks at the runs — a new
trigger, the API's run page, the admin — marks it failed once the heartbeat is older than
PIPELINE_HEARTBEAT_TIMEOUT_S (`pipeline_runs_reap`), so it no longer blocks later runs. A
queued run whose task finished, failed or vanished without starting it is marked failed too,
and the staging directories of the runs marked failed are removed.
"""

from __future__ import annotations

import datetime
import logging
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks.exceptions import TaskResultDoesNotExist

from analytics.models import PipelineRun
from analytics.report_storage import staging_dirs_remove_stale
from core import metrics

logger = logging.getLogger(__name__)


def heartbeat_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.PIPELINE_HEARTBEAT_TIMEOUT_S)


def heartbeat_interval_seconds() -> float:
    """How often the executing process beats: a quarter of the timeout (at least 0.1 s)."""
    return max(settings.PIPELINE_HEARTBEAT_TIMEOUT_S / 4, 0.1)


def heartbeat_beat(run_id: int) -> bool:
    """Stamp the run's heartbeat (autocommit); False once the run is no longer running."""
    return bool(
        PipelineRun.objects.filter(pk=run_id, status=PipelineRun.Status.RUNNING).update(
            heartbeat_at=timezone.now()
        )
    )


class Heartbeat:
    """A daemon thread beating a running run's heartbeat every `interval` seconds.

    It uses the thread's own database connection (Django connections are per thread) in
    autocommit, one short UPDATE per beat, and closes it when it stops. A failed beat is logged
    and retried at the next interval: the heartbeat never fails the run itself.
    """

    def __init__(self, run_id: int, interval: float) -> None:
        self.run_id = run_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"pipeline-run-{run_id}-heartbeat", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not heartbeat_beat(self.run_id):
                        return  # finished, or marked failed by pipeline_runs_reap
                except Exception:
                    logger.exception("heartbeat of pipeline run %s failed", self.run_id)
        finally:
            connection.close()


def _reports_dir_of(run: PipelineRun) -> Path:
    return Path(run.parameters.get("reports_dir") or settings.REPORTS_DIR)


def _reap(run: PipelineRun, now: datetime.datetime, error: str, **unchanged: Any) -> bool:
    """Mark `run` failed unless it moved on since it was read (compare-and-set)."""
    reaped = PipelineRun.objects.filter(pk=run.pk, status=run.status, **unchanged).update(
        status=PipelineRun.Status.FAILED, finished_at=now, error=error
    )
    if reaped:
        logger.warning("pipeline run %s marked failed: %s", run.pk, error)
        seconds = (now - run.started_at).total_seconds() if run.started_at else 0.0
        reports_dir = _reports_dir_of(run)
        transaction.on_commit(lambda: _reaped_committed(seconds, reports_dir))
    return bool(reaped)


def _reaped_committed(seconds: float, reports_dir: Path) -> None:
    metrics.pipeline_run_record(status=PipelineRun.Status.FAILED, seconds=seconds)
    staging_dirs_remove_stale(reports_dir)


def _queued_run_orphaned(
    run: PipelineRun, now: datetime.datetime, task: Task[Any, Any]
) -> str | None:
    """Why a queued run will never start (its task is gone or done), or None while it may."""
    if not run.task_id:
        # Enqueuing happens right after the run commits (and `run_pipeline` starts its run at
        # once), so a run without a task for a whole timeout lost its process in between.
        if now - run.queued_at > heartbeat_timeout():
            return "the run was never handed to the task worker"
        return None
    if not task.get_backend().supports_get_result:
        return None
    try:
        result = task.get_result(run.task_id)
    except TaskResultDoesNotExist:
        return f"the run's task {run.task_id} no longer exists"
    if result.status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
        return f"the run's task {run.task_id} ended ({result.status}) without starting the run"
    if result.status == TaskResultStatus.RUNNING and now - run.queued_at > heartbeat_timeout():
        # A worker claimed the task and died before it could mark the run running.
        return f"the worker of task {run.task_id} stopped before the run started"
    return None


def pipeline_runs_reap(*, task: Task[Any, Any]) -> list[int]:
    """Mark failed the active runs nothing works on any more; returns their ids.

    A running run is dead once its heartbeat is older than PIPELINE_HEARTBEAT_TIMEOUT_S; a
    queued one once its task is gone or finished. Every update is conditional on the row being
    as it was read, so a heartbeat or a worker picking the run up in between wins, and two
    concurrent callers mark a run failed once. `task` is the task queued runs are handed to
    (passed in: the task module imports the run lifecycle, which imports this one).
    """
    now = timezone.now()
    reaped = []
    stale = PipelineRun.objects.alias(
        last_sign=Coalesce("heartbeat_at", "started_at", "queued_at")
    ).filter(status=PipelineRun.Status.RUNNING, last_sign__lt=now - heartbeat_timeout())
    for dead in stale:
        last = dead.heartbeat_at or dead.started_at or dead.queued_at
        error = (
            "the worker stopped during the run "
            f"(no heartbeat since {last.astimezone(datetime.UTC).isoformat()})"
        )
        if _reap(dead, now, error, heartbeat_at=dead.heartbeat_at):
            reaped.append(dead.pk)
    for queued in PipelineRun.objects.filter(status=PipelineRun.Status.QUEUED):
        why = _queued_run_orphaned(queued, now, task)
        if why is not None and _reap(queued, now, why):
            reaped.append(queued.pk)
    return reaped
