"""Reads of the pipeline's runs and stored reports for the live-ops pages: ROAS rows and
anomalies, ARPDAU per campaign and for all players, the reconciliation of each run, and the
state and figures of the latest run (the home page).

Days are UTC report days, ranges inclusive. Campaigns are (media_source, campaign) pairs; an
empty campaign is a media source's purchases without a campaign name.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q, QuerySet, Sum

from analytics.models import (
    ArpdauDaily,
    ArpdauTotal,
    PipelineRun,
    ReconciliationSummary,
    RoasAnomaly,
    RoasDaily,
)


class Campaign(NamedTuple):
    media_source: str
    campaign: str

    @property
    def key(self) -> str:
        """`media_source|campaign`, the value of the report pages' `?campaign=` parameter."""
        return f"{self.media_source}|{self.campaign}"

    @property
    def label(self) -> str:
        return f"{self.media_source} / {self.campaign or '(none)'}"

    @classmethod
    def from_key(cls, key: str) -> Campaign:
        media_source, _, campaign = key.partition("|")
        return cls(media_source, campaign)


def _in_range(day_from: date, day_to: date) -> Q:
    return Q(date__gte=day_from, date__lte=day_to)


def _of_campaigns(campaigns: Collection[Campaign]) -> Q:
    condition = Q(pk__in=[])
    for media_source, campaign in campaigns:
        condition |= Q(media_source=media_source, campaign=campaign)
    return condition


def _ranked(
    rows: QuerySet[RoasDaily] | QuerySet[ArpdauDaily], *, day_from: date, day_to: date, by: str
) -> list[Campaign]:
    ranked = (
        rows.filter(_in_range(day_from, day_to))
        .values("media_source", "campaign")
        .annotate(total=Sum(by))
        .order_by("-total", "media_source", "campaign")
    )
    return [Campaign(row["media_source"], row["campaign"]) for row in ranked]


# --- ROAS ------------------------------------------------------------------------------------


def roas_latest_day() -> date | None:
    """The last day with a ROAS figure: the last day with spend. Revenue goes on being
    attributed to campaigns for days after their last cost row; those rows have no ROAS (cost
    0), and a range ending on them would chart nothing but empty days."""
    return (
        RoasDaily.objects.filter(cost_usd__gt=0)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )


def roas_campaigns_ranked(*, day_from: date, day_to: date) -> list[Campaign]:
    """Every campaign with ROAS rows in the range, the largest total cost first."""
    return _ranked(RoasDaily.objects.all(), day_from=day_from, day_to=day_to, by="cost_usd")


def roas_rows(
    *, day_from: date, day_to: date, campaigns: Collection[Campaign]
) -> QuerySet[RoasDaily]:
    """The ROAS rows of `campaigns` in the range, per campaign then day."""
    return RoasDaily.objects.filter(
        _in_range(day_from, day_to) & _of_campaigns(campaigns)
    ).order_by("media_source", "campaign", "date")


def roas_anomalies(*, day_from: date, day_to: date) -> QuerySet[RoasAnomaly]:
    """Every anomaly in the range, of every campaign, newest day first."""
    return RoasAnomaly.objects.filter(_in_range(day_from, day_to)).order_by(
        "-date", "media_source", "campaign"
    )


# --- ARPDAU ----------------------------------------------------------------------------------


def arpdau_latest_day() -> date | None:
    """The last day with an ARPDAU figure for all players."""
    return ArpdauTotal.objects.order_by("-date").values_list("date", flat=True).first()


def arpdau_campaigns_ranked(*, day_from: date, day_to: date) -> list[Campaign]:
    """Every campaign with ARPDAU rows in the range, the largest total revenue first."""
    return _ranked(ArpdauDaily.objects.all(), day_from=day_from, day_to=day_to, by="revenue_usd")


def arpdau_rows(
    *, day_from: date, day_to: date, campaigns: Collection[Campaign]
) -> QuerySet[ArpdauDaily]:
    """The ARPDAU rows of `campaigns` in the range, per campaign then day."""
    return ArpdauDaily.objects.filter(
        _in_range(day_from, day_to) & _of_campaigns(campaigns)
    ).order_by("media_source", "campaign", "date")


def arpdau_totals(*, day_from: date, day_to: date) -> QuerySet[ArpdauTotal]:
    """ARPDAU of all players per day in the range, oldest first."""
    return ArpdauTotal.objects.filter(_in_range(day_from, day_to)).order_by("date")


# --- Reconciliation --------------------------------------------------------------------------


def reconciliation_summaries(*, limit: int) -> list[ReconciliationSummary]:
    """The reconciliation of the `limit` latest runs, newest first, each with its run."""
    return list(ReconciliationSummary.objects.select_related("run").order_by("-run_id")[:limit])


# --- Runs ------------------------------------------------------------------------------------


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
