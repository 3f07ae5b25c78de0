"""Reads of the analytics app for other pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from analytics.models import ArpdauTotal, PipelineRun, ReconciliationSummary, RoasAnomaly


@dataclass(frozen=True)
class RunState:
    """The latest pipeline run (any status) and the latest one that succeeded."""

    latest: PipelineRun | None
    latest_succeeded: PipelineRun | None

    def succeeded_since(self, moment: datetime) -> bool:
        run = self.latest_succeeded
        return run is not None and (run.finished_at or run.queued_at) >= moment


@dataclass(frozen=True)
class RunFigures:
    """What the latest successful run computed for its report day."""

    run: PipelineRun
    net_revenue_usd: Decimal | None  # from the reconciliation
    match_rate: float | None
    arpdau: float | None  # all players, the run's report day
    anomalies: list[RoasAnomaly]  # of the run's report day


def pipeline_run_state() -> RunState:
    latest = PipelineRun.objects.order_by("-queued_at", "-id").first()
    succeeded = (
        PipelineRun.objects.filter(status=PipelineRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .first()
    )
    return RunState(latest=latest, latest_succeeded=succeeded)


def run_figures(*, run: PipelineRun) -> RunFigures:
    summary = ReconciliationSummary.objects.filter(run=run).first()
    total = ArpdauTotal.objects.filter(run=run, date=run.date).first()
    anomalies = list(
        RoasAnomaly.objects.filter(run=run, date=run.date).order_by("media_source", "campaign")
    )
    return RunFigures(
        run=run,
        net_revenue_usd=summary.net_usd if summary else None,
        match_rate=summary.match_rate if summary else None,
        arpdau=total.arpdau if total else None,
        anomalies=anomalies,
    )
