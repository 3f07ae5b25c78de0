"""The lifecycle of a pipeline run: created `queued`, executed, stored (or marked failed).

A run is always created `queued` (the database allows one queued and one running row at a time)
and moves to `running` only from `queued`, so two triggers can never both start a run. Executing
a run computes the reports into a staging directory, stores every report row and the run's
outcome in one durable transaction, and only then renames the report files into place: a failure
at any point leaves the previous rows and files as they were. Handing runs to the task worker
and reaping dead ones live in `analytics.services`, which may import the task module.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics import report_storage
from analytics.errors import PipelineBusy
from analytics.liveness import Heartbeat, heartbeat_beat, heartbeat_interval_seconds
from analytics.models import PipelineRun
from analytics.pipeline import (
    PipelineInputError,
    PipelineParams,
    PipelineUnexpectedError,
    StageTiming,
    error_line,
    run_pipeline,
)
from analytics.pipeline.inputs import resolve_inputs
from core import metrics

logger = logging.getLogger(__name__)

HASH_CHUNK_BYTES = 1 << 20


def _active_run_id() -> int | None:
    active = (
        PipelineRun.objects.filter(status__in=PipelineRun.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    return active


def create_queued_run(
    *,
    report_date: datetime.date,
    triggered_by: Any,
    source: str,
    parameters: dict[str, Any],
) -> PipelineRun:
    """Inside the caller's transaction: refuse while a run is active, else insert one queued.

    The caller marks the runs whose worker is gone failed first, so they do not block this one.
    """
    active = _active_run_id()
    if active is not None:
        raise PipelineBusy(active)
    try:
        with transaction.atomic():
            return PipelineRun.objects.create(
                status=PipelineRun.Status.QUEUED,
                date=report_date,
                parameters=parameters,
                triggered_by=triggered_by,
                source=source,
            )
    except IntegrityError:
        # Another trigger inserted its queued run between our check and our insert.
        raise PipelineBusy(_active_run_id() or 0) from None


def input_fingerprints(data_dir: Path) -> list[dict[str, Any]]:
    """Name, file, size and sha256 (streamed) of every input."""
    fingerprints = []
    for name, path in resolve_inputs(data_dir).items():
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
        fingerprints.append(
            {
                "name": name,
                "file": path.name,
                "size": path.stat().st_size,
                "sha256": digest.hexdigest(),
            }
        )
    return fingerprints


def _one_line(error: BaseException) -> str:
    if isinstance(error, PipelineInputError | PipelineUnexpectedError):
        return error_line(error)
    text = " ".join(str(error).split())
    return text or type(error).__name__


class RunAbandoned(Exception):
    """The run was marked failed while this process still worked on it."""


def pipeline_run_execute(
    *,
    run_id: int,
    on_stage: Callable[[StageTiming], None] | None = None,
    reraise_unexpected: bool = False,
) -> PipelineRun:
    """Run a queued run; on any failure the run is marked failed with a one-line error.

    A run that is no longer queued (a task delivered twice) is returned untouched. While the run
    executes, a `Heartbeat` thread and every finished stage stamp `heartbeat_at`. A run marked
    failed meanwhile (its heartbeat looked dead) stores nothing and keeps the error it was given.
    """
    with transaction.atomic(durable=True):
        run = PipelineRun.objects.select_for_update().get(pk=run_id)
        if run.status != PipelineRun.Status.QUEUED:
            return run
        run.status = PipelineRun.Status.RUNNING
        run.started_at = timezone.now()
        run.heartbeat_at = run.started_at
        run.save(update_fields=["status", "started_at", "heartbeat_at"])

    with Heartbeat(run_id, heartbeat_interval_seconds()):
        return _execute_running(run, on_stage, reraise_unexpected)


def _execute_running(
    run: PipelineRun,
    on_stage: Callable[[StageTiming], None] | None,
    reraise_unexpected: bool = False,
) -> PipelineRun:
    run_id = run.pk
    stages: list[StageTiming] = []

    def record(stage: StageTiming) -> None:
        stages.append(stage)
        heartbeat_beat(run_id)
        if on_stage is not None:
            on_stage(stage)

    reports_dir = Path(run.parameters["reports_dir"])
    staging: Path | None = None
    committed = False
    unexpected: Exception | None = None
    try:
        data_dir = Path(run.parameters["data_dir"])
        inputs = input_fingerprints(data_dir)
        reports_dir.mkdir(parents=True, exist_ok=True)
        report_storage.staging_dirs_remove_stale(reports_dir, starting_run=run_id)
        staging = report_storage.staging_dir_create(reports_dir, run_id)
        params = PipelineParams.from_json(run.parameters, report_date=run.date)
        result = run_pipeline(data_dir, staging, params, on_stage=record)
        with transaction.atomic(durable=True):
            still_running = PipelineRun.objects.select_for_update().filter(
                pk=run_id, status=PipelineRun.Status.RUNNING
            )
            if not still_running.values_list("pk", flat=True):
                raise RunAbandoned
            report_storage.store_reports(run, result)
            run.status = PipelineRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
            run.inputs = inputs
            run.counts = report_storage.run_counts(result)
            run.stages = [_stage_json(stage) for stage in stages]
            run.save(update_fields=["status", "finished_at", "inputs", "counts", "stages"])
        committed = True
        report_storage.report_files_publish(result.report_files, reports_dir)
    except Exception as error:
        finished_at = timezone.now()
        stored_stages = [_stage_json(stage) for stage in stages]
        ours = PipelineRun.objects.filter(pk=run_id)
        if not committed:
            ours = ours.filter(status=PipelineRun.Status.RUNNING)
        failed = ours.update(
            status=PipelineRun.Status.FAILED,
            finished_at=finished_at,
            error=_one_line(error),
            stages=stored_stages,
        )
        if not failed:
            # pipeline_runs_reap marked the run failed meanwhile (and recorded it): its error stays.
            logger.warning("pipeline run %s was marked failed while it executed", run_id)
            run.refresh_from_db()
            return run
        if isinstance(error, PipelineInputError):
            logger.warning("pipeline run %s failed: %s", run_id, error_line(error))
        else:
            logger.exception("pipeline run %s failed", run_id)
            unexpected = error
        run.status = PipelineRun.Status.FAILED
        run.finished_at = finished_at
        run.error = _one_line(error)
        run.stages = stored_stages
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    metrics.pipeline_run_record(status=run.status, seconds=_run_seconds(run))
    if unexpected is not None and reraise_unexpected:
        raise unexpected
    return run


def _run_seconds(run: PipelineRun) -> float:
    if run.started_at is None or run.finished_at is None:
        return 0.0
    return (run.finished_at - run.started_at).total_seconds()


def _stage_json(stage: StageTiming) -> dict[str, Any]:
    return {"name": stage.name, "seconds": round(stage.seconds, 3), "rows": stage.rows}
