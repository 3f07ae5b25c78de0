"""The live-ops home page (`/admin/`): yesterday and the last 7 UTC days at a glance, the latest
pipeline run's figures, and a warning when the pipeline has not succeeded lately.

Every figure is read from the apps' selectors (daily aggregates, never the events table) and is
shown only to a viewer allowed to open the page it links to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from accounts import selectors as accounts_selectors
from analytics import selectors as analytics_selectors
from economy import selectors as economy_selectors
from liveops.charts import sparkline
from liveops.reports import reports_visible_to
from telemetry import selectors as telemetry_selectors

DAYS = 7
PIPELINE_STALE_AFTER = timedelta(hours=26)


@dataclass(frozen=True)
class Figure:
    name: str
    yesterday: int
    week: int | None  # None: a 7-day total means nothing (DAU: players repeat across days)
    url: str
    chart: SafeString


def _chart(name: str, days: list[date], values: list[int]) -> SafeString:
    return mark_safe(  # noqa: S308 - the chart escapes its labels
        sparkline(
            title=f"{name}, last {DAYS} days", x_labels=[d.isoformat() for d in days], values=values
        )
    )


def _activity_figures(request: HttpRequest, days: list[date]) -> list[Figure]:
    low, high = days[0], days[-1]
    figures: list[Figure] = []
    user = request.user
    if user.has_perm("telemetry.view_event"):
        activity = telemetry_selectors.daily_activity(low=low, high=high)
        events_url = reverse("admin:telemetry_event_changelist")
        day_query = "?" + urlencode({"day": high.isoformat()})
        dau = [row.players for row in activity]
        events = [row.events for row in activity]
        weekly = telemetry_selectors.unique_players(low=low, high=high)
        figures.append(
            Figure("DAU", dau[-1], weekly, events_url + day_query, _chart("DAU", days, dau))
        )
        figures.append(
            Figure(
                "events",
                events[-1],
                sum(events),
                events_url + day_query,
                _chart("events", days, events),
            )
        )
    if user.has_perm("accounts.view_user"):
        joined = accounts_selectors.new_players_per_day(low=low, high=high)
        new = [joined.get(day, 0) for day in days]
        figures.append(
            Figure(
                "new players",
                new[-1],
                sum(new),
                reverse("admin:accounts_user_changelist") + "?is_staff__exact=0",
                _chart("new players", days, new),
            )
        )
    return figures


@dataclass(frozen=True)
class CurrencyFigure:
    currency: str
    granted_yesterday: int
    granted_week: int
    spent_yesterday: int
    spent_week: int
    url: str
    granted_chart: SafeString
    spent_chart: SafeString


def _currency_figures(request: HttpRequest, days: list[date]) -> list[CurrencyFigure] | None:
    if not request.user.has_perm("economy.view_ledgerentry"):
        return None
    rows = economy_selectors.currency_flows_per_day(low=days[0], high=days[-1])
    by_currency: dict[str, dict[date, Any]] = {}
    for row in rows:
        by_currency.setdefault(row.currency, {})[row.day] = row
    url = (
        reverse("admin-reports:economy-flows")
        + "?"
        + urlencode({"day_from": days[0].isoformat(), "day_to": days[-1].isoformat()})
    )
    figures = []
    for currency, per_day in sorted(by_currency.items()):
        granted = [per_day[d].granted if d in per_day else 0 for d in days]
        spent = [per_day[d].spent if d in per_day else 0 for d in days]
        figures.append(
            CurrencyFigure(
                currency=currency,
                granted_yesterday=granted[-1],
                granted_week=sum(granted),
                spent_yesterday=spent[-1],
                spent_week=sum(spent),
                url=url,
                granted_chart=_chart(f"{currency} granted", days, granted),
                spent_chart=_chart(f"{currency} spent", days, spent),
            )
        )
    return figures


def _pipeline(request: HttpRequest, now: datetime) -> dict[str, Any] | None:
    user = request.user
    if not user.has_perm("analytics.view_pipelinerun"):
        return None
    state = analytics_selectors.pipeline_run_state()
    latest = state.latest
    context: dict[str, Any] = {
        "latest": latest,
        "now": now,
        "latest_url": (
            reverse("admin:analytics_pipelinerun_change", args=[latest.pk]) if latest else None
        ),
        "stale": not state.succeeded_since(now - PIPELINE_STALE_AFTER),
        "stale_hours": int(PIPELINE_STALE_AFTER.total_seconds() // 3600),
        "succeeded": state.latest_succeeded,
    }
    run = state.latest_succeeded
    if run is not None:
        figures = analytics_selectors.run_figures(run=run)
        context["figures"] = figures
        context["show_reconciliation"] = user.has_perms(
            ("analytics.view_reconciliationsummary", "analytics.view_pipelinerun")
        )
        context["show_arpdau"] = user.has_perms(
            ("analytics.view_arpdaudaily", "analytics.view_arpdautotal")
        )
        context["show_roas"] = user.has_perms(
            ("analytics.view_roasdaily", "analytics.view_roasanomaly")
        )
        day = run.date.isoformat()
        context["roas_url"] = (
            reverse("admin-reports:roas") + "?" + urlencode({"day_from": day, "day_to": day})
        )
        context["arpdau_url"] = (
            reverse("admin-reports:arpdau") + "?" + urlencode({"day_from": day, "day_to": day})
        )
    return context


def home_context(request: HttpRequest, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    yesterday = now.date() - timedelta(days=1)
    days = [yesterday - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    return {
        "home_days": days,
        "home_figures": _activity_figures(request, days),
        "home_currencies": _currency_figures(request, days),
        "home_pipeline": _pipeline(request, now),
        "home_reports": reports_visible_to(request),
    }
