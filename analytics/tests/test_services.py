"""Pipeline runs: queueing, executing, storing report rows, failures and busy refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.tests.factories import StaffFactory
from analytics import report_storage, runs, services
from analytics.errors import PipelineBusy
from analytics.models import (
    ArpdauDaily,
    ArpdauTotal,
    PipelineRun,
    ReconciliationSummary,
    RoasAnomaly,
    RoasDaily,
)
from analytics.pipeline import PipelineParams
from analytics.pipeline.reports import REPORT_FILES

D = dt.date(2024, 3, 10)
pytestmark = pytest.mark.django_db


def stored_roas() -> list[tuple]:
    return list(
        RoasDaily.objects.order_by("date", "media_source", "campaign").values_list(
            "date",
            "media_source",
            "campaign",
            "cost_usd",
            "gross_revenue_usd",
            "reversed_usd",
            "revenue_usd",
            "roas",
        )
    )


def run_now() -> PipelineRun:
    return services.pipeline_run_now(params=PipelineParams(report_date=D))


def test_a_run_stores_every_report_row_and_its_outcome(pipeline_dirs) -> None:
    data_dir, reports_dir = pipeline_dirs
    run = run_now()
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert run.error == ""
    assert run.started_at is not None and run.finished_at >= run.started_at
    assert stored_roas() == [
        (
            dt.date(2024, 3, 9),
            "net",
            "c1",
            Decimal("2"),
            Decimal("0"),
            Decimal("0"),
            Decimal("0"),
            0.0,
        ),
        (D, "net", "c1", Decimal("4"), Decimal("8.3"), Decimal("1.1"), Decimal("7.2"), 1.8),
    ]
    assert list(
        ArpdauDaily.objects.values_list(
            "date", "media_source", "campaign", "revenue_usd", "dau", "arpdau"
        )
    ) == [(D, "net", "c1", Decimal("7.2"), 2, 3.6)]
    assert list(ArpdauTotal.objects.values_list("date", "revenue_usd", "dau", "arpdau")) == [
        (D, Decimal("7.2"), 2, 3.6)
    ]
    assert RoasAnomaly.objects.count() == 0
    summary = ReconciliationSummary.objects.get(run=run)
    assert (
        summary.appsflyer_rows,
        summary.appsflyer_purchases,
        summary.matched,
        summary.matched_by_id,
        summary.matched_by_time,
        summary.refunds,
        summary.rejected_rows,
        summary.net_usd,
        summary.match_rate,
    ) == (3, 2, 2, 1, 1, 1, 1, Decimal("7.2"), 1.0)
    assert summary.data["revenue_usd"]["reversed"] == 1.1
    assert run.counts == {
        "window_minutes": 10,
        "appsflyer_rows": 3,
        "non_primary_dropped": 0,
        "duplicates_removed": 0,
        "appsflyer_purchases": 2,
        "gateway_purchases": 2,
        "matched": 2,
        "matched_by_id": 1,
        "matched_by_time": 1,
        "unmatched_appsflyer": 0,
        "unmatched_gateway": 0,
        "refunds": 1,
        "chargebacks": 0,
        "chargeback_reversals": 0,
        "orphan_reversals": 0,
        "rejected_rows": 1,
        "roas_rows": 2,
        "anomalies": 0,
        "arpdau_rows": 1,
    }
    assert [stage["name"] for stage in run.stages][:3] == ["inputs", "sessions", "purchases"]
    purchases = data_dir / "purchases_raw.csv"
    assert run.inputs[0] == {
        "name": "purchases_raw",
        "file": "purchases_raw.csv",
        "size": purchases.stat().st_size,
        "sha256": hashlib.sha256(purchases.read_bytes()).hexdigest(),
    }
    assert run.parameters["reports_dir"] == str(reports_dir)
    assert sorted(p.name for p in reports_dir.iterdir()) == sorted(REPORT_FILES)


def test_re_running_replaces_the_rows_of_the_days_it_covers(pipeline_dirs) -> None:
    data_dir, _ = pipeline_dirs
    first = run_now()
    RoasDaily.objects.create(
        run=first,
        date=dt.date(2024, 1, 1),
        media_source="old",
        campaign="",
        cost_usd=1,
        gross_revenue_usd=0,
        reversed_usd=0,
        revenue_usd=0,
        roas=0.0,
    )
    costs = data_dir / "costs_daily.csv"
    costs.write_text(costs.read_text().replace("4.00", "8.00"))
    second = run_now()
    assert second.status == PipelineRun.Status.SUCCEEDED
    rows = stored_roas()
    assert [(r[0], r[1], r[3], r[7]) for r in rows] == [
        (dt.date(2024, 1, 1), "old", Decimal("1"), 0.0),  # a day this run does not cover
        (dt.date(2024, 3, 9), "net", Decimal("2"), 0.0),
        (D, "net", Decimal("8"), 0.9),
    ]
    assert set(
        RoasDaily.objects.filter(date__gte=dt.date(2024, 3, 9)).values_list("run", flat=True)
    ) == {second.pk}
    assert ArpdauDaily.objects.count() == 1
    assert ArpdauTotal.objects.count() == 1
    assert ReconciliationSummary.objects.count() == 2  # one per run


def test_a_failed_run_keeps_previous_rows_and_files(pipeline_dirs) -> None:
    data_dir, reports_dir = pipeline_dirs
    good = run_now()
    files = {p.name: p.read_bytes() for p in reports_dir.iterdir()}
    rows = stored_roas()
    (data_dir / "sessions.csv").write_text("user_id,media_source,campaign\n")
    failed = run_now()
    failed.refresh_from_db()
    assert failed.status == PipelineRun.Status.FAILED
    assert failed.error == "sessions.csv: missing required column 'session_start'"
    assert failed.finished_at is not None
    assert stored_roas() == rows
    assert set(RoasDaily.objects.values_list("run", flat=True)) == {good.pk}
    assert ReconciliationSummary.objects.filter(run=failed).count() == 0
    assert {p.name: p.read_bytes() for p in reports_dir.iterdir()} == files


def test_a_failure_while_storing_rows_keeps_previous_rows_and_files(
    pipeline_dirs, monkeypatch
) -> None:
    _, reports_dir = pipeline_dirs
    run_now()
    files = {p.name: p.read_bytes() for p in reports_dir.iterdir()}
    rows = stored_roas()

    def broken(run, result):
        RoasDaily.objects.all().delete()
        raise RuntimeError("database\nwent away")

    monkeypatch.setattr(report_storage, "store_reports", broken)
    failed = run_now()
    assert failed.status == PipelineRun.Status.FAILED
    assert PipelineRun.objects.get(pk=failed.pk).error == "database went away"
    assert stored_roas() == rows
    assert {p.name: p.read_bytes() for p in reports_dir.iterdir()} == files


def test_enqueue_refuses_while_a_run_is_queued_or_running(
    pipeline_dirs, immediate_tasks, django_capture_on_commit_callbacks
) -> None:
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = services.pipeline_run_enqueue(report_date=D, triggered_by=staff, source="api")
    assert len(callbacks) == 1
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(PipelineBusy) as busy,
    ):
        services.pipeline_run_enqueue(report_date=None, triggered_by=staff, source="api")
    assert busy.value.run_id == queued.pk
    assert busy.value.extra == {"runId": queued.pk}
    assert callbacks == []
    PipelineRun.objects.filter(pk=queued.pk).update(status="running")
    with pytest.raises(PipelineBusy):
        run_now()
    assert PipelineRun.objects.count() == 1


def test_the_database_allows_one_queued_run_only() -> None:
    from django.db import IntegrityError, transaction

    PipelineRun.objects.create(date=D, source="cron", status="queued")
    PipelineRun.objects.create(date=D, source="cron", status="running")
    PipelineRun.objects.create(date=D, source="cron", status="failed")
    PipelineRun.objects.create(date=D, source="cron", status="failed")
    with pytest.raises(IntegrityError), transaction.atomic():
        PipelineRun.objects.create(date=D, source="cron", status="queued")
    with pytest.raises(IntegrityError), transaction.atomic():
        PipelineRun.objects.create(date=D, source="cron", status="paused")


def test_the_task_runs_the_queued_run(
    pipeline_dirs, immediate_tasks, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    queued_at = dt.datetime(2026, 3, 2, 0, 0, 30, tzinfo=dt.UTC)  # the run may end after midnight
    monkeypatch.setattr("django.utils.timezone.now", lambda: queued_at)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.pipeline_run_enqueue(report_date=None, triggered_by=None, source="cron")
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert run.date == dt.date(2026, 3, 1)
    assert run.parameters["data_dir"] == str(pipeline_dirs[0])


def test_executing_a_run_that_is_not_queued_changes_nothing(pipeline_dirs) -> None:
    run = PipelineRun.objects.create(date=D, source="cron", status="succeeded")
    assert runs.pipeline_run_execute(run_id=run.pk).status == "succeeded"
    assert RoasDaily.objects.count() == 0
    assert not Path(pipeline_dirs[1]).exists()


def test_a_stored_run_of_the_existing_shape_reads_back_and_executes(pipeline_dirs) -> None:
    data_dir, reports_dir = pipeline_dirs
    stored = {
        "data_dir": str(data_dir),
        "reports_dir": str(reports_dir),
        "window_minutes": 0,
        "anomaly_drop": 0.3,
        "anomaly_days": 7,
        "anomaly_min_days": 3,
        "anomaly_min_spend": "1.00",
    }
    run = PipelineRun.objects.create(date=D, source="cron", parameters=stored)
    run.refresh_from_db()
    assert PipelineParams.from_json(run.parameters, report_date=run.date) == PipelineParams(
        report_date=D, window_minutes=0, anomaly_min_spend=Decimal("1.00")
    )
    executed = runs.pipeline_run_execute(run_id=run.pk)
    assert executed.status == "succeeded"
    # window 0 minutes: the purchase one minute off its gateway row no longer matches by time
    assert (executed.counts["window_minutes"], executed.counts["matched_by_time"]) == (0, 0)
    assert PipelineRun.objects.get(pk=run.pk).parameters == stored
