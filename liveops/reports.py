"""Report pages of the live-ops admin: tables and server-rendered SVG charts.

Mounted under `/admin/reports/` (see `gamebackend/urls.py`), each view wrapped in
`admin.site.admin_view` (staff login) and checking the permission of the data it shows:

- economy sources and sinks: `economy.view_ledgerentry`;
- ROAS with anomalies, ARPDAU, reconciliation: the analytics report models' view permissions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.safestring import mark_safe

from liveops.charts import Series, bar_chart, line_chart

DEFAULT_DAYS = 30
MAX_DAYS = 400
# Far wider than any ledger or report, and far enough from the calendar's ends (year 1 and
# 9999) that the range arithmetic (the default 30 days back, the day after `to`) stays inside it.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
OUT_OF_RANGE = f"Dates from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}."


def _day_in_range(value: date | None) -> date | None:
    if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
        raise forms.ValidationError(OUT_OF_RANGE, code="out_of_range")
    return value


class DayRangeForm(forms.Form):
    day_from = forms.DateField(label="from", required=False)
    day_to = forms.DateField(label="to", required=False)

    def clean_day_from(self) -> date | None:
        return _day_in_range(self.cleaned_data.get("day_from"))

    def clean_day_to(self) -> date | None:
        return _day_in_range(self.cleaned_data.get("day_to"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("day_from"), cleaned.get("day_to")
        if low and high and low > high:
            raise forms.ValidationError("'from' is after 'to'.")
        if low and high and (high - low).days >= MAX_DAYS:
            raise forms.ValidationError(f"At most {MAX_DAYS} days at a time.")
        return cleaned


@dataclass(frozen=True)
class DayRange:
    low: date
    high: date

    @property
    def days(self) -> list[date]:
        return [self.low + timedelta(days=n) for n in range((self.high - self.low).days + 1)]

    @property
    def labels(self) -> list[str]:
        return [day.isoformat() for day in self.days]


def day_range_from(form: DayRangeForm, *, latest: date | None) -> DayRange:
    """The requested inclusive range; by default the DEFAULT_DAYS days up to the latest data."""
    data = form.cleaned_data if form.is_valid() else {}
    high = data.get("day_to") or latest or datetime.now(UTC).date()
    low = data.get("day_from") or high - timedelta(days=DEFAULT_DAYS - 1)
    if low > high:
        low = high
    return DayRange(low=low, high=high)


def _require(request: HttpRequest, *permissions: str) -> None:
    if not request.user.has_perms(permissions):
        raise PermissionDenied


def _render(
    request: HttpRequest, template: str, *, title: str, context: dict[str, Any]
) -> HttpResponse:
    return TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "title": title, **context},
    )


# --- Economy: sources and sinks --------------------------------------------------------------


@dataclass(frozen=True)
class FlowRow:
    day: date
    currency: str
    kind: str
    reason: str
    granted: int
    spent: int
    entries: int


# Amounts are summed as two parts, amount / 2**32 and amount % 2**32 (both truncate toward zero
# in SQLite and PostgreSQL, so part * 2**32 + rest == amount for either sign): SQLite's SUM() of
# 64-bit integers fails with "integer overflow" past 2**63 - 1, while each part's sum stays far
# inside that range for up to 2**31 entries. PostgreSQL sums bigints exactly anyway.
_SPLIT = 2**32


def _exact_sum(condition: Q) -> dict[str, Sum]:
    return {
        "high": Sum(F("amount") / _SPLIT, filter=condition, default=0),
        "low": Sum(F("amount") % _SPLIT, filter=condition, default=0),
    }


def economy_flows(*, days: DayRange) -> list[FlowRow]:
    """Currency granted (positive amounts) and spent (negative) per day, currency, kind and
    reason, aggregated from the ledger in one GROUP BY over the range; the sums are exact."""
    from economy.models import LedgerEntry

    start = datetime.combine(days.low, time.min, tzinfo=UTC)
    end = datetime.combine(days.high + timedelta(days=1), time.min, tzinfo=UTC)
    granted, spent = _exact_sum(Q(amount__gt=0)), _exact_sum(Q(amount__lt=0))
    rows = (
        LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "wallet__currency__code", "kind", "reason")
        .annotate(
            granted_high=granted["high"],
            granted_low=granted["low"],
            spent_high=spent["high"],
            spent_low=spent["low"],
            entries=Count("id"),
        )
        .order_by("day", "wallet__currency__code", "kind", "reason")
    )
    return [
        FlowRow(
            day=row["day"],
            currency=row["wallet__currency__code"],
            kind=row["kind"],
            reason=row["reason"],
            granted=int(row["granted_high"]) * _SPLIT + int(row["granted_low"]),
            spent=-(int(row["spent_high"]) * _SPLIT + int(row["spent_low"])),
            entries=int(row["entries"]),
        )
        for row in rows
    ]


def economy_flows_view(request: HttpRequest) -> HttpResponse:
    _require(request, "economy.view_ledgerentry")
    from economy.models import LedgerEntry

    form = DayRangeForm(request.GET or None)
    latest = LedgerEntry.objects.order_by("-created_at").values_list("created_at", flat=True)[:1]
    days = day_range_from(form, latest=latest[0].astimezone(UTC).date() if latest else None)
    rows = economy_flows(days=days)

    per_currency: dict[str, dict[date, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    by_reason: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        per_currency[row.currency][row.day][0] += row.granted
        per_currency[row.currency][row.day][1] += row.spent
        totals = by_reason[(row.currency, row.kind, row.reason)]
        totals[0] += row.granted
        totals[1] += row.spent
        totals[2] += row.entries
    charts = []
    for currency, by_day in sorted(per_currency.items()):
        granted = [by_day[day][0] if day in by_day else 0 for day in days.days]
        spent = [-by_day[day][1] if day in by_day else 0 for day in days.days]
        charts.append(
            {
                "currency": currency,
                "svg": mark_safe(  # noqa: S308  (charts.py escapes every label)
                    bar_chart(
                        title=f"{currency}: granted and spent per day (UTC)",
                        x_labels=days.labels,
                        series=[Series("granted", granted), Series("spent", spent)],
                        y_label=currency,
                    )
                ),
            }
        )
    summary = [
        {
            "currency": currency,
            "kind": kind,
            "reason": reason,
            "granted": totals[0],
            "spent": totals[1],
            "net": totals[0] - totals[1],
            "entries": totals[2],
        }
        for (currency, kind, reason), totals in sorted(by_reason.items())
    ]
    return _render(
        request,
        "admin/reports/economy_flows.html",
        title="Economy sources and sinks",
        context={"form": form, "days": days, "rows": rows, "charts": charts, "summary": summary},
    )


# --- Analytics: ROAS, ARPDAU, reconciliation ---------------------------------------------------

TOP_CAMPAIGNS = 6


def _campaign_key(media_source: str, campaign: str) -> str:
    return f"{media_source} / {campaign or '(none)'}"


def _selected_campaigns(
    request: HttpRequest, model: Any, days: DayRange, *, rank_by: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """All campaigns with rows in the range, and the ones to show: those picked in `?campaign=`
    (media_source|campaign), else the TOP_CAMPAIGNS with the largest `rank_by` total."""
    ranked = (
        model.objects.filter(date__gte=days.low, date__lte=days.high)
        .values("media_source", "campaign")
        .annotate(total=Sum(rank_by))
        .order_by("-total", "media_source", "campaign")
    )
    every = [(row["media_source"], row["campaign"]) for row in ranked]
    picked = []
    for value in request.GET.getlist("campaign"):
        media_source, _, campaign = value.partition("|")
        if (media_source, campaign) in every:
            picked.append((media_source, campaign))
    return every, picked or every[:TOP_CAMPAIGNS]


def _latest_day(model: Any) -> date | None:
    return model.objects.order_by("-date").values_list("date", flat=True).first()


def _campaign_filter(campaigns: list[tuple[str, str]]) -> Q:
    condition = Q(pk__in=[])
    for media_source, campaign in campaigns:
        condition |= Q(media_source=media_source, campaign=campaign)
    return condition


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def roas_view(request: HttpRequest) -> HttpResponse:
    _require(request, "analytics.view_roasdaily", "analytics.view_roasanomaly")
    from analytics.models import RoasAnomaly, RoasDaily

    form = DayRangeForm(request.GET or None)
    days = day_range_from(form, latest=_latest_day(RoasDaily))
    every, shown = _selected_campaigns(request, RoasDaily, days, rank_by="cost_usd")
    in_range = Q(date__gte=days.low, date__lte=days.high)
    anomalies = list(
        RoasAnomaly.objects.filter(in_range).order_by("-date", "media_source", "campaign")
    )
    anomalous = {(a.date, a.media_source, a.campaign) for a in anomalies}
    rows = list(
        RoasDaily.objects.filter(in_range & _campaign_filter(shown)).order_by(
            "media_source", "campaign", "date"
        )
    )
    by_campaign: dict[tuple[str, str], dict[date, Any]] = defaultdict(dict)
    for row in rows:
        by_campaign[(row.media_source, row.campaign)][row.date] = row
    charts = []
    for media_source, campaign in shown:
        per_day = by_campaign.get((media_source, campaign), {})
        values = [_float(per_day[d].roas) if d in per_day else None for d in days.days]
        marked = frozenset(
            index
            for index, day in enumerate(days.days)
            if (day, media_source, campaign) in anomalous
        )
        name = _campaign_key(media_source, campaign)
        charts.append(
            {
                "name": name,
                "svg": mark_safe(  # noqa: S308  (charts.py escapes every label)
                    line_chart(
                        title=f"ROAS per day: {name}",
                        x_labels=days.labels,
                        series=[Series("ROAS", values, marked=marked)],
                        y_label="revenue / cost",
                        marked_label="anomaly",
                    )
                ),
            }
        )
    table = [
        {"row": row, "anomaly": (row.date, row.media_source, row.campaign) in anomalous}
        for row in rows
    ]
    return _render(
        request,
        "admin/reports/roas.html",
        title="ROAS per campaign",
        context={
            "form": form,
            "days": days,
            "charts": charts,
            "table": table,
            "anomalies": anomalies,
            "campaign_choices": [(f"{m}|{c}", _campaign_key(m, c)) for m, c in every],
            "shown": {f"{m}|{c}" for m, c in shown},
            "extra_filters": [("campaign", f"{m}|{c}") for m, c in shown],
        },
    )


def arpdau_view(request: HttpRequest) -> HttpResponse:
    _require(request, "analytics.view_arpdaudaily", "analytics.view_arpdautotal")
    from analytics.models import ArpdauDaily, ArpdauTotal

    form = DayRangeForm(request.GET or None)
    days = day_range_from(form, latest=_latest_day(ArpdauTotal))
    every, shown = _selected_campaigns(request, ArpdauDaily, days, rank_by="revenue_usd")
    in_range = Q(date__gte=days.low, date__lte=days.high)
    totals = {row.date: row for row in ArpdauTotal.objects.filter(in_range)}
    rows = list(
        ArpdauDaily.objects.filter(in_range & _campaign_filter(shown)).order_by(
            "media_source", "campaign", "date"
        )
    )
    by_campaign: dict[tuple[str, str], dict[date, Any]] = defaultdict(dict)
    for row in rows:
        by_campaign[(row.media_source, row.campaign)][row.date] = row
    series = [
        Series(
            _campaign_key(media_source, campaign),
            [
                _float(by_campaign[(media_source, campaign)][d].arpdau)
                if d in by_campaign[(media_source, campaign)]
                else None
                for d in days.days
            ],
        )
        for media_source, campaign in shown
    ]
    total_chart = line_chart(
        title="ARPDAU per day, all players (USD)",
        x_labels=days.labels,
        series=[
            Series("all", [_float(totals[d].arpdau) if d in totals else None for d in days.days])
        ],
        y_label="USD",
    )
    campaign_chart = line_chart(
        title="ARPDAU per day and campaign (USD)",
        x_labels=days.labels,
        series=series,
        y_label="USD",
        height=300,
    )
    return _render(
        request,
        "admin/reports/arpdau.html",
        title="ARPDAU per campaign",
        context={
            "form": form,
            "days": days,
            "total_chart": mark_safe(total_chart),  # noqa: S308
            "campaign_chart": mark_safe(campaign_chart),  # noqa: S308
            "totals": [totals[d] for d in days.days if d in totals],
            "rows": rows,
            "campaign_choices": [(f"{m}|{c}", _campaign_key(m, c)) for m, c in every],
            "shown": {f"{m}|{c}" for m, c in shown},
            "extra_filters": [("campaign", f"{m}|{c}") for m, c in shown],
        },
    )


RECONCILIATION_RUNS = 20


def reconciliation_view(request: HttpRequest) -> HttpResponse:
    _require(request, "analytics.view_reconciliationsummary", "analytics.view_pipelinerun")
    from analytics.models import ReconciliationSummary

    summaries = list(
        ReconciliationSummary.objects.select_related("run").order_by("-run_id")[
            :RECONCILIATION_RUNS
        ]
    )
    chart = None
    if summaries:
        latest = summaries[0]
        labels = ["by id", "by time", "unmatched AppsFlyer", "unmatched gateway"]
        chart = mark_safe(  # noqa: S308
            bar_chart(
                title=f"Purchases of run {latest.run_id} (report day {latest.date})",
                x_labels=labels,
                series=[
                    Series(
                        "purchases",
                        [
                            latest.matched_by_id,
                            latest.matched_by_time,
                            latest.unmatched_appsflyer,
                            latest.unmatched_gateway,
                        ],
                    )
                ],
                width=560,
            )
        )
    return _render(
        request,
        "admin/reports/reconciliation.html",
        title="Reconciliation per run",
        context={"summaries": summaries, "chart": chart},
    )


# --- Index and URLs --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLink:
    name: str
    url_name: str
    permissions: tuple[str, ...]
    description: str


REPORTS: list[ReportLink] = [
    ReportLink(
        "ROAS per campaign, with anomalies",
        "admin-reports:roas",
        ("analytics.view_roasdaily", "analytics.view_roasanomaly"),
        "Return on ad spend per campaign per day, net of refunds and chargebacks; "
        "anomalies marked.",
    ),
    ReportLink(
        "ARPDAU per campaign",
        "admin-reports:arpdau",
        ("analytics.view_arpdaudaily", "analytics.view_arpdautotal"),
        "Average revenue per daily active user, per campaign and for all players.",
    ),
    ReportLink(
        "Reconciliation per run",
        "admin-reports:reconciliation",
        ("analytics.view_reconciliationsummary", "analytics.view_pipelinerun"),
        "AppsFlyer purchases matched to the payment gateway, and the revenue confirmed.",
    ),
    ReportLink(
        "Economy sources and sinks",
        "admin-reports:economy-flows",
        ("economy.view_ledgerentry",),
        "Currency granted and spent per reason per day, from the ledger.",
    ),
]


def reports_visible_to(request: HttpRequest) -> list[ReportLink]:
    return [report for report in REPORTS if request.user.has_perms(report.permissions)]


def reports_index_view(request: HttpRequest) -> HttpResponse:
    reports = reports_visible_to(request)
    if not reports:
        raise PermissionDenied
    return _render(
        request, "admin/reports/index.html", title="Reports", context={"reports": reports}
    )


def _admin(view: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    return admin.site.admin_view(view)


app_name = "admin-reports"
urlpatterns: list[URLPattern] = [
    path("", _admin(reports_index_view), name="index"),
    path("roas/", _admin(roas_view), name="roas"),
    path("arpdau/", _admin(arpdau_view), name="arpdau"),
    path("reconciliation/", _admin(reconciliation_view), name="reconciliation"),
    path("economy/", _admin(economy_flows_view), name="economy-flows"),
]
