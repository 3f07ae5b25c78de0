"""Writes of the analytics app: queueing, executing and storing pipeline runs.

A run is always created `queued` (the database allows one queued and one running row at a time)
and moves to `running` only from `queued`, so two triggers can never both start a run. Executing
a run computes the reports into a staging directory, stores every report row and the run's
outcome in one durable transaction, and only then renames the report files into place: a failure
at any point leaves the previous rows and files as they were.

The process executing a run beats a heartbeat (`heartbeat_at`) while it works. A run whose
worker died (SIGKILL, a lost machine) stops beating; whoever next looks at the runs — a new
trigger, the API's run page, the admin — marks it failed once the heartbeat is older than
PIPELINE_HEARTBEAT_TIMEOUT_S (`pipeline_runs_reap`), so it no longer blocks later runs. A
queued run whose task finished, failed or vanished without starting it is marked failed too.

A run's staging directory is `REPORTS_DIR/.staging-run<id>-<random>`. One left behind by a killed
run (GBs at 10M purchases) is removed when its run is marked failed and by the next run before
it stages its own (`staging_dirs_remove_stale`); the directory of a running run is kept.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist

from analytics.errors import PipelineBusy
from analytics.models import (
    ArpdauDaily,
    ArpdauTotal,
    PipelineRun,
    ReconciliationSummary,
    RoasAnomaly,
    RoasDaily,
)
from analytics.pipeline import (
    PipelineInputError,
    PipelineParams,
    PipelineResult,
    PipelineUnexpectedError,
    StageTiming,
    error_line,
    run_pipeline,
)
from analytics.pipeline.inputs import resolve_inputs
from core import metrics

logger = logging.getLogger(__name__)

HASH_CHUNK_BYTES = 1 << 20
REVENUE_FIELDS = {
    "appsflyer": "appsflyer_usd",
    "confirmed": "confirmed_usd",
    "reversed": "reversed_usd",
    "net": "net_usd",
    "unattributed": "unattributed_usd",
    "unconfirmed": "unconfirmed_usd",
}
RECONCILIATION_COUNTS = (
    "window_minutes",
    "appsflyer_rows",
    "non_primary_dropped",
    "duplicates_removed",
    "appsflyer_purchases",
    "gateway_purchases",
    "matched",
    "matched_by_id",
    "matched_by_time",
    "unmatched_appsflyer",
    "unmatched_gateway",
    "refunds",
    "chargebacks",
    "chargeback_reversals",
    "orphan_reversals",
    "rejected_rows",
)


def yesterday_utc() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date() - datetime.timedelta(days=1)


def pipeline_parameters(
    *,
    data_dir: Path | None = None,
    reports_dir: Path | None = None,
    window_minutes: int = 10,
    anomaly_drop: float = 0.30,
    anomaly_days: int = 7,
    anomaly_min_days: int = 3,
    anomaly_min_spend: Decimal = Decimal("1.00"),
) -> dict[str, Any]:
    """The JSON-storable parameters of a run (directories default to the settings)."""
    return {
        "data_dir": str(data_dir or settings.DATA_DIR),
        "reports_dir": str(reports_dir or settings.REPORTS_DIR),
        "window_minutes": window_minutes,
        "anomaly_drop": anomaly_drop,
        "anomaly_days": anomaly_days,
        "anomaly_min_days": anomaly_min_days,
        "anomaly_min_spend": str(anomaly_min_spend),
    }


def _active_run_id() -> int | None:
    active = (
        PipelineRun.objects.filter(status__in=PipelineRun.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    return active


STAGING_PREFIX = ".staging-"
_STAGING_OF_RUN = re.compile(r"\.staging-run(\d+)-")


def staging_dir_create(reports_dir: Path, run_id: int) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}run{run_id}-", dir=reports_dir))


def staging_dirs_remove_stale(reports_dir: Path, *, starting_run: int | None = None) -> list[str]:
    """Remove the staging directories in `reports_dir` that no running run owns.

    They are what a killed run leaves. `starting_run` is the caller's own run, which has not
    made its directory yet. The directory is listed before the running runs are read: a run
    makes its directory only after it committed `running`, so every directory listed belongs to
    a run the query sees (queued runs have none). A directory without a run id in its name (made
    before ids were part of it) is removed only while no other run is running.
    """
    try:
        found = [
            path
            for path in reports_dir.iterdir()
            if path.name.startswith(STAGING_PREFIX) and path.is_dir()
        ]
    except FileNotFoundError:
        return []
    if not found:
        return []
    running = set(
        PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).values_list("pk", flat=True)
    ) - {starting_run}
    removed = []
    for path in found:
        owner = _STAGING_OF_RUN.match(path.name)
        if (int(owner[1]) in running) if owner else bool(running):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    if removed:
        logger.warning("removed staging directories of dead runs: %s", ", ".join(sorted(removed)))
    return removed


def _reports_dir_of(run: PipelineRun) -> Path:
    return Path(run.parameters.get("reports_dir") or settings.REPORTS_DIR)


def heartbeat_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.PIPELINE_HEARTBEAT_TIMEOUT_S)


def heartbeat_interval_seconds() -> float:
    """How often the executing process beats: a quarter of the timeout (at least 0.1 s)."""
    return max(settings.PIPELINE_HEARTBEAT_TIMEOUT_S / 4, 0.1)


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


def _queued_run_orphaned(run: PipelineRun, now: datetime.datetime) -> str | None:
    """Why a queued run will never start (its task is gone or done), or None while it may."""
    from analytics.tasks import run_pipeline_task

    if not run.task_id:
        # Enqueuing happens right after the run commits (and `run_pipeline` starts its run at
        # once), so a run without a task for a whole timeout lost its process in between.
        if now - run.queued_at > heartbeat_timeout():
            return "the run was never handed to the task worker"
        return None
    if not run_pipeline_task.get_backend().supports_get_result:
        return None
    try:
        result = run_pipeline_task.get_result(run.task_id)
    except TaskResultDoesNotExist:
        return f"the run's task {run.task_id} no longer exists"
    if result.status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
        return f"the run's task {run.task_id} ended ({result.status}) without starting the run"
    if result.status == TaskResultStatus.RUNNING and now - run.queued_at > heartbeat_timeout():
        # A worker claimed the task and died before it could mark the run running.
        return f"the worker of task {run.task_id} stopped before the run started"
    return None


def pipeline_runs_reap() -> list[int]:
    """Mark failed the active runs nothing works on any more; returns their ids.

    A running run is dead once its heartbeat is older than PIPELINE_HEARTBEAT_TIMEOUT_S; a
    queued one once its task is gone or finished. Every update is conditional on the row being
    as it was read, so a heartbeat or a worker picking the run up in between wins, and two
    concurrent callers mark a run failed once.
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
        why = _queued_run_orphaned(queued, now)
        if why is not None and _reap(queued, now, why):
            reaped.append(queued.pk)
    return reaped


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
    """Inside the caller's transaction: refuse while a run is active, else insert one queued.

    Runs whose worker is gone are marked failed first, so they do not block the new one.
    """
    pipeline_runs_reap()
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


