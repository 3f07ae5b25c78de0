"""Writes of the analytics app that other packages call: queueing, running and reaping runs.

A run's lifecycle (create, execute, store) is in `analytics.runs`, its heartbeat and the reaping
of dead runs in `analytics.liveness`, its report rows, files and staging directories in
`analytics.report_storage`. This module hands queued runs to the task worker
(`analytics.tasks`, which imports the lifecycle and not this module), so it is the one that
knows the task.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics import liveness, runs
from analytics.models import PipelineRun
from analytics.pipeline import PipelineParams, StageTiming
from analytics.tasks import run_pipeline_task


def yesterday_utc() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date() - datetime.timedelta(days=1)


def pipeline_runs_reap() -> list[int]:
    """Mark failed the active runs nothing works on any more; returns their ids (inside the
    caller's transaction; see `analytics.liveness.pipeline_runs_reap`)."""
    return liveness.pipeline_runs_reap(task=run_pipeline_task)


def pipeline_runs_reap_now() -> list[int]:
    """`pipeline_runs_reap` in a transaction of its own (readers: the API, the admin)."""
    with transaction.atomic():
        return pipeline_runs_reap()


def pipeline_run_read(*, run_id: int) -> PipelineRun:
    """The run with this id, marked failed first if its worker is gone (the API's run page)."""
    pipeline_runs_reap_now()
    return PipelineRun.objects.get(pk=run_id)


def _create_queued_run(
    *,
    report_date: datetime.date,
    triggered_by: Any,
    source: str,
    parameters: dict[str, Any],
) -> PipelineRun:
    """Inside the caller's transaction: mark the runs whose worker is gone failed, so they do
    not block the new one, then create it queued (`PipelineBusy` while a run is active)."""
    pipeline_runs_reap()
    return runs.create_queued_run(
        report_date=report_date, triggered_by=triggered_by, source=source, parameters=parameters
    )


def pipeline_run_enqueue(
    *,
    report_date: datetime.date | None,
    triggered_by: Any,
    source: str,
) -> PipelineRun:
    """Queue a run with the default parameters for the task worker; `PipelineBusy` while one is
    queued or running."""
    report_date = report_date or yesterday_utc()
    params = PipelineParams(report_date=report_date)
    with transaction.atomic(durable=True):
        run = _create_queued_run(
            report_date=report_date,
            triggered_by=triggered_by,
            source=source,
            parameters=params.to_json(data_dir=settings.DATA_DIR, reports_dir=settings.REPORTS_DIR),
        )
        run_id = run.pk
        transaction.on_commit(lambda: _hand_to_worker(run_id))
    return run


def _hand_to_worker(run_id: int) -> None:
    result = run_pipeline_task.enqueue(run_id)
    # Remembered so that a queued run whose task fails or vanishes can be told from a waiting one.
    PipelineRun.objects.filter(pk=run_id, task_id="").update(task_id=str(result.id))


def pipeline_run_now(
    *,
    params: PipelineParams,
    data_dir: Path | None = None,
    reports_dir: Path | None = None,
    triggered_by: Any = None,
    source: str = PipelineRun.Source.CRON,
    on_stage: Callable[[StageTiming], None] | None = None,
    reraise_unexpected: bool = False,
) -> PipelineRun:
    """Create and execute a run for `params.report_date` in this process (the management
    command's path); the directories default to DATA_DIR and REPORTS_DIR.

    With `reraise_unexpected` an error other than a `PipelineInputError` is raised again once
    the run is marked failed (``run_pipeline --traceback`` shows its traceback)."""
    with transaction.atomic(durable=True):
        run = _create_queued_run(
            report_date=params.report_date,
            triggered_by=triggered_by,
            source=source,
            parameters=params.to_json(
                data_dir=data_dir or settings.DATA_DIR,
                reports_dir=reports_dir or settings.REPORTS_DIR,
            ),
        )
    return runs.pipeline_run_execute(
        run_id=run.pk, on_stage=on_stage, reraise_unexpected=reraise_unexpected
    )
