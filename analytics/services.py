"""Writes of the analytics app: queueing, executing and storing pipeline runs.

A run is always created `queued` (the database allows one queued and one running row at a time)
and moves to `running` only from `queued`, so two triggers can never both start a run. Executing
a run computes the reports into a staging directory, stores every report row and the run's
outcome in one durable transaction, and only then renames the report files into place: a failure
at any point leaves the previous rows and files as they were.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.errors import PipelineBusy
from analytics.models import (
    ArpdauDaily,
    ArpdauTotal,
    PipelineRun,
    ReconciliationSummary,
    RoasAnomaly,
    RoasDaily,
)
from analytics.pipeline import PipelineParams, PipelineResult, StageTiming, run_pipeline
from analytics.pipeline.inputs import resolve_inputs
from gamebackend import metrics

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


def _create_queued_run(
    *,
    report_date: datetime.date,
    triggered_by: Any,
    source: str,
    parameters: dict[str, Any],
) -> PipelineRun:
    """Inside the caller's transaction: refuse while a run is active, else insert one queued."""
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
    from analytics.tasks import run_pipeline_task

    with transaction.atomic(durable=True):
        run = _create_queued_run(
            report_date=report_date or yesterday_utc(),
            triggered_by=triggered_by,
            source=source,
            parameters=parameters or pipeline_parameters(),
        )
        run_id = run.pk
        transaction.on_commit(lambda: run_pipeline_task.enqueue(run_id))
    return run


def pipeline_run_now(
    *,
    report_date: datetime.date,
    parameters: dict[str, Any],
    triggered_by: Any = None,
    source: str = PipelineRun.Source.CRON,
    on_stage: Callable[[StageTiming], None] | None = None,
) -> PipelineRun:
    """Create and execute a run in this process (the management command's path)."""
    with transaction.atomic(durable=True):
        run = _create_queued_run(
            report_date=report_date,
            triggered_by=triggered_by,
            source=source,
            parameters=parameters,
        )
    return pipeline_run_execute(run_id=run.pk, on_stage=on_stage)


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
    text = " ".join(str(error).split())
    return text or type(error).__name__


def pipeline_run_execute(
    *, run_id: int, on_stage: Callable[[StageTiming], None] | None = None
) -> PipelineRun:
    """Run a queued run; on any failure the run is marked failed with a one-line error.

    A run that is no longer queued (a task delivered twice) is returned untouched.
    """
    with transaction.atomic(durable=True):
        run = PipelineRun.objects.select_for_update().get(pk=run_id)
        if run.status != PipelineRun.Status.QUEUED:
            return run
        run.status = PipelineRun.Status.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])

    stages: list[StageTiming] = []

    def record(stage: StageTiming) -> None:
        stages.append(stage)
        if on_stage is not None:
            on_stage(stage)

    reports_dir = Path(run.parameters["reports_dir"])
    staging: Path | None = None
    try:
        data_dir = Path(run.parameters["data_dir"])
        inputs = input_fingerprints(data_dir)
        reports_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=reports_dir))
        result = run_pipeline(data_dir, staging, pipeline_params(run), on_stage=record)
        with transaction.atomic(durable=True):
            _store_reports(run, result)
            run.status = PipelineRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
            run.inputs = inputs
            run.counts = run_counts(result)
            run.stages = [_stage_json(stage) for stage in stages]
            run.save(update_fields=["status", "finished_at", "inputs", "counts", "stages"])
        for staged in result.report_files:
            os.replace(staged, reports_dir / staged.name)
    except Exception as error:
        logger.exception("pipeline run %s failed", run_id)
        run.status = PipelineRun.Status.FAILED
        run.finished_at = timezone.now()
        run.error = _one_line(error)
        run.stages = [_stage_json(stage) for stage in stages]
        PipelineRun.objects.filter(pk=run_id).update(
            status=run.status, finished_at=run.finished_at, error=run.error, stages=run.stages
        )
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    metrics.pipeline_run_record(status=run.status, seconds=_run_seconds(run))
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