def pipeline_run_enqueue(
    *,
    report_date: datetime.date | None,
    triggered_by: Any,
    source: str,
    parameters: dict[str, Any] | None = None,
) -> PipelineRun:
    """Queue a run for the task worker; `PipelineBusy` while one is queued or running."""
    with transaction.atomic(durable=True):
        run = _create_queued_run(
            report_date=report_date or yesterday_utc(),
            triggered_by=triggered_by,
            source=source,
            parameters=parameters or pipeline_parameters(),
        )
        run_id = run.pk
        transaction.on_commit(lambda: _hand_to_worker(run_id))
    return run


def _hand_to_worker(run_id: int) -> None:
    from analytics.tasks import run_pipeline_task

    result = run_pipeline_task.enqueue(run_id)
    # Remembered so that a queued run whose task fails or vanishes can be told from a waiting one.
    PipelineRun.objects.filter(pk=run_id, task_id="").update(task_id=str(result.id))


def pipeline_run_now(
    *,
    report_date: datetime.date,
    parameters: dict[str, Any],
    triggered_by: Any = None,
    source: str = PipelineRun.Source.CRON,
    on_stage: Callable[[StageTiming], None] | None = None,
    reraise_unexpected: bool = False,
) -> PipelineRun:
    """Create and execute a run in this process (the management command's path).

    With `reraise_unexpected` an error other than a `PipelineInputError` is raised again once
    the run is marked failed (``run_pipeline --traceback`` shows its traceback)."""
    with transaction.atomic(durable=True):
        run = _create_queued_run(
            report_date=report_date,
            triggered_by=triggered_by,
            source=source,
            parameters=parameters,
        )
    return pipeline_run_execute(
        run_id=run.pk, on_stage=on_stage, reraise_unexpected=reraise_unexpected
    )


def pipeline_params(run: PipelineRun) -> PipelineParams:
    stored = run.parameters
    return PipelineParams(
        report_date=run.date,
        window_minutes=int(stored["window_minutes"]),
        anomaly_drop=float(stored["anomaly_drop"]),
        anomaly_days=int(stored["anomaly_days"]),
        anomaly_min_days=int(stored["anomaly_min_days"]),
        anomaly_min_spend=Decimal(stored["anomaly_min_spend"]),
    )


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
        staging_dirs_remove_stale(reports_dir, starting_run=run_id)
        staging = staging_dir_create(reports_dir, run_id)
        result = run_pipeline(data_dir, staging, pipeline_params(run), on_stage=record)
        with transaction.atomic(durable=True):
            still_running = PipelineRun.objects.select_for_update().filter(
                pk=run_id, status=PipelineRun.Status.RUNNING
            )
            if not still_running.values_list("pk", flat=True):
                raise RunAbandoned
            _store_reports(run, result)
            run.status = PipelineRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
            run.inputs = inputs
            run.counts = run_counts(result)
            run.stages = [_stage_json(stage) for stage in stages]
            run.save(update_fields=["status", "finished_at", "inputs", "counts", "stages"])
        committed = True
        for staged in result.report_files:
            os.replace(staged, reports_dir / staged.name)
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


def run_counts(result: PipelineResult) -> dict[str, int]:
    counts = {name: result.reconciliation[name] for name in RECONCILIATION_COUNTS}
    counts.update(
        roas_rows=result.roas_daily.height,
        anomalies=len(result.anomalies),
        arpdau_rows=result.arpdau_daily.height,
    )
    return counts


def _store_reports(run: PipelineRun, result: PipelineResult) -> None:
    """Replace the rows of every day the run covers (inside the caller's transaction)."""
    roas_rows = result.roas_daily.to_dicts()
    RoasDaily.objects.filter(date__in={row["date"] for row in roas_rows}).delete()
    RoasDaily.objects.bulk_create([RoasDaily(run=run, **row) for row in roas_rows], batch_size=1000)

    RoasAnomaly.objects.filter(date=run.date).delete()
    RoasAnomaly.objects.bulk_create(
        [
            RoasAnomaly(
                run=run,
                date=run.date,
                **{key: value for key, value in entry.items() if not key.endswith("_usd")},
                cost_usd=Decimal(str(entry["cost_usd"])),
                revenue_usd=Decimal(str(entry["revenue_usd"])),
            )
            for entry in result.anomalies
        ]
    )

    arpdau_rows = result.arpdau_daily.to_dicts()
    ArpdauDaily.objects.filter(date__in={row["date"] for row in arpdau_rows}).delete()
    ArpdauDaily.objects.bulk_create(
        [ArpdauDaily(run=run, **row) for row in arpdau_rows], batch_size=1000
    )

    total_rows = result.arpdau_totals.to_dicts()
    ArpdauTotal.objects.filter(date__in={row["date"] for row in total_rows}).delete()
    ArpdauTotal.objects.bulk_create(
        [ArpdauTotal(run=run, **row) for row in total_rows], batch_size=1000
    )

    reconciliation = result.reconciliation
    ReconciliationSummary.objects.create(
        run=run,
        date=run.date,
        match_rate=reconciliation["match_rate"],
        data=reconciliation,
        **{name: reconciliation[name] for name in RECONCILIATION_COUNTS},
        **{
            field: Decimal(str(reconciliation["revenue_usd"][key]))
            for key, field in REVENUE_FIELDS.items()
        },
    )
