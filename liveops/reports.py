"""Report pages of the live-ops admin: tables and server-rendered SVG charts.

Mounted under `/admin/reports/` (see `gamebackend/urls.py`), each view wrapped in
`admin.site.admin_view` (staff login) and checking the permission of the data it shows:

- economy sources and sinks: `economy.view_ledgerentry`;
- ROAS with anomalies, ARPDAU, reconciliation: the analytics report models' view permissions.

The data comes from the owning apps' selectors (`analytics.selectors`, `economy.selectors`).
Every table has a "Download CSV" link: the same URL with `?format=csv&table=<name>`
(`liveops.report_downloads`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.safestring import mark_safe

from analytics import selectors as analytics_selectors
from analytics.selectors import Campaign
from economy import selectors as economy_selectors
from liveops.charts import Series, bar_chart, line_chart
from liveops.report_downloads import (
    CsvTable,
    csv_query,
    csv_table_response,
    report_permissions,
    wants_csv,
)

if TYPE_CHECKING:
    from analytics.models import ArpdauDaily, RoasDaily

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
    """The requested inclusive range; by default the DEFAULT_DAYS days up to the latest data.

    Only `from` given: from that day to the latest data, at most MAX_DAYS days (and the day
    itself when it is after the latest data, so the page shows the day asked for, empty).
    """
    data = form.cleaned_data if form.is_valid() else {}
    low, high = data.get("day_from"), data.get("day_to")
    if high is None:
        high = latest or datetime.now(UTC).date()
        if low is not None:
            high = min(max(high, low), low + timedelta(days=MAX_DAYS - 1))
    if low is None:
        low = high - timedelta(days=DEFAULT_DAYS - 1)
    return DayRange(low=low, high=high)


def _render(
    request: HttpRequest, template: str, *, title: str, context: dict[str, Any]
) -> HttpResponse:
    return TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "title": title, **context},
    )


def _page_query(days: DayRange, campaigns: Sequence[Campaign] = ()) -> list[tuple[str, object]]:
    """The filters of a page as shown: its range and, on the campaign reports, the campaigns."""
    return [
        ("day_from", days.low.isoformat()),
        ("day_to", days.high.isoformat()),
        *(("campaign", campaign.key) for campaign in campaigns),
    ]


# --- Economy: sources and sinks --------------------------------------------------------------

FLOW_HEADER = ("day", "currency", "kind", "reason", "granted", "spent", "entries")
FLOW_SUMMARY_HEADER = ("currency", "kind", "reason", "granted", "spent", "net", "entries")


def _flow_summary(rows: list[economy_selectors.LedgerFlow]) -> list[dict[str, Any]]:
    by_reason: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        totals = by_reason[(row.currency, row.kind, row.reason)]
        totals[0] += row.granted
        totals[1] += row.spent
        totals[2] += row.entries
    return [
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


def _flow_csv_tables(days: DayRange) -> list[CsvTable]:
    def flows() -> list[economy_selectors.LedgerFlow]:
        return economy_selectors.ledger_flows(day_from=days.low, day_to=days.high)

    return [
        CsvTable(
            "summary",
            f"economy_totals_{days.low}_{days.high}",
            FLOW_SUMMARY_HEADER,
            lambda: ([row[name] for name in FLOW_SUMMARY_HEADER] for row in _flow_summary(flows())),
        ),
        CsvTable(
            "daily",
            f"economy_daily_{days.low}_{days.high}",
            FLOW_HEADER,
            lambda: (
                (r.day, r.currency, r.kind, r.reason, r.granted, r.spent, r.entries)
                for r in flows()
            ),
        ),
    ]


@report_permissions("economy.view_ledgerentry")
def economy_flows_view(request: HttpRequest) -> HttpResponseBase:
    form = DayRangeForm(request.GET or None)
    days = day_range_from(form, latest=economy_selectors.ledger_latest_day())
    if wants_csv(request):
        return csv_table_response(request, form=form, tables=_flow_csv_tables(days))
    rows = economy_selectors.ledger_flows(day_from=days.low, day_to=days.high)

    per_currency: dict[str, dict[date, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    for row in rows:
        per_currency[row.currency][row.day][0] += row.granted
        per_currency[row.currency][row.day][1] += row.spent
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
    return _render(
        request,
        "admin/reports/economy_flows.html",
        title="Economy sources and sinks",
        context={
            "form": form,
            "days": days,
            "rows": rows,
            "charts": charts,
            "summary": _flow_summary(rows),
            "csv_query": csv_query(*_page_query(days)),
        },
    )


# --- Analytics: ROAS, ARPDAU, reconciliation ---------------------------------------------------

TOP_CAMPAIGNS = 6


def _shown_campaigns(request: HttpRequest, every: list[Campaign]) -> list[Campaign]:
    """The campaigns picked in `?campaign=` (media_source|campaign) among `every`, else the
    TOP_CAMPAIGNS first of `every` (ranked by the report)."""
    known = set(every)
    picked = [
        campaign
        for campaign in map(Campaign.from_key, request.GET.getlist("campaign"))
        if campaign in known
    ]
    return picked or every[:TOP_CAMPAIGNS]


def _campaign_context(
    days: DayRange, every: list[Campaign], shown: list[Campaign]
) -> dict[str, Any]:
    return {
        "campaign_choices": [(campaign.key, campaign.label) for campaign in every],
        "shown": {campaign.key for campaign in shown},
        "extra_filters": [("campaign", campaign.key) for campaign in shown],
        "csv_query": csv_query(*_page_query(days, shown)),
    }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _by_campaign(
    rows: Sequence[RoasDaily] | Sequence[ArpdauDaily],
) -> dict[Campaign, dict[date, Any]]:
    grouped: dict[Campaign, dict[date, Any]] = defaultdict(dict)
    for row in rows:
        grouped[Campaign(row.media_source, row.campaign)][row.date] = row
    return grouped


ROAS_HEADER = (
    "media_source",
    "campaign",
    "day",
    "cost_usd",
    "gross_revenue_usd",
    "reversed_usd",
    "revenue_usd",
    "roas",
    "anomaly",
)
ANOMALY_HEADER = (
    "day",
    "media_source",
    "campaign",
    "roas",
    "baseline_roas",
    "baseline_days",
    "drop",
    "z",
    "cost_usd",
    "revenue_usd",
    "charted",
)


def _roas_csv_tables(days: DayRange, shown: list[Campaign]) -> list[CsvTable]:
    charted = set(shown)

    def anomalies() -> Iterator[list[Any]]:
        for a in analytics_selectors.roas_anomalies(day_from=days.low, day_to=days.high):
            yield [
                a.date,
                a.media_source,
                a.campaign,
                a.roas,
                a.baseline_roas,
                a.baseline_days,
                a.drop,
                a.z,
                a.cost_usd,
                a.revenue_usd,
                Campaign(a.media_source, a.campaign) in charted,
            ]

    def rows() -> Iterator[list[Any]]:
        anomalous = {
            (a.date, a.media_source, a.campaign)
            for a in analytics_selectors.roas_anomalies(day_from=days.low, day_to=days.high)
        }
        selected = analytics_selectors.roas_rows(
            day_from=days.low, day_to=days.high, campaigns=shown
        )
        for r in selected.iterator():
            yield [
                r.media_source,
                r.campaign,
                r.date,
                r.cost_usd,
                r.gross_revenue_usd,
                r.reversed_usd,
                r.revenue_usd,
                r.roas,
                (r.date, r.media_source, r.campaign) in anomalous,
            ]

    return [
        CsvTable("rows", f"roas_{days.low}_{days.high}", ROAS_HEADER, rows),
        CsvTable("anomalies", f"roas_anomalies_{days.low}_{days.high}", ANOMALY_HEADER, anomalies),
    ]


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@report_permissions("analytics.view_roasdaily", "analytics.view_roasanomaly")
def roas_view(request: HttpRequest) -> HttpResponseBase:
    form = DayRangeForm(request.GET or None)
    days = day_range_from(form, latest=analytics_selectors.roas_latest_day())
    every = analytics_selectors.roas_campaigns_ranked(day_from=days.low, day_to=days.high)
    shown = _shown_campaigns(request, every)
    if wants_csv(request):
        return csv_table_response(request, form=form, tables=_roas_csv_tables(days, shown))
    anomalies = list(analytics_selectors.roas_anomalies(day_from=days.low, day_to=days.high))
    anomalous = {(a.date, a.media_source, a.campaign) for a in anomalies}
    rows = list(analytics_selectors.roas_rows(day_from=days.low, day_to=days.high, campaigns=shown))
    by_campaign = _by_campaign(rows)
    charts = []
    for campaign in shown:
        per_day = by_campaign.get(campaign, {})
        values = [_float(per_day[d].roas) if d in per_day else None for d in days.days]
        marked = frozenset(
            index
            for index, day in enumerate(days.days)
            if (day, campaign.media_source, campaign.campaign) in anomalous
        )
        charts.append(
            {
                "name": campaign.label,
                "svg": mark_safe(  # noqa: S308  (charts.py escapes every label)
                    line_chart(
                        title=f"ROAS per day: {campaign.label}",
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
    charted = set(shown)
    anomaly_rows = []
    for a in anomalies:
        campaign = Campaign(a.media_source, a.campaign)
        anomaly_rows.append(
            {
                "anomaly": a,
                "charted": campaign in charted,
                # The page as shown, with this campaign's chart added.
                "chart_query": None
                if campaign in charted
                else urlencode(_page_query(days, [*shown, campaign])),
            }
        )
    uncharted = sum(1 for item in anomaly_rows if not item["charted"])
    return _render(
        request,
        "admin/reports/roas.html",
        title="ROAS per campaign",
        context={
            "form": form,
            "days": days,
            "charts": charts,
            "table": table,
            "anomalies": anomaly_rows,
            "anomaly_count": (
                f"{_plural(len(anomaly_rows), 'anomaly', 'anomalies')} in range, "
                f"{uncharted} in campaigns not charted."
            ),
            **_campaign_context(days, every, shown),
        },
    )


ARPDAU_TOTAL_HEADER = ("day", "revenue_usd", "dau", "arpdau")
ARPDAU_HEADER = ("media_source", "campaign", "day", "revenue_usd", "dau", "arpdau")


def _arpdau_csv_tables(days: DayRange, shown: list[Campaign]) -> list[CsvTable]:
    def totals() -> Iterator[list[Any]]:
        for t in analytics_selectors.arpdau_totals(day_from=days.low, day_to=days.high).iterator():
            yield [t.date, t.revenue_usd, t.dau, t.arpdau]

    def rows() -> Iterator[list[Any]]:
        selected = analytics_selectors.arpdau_rows(
            day_from=days.low, day_to=days.high, campaigns=shown
        )
        for r in selected.iterator():
            yield [r.media_source, r.campaign, r.date, r.revenue_usd, r.dau, r.arpdau]

    return [
        CsvTable("totals", f"arpdau_totals_{days.low}_{days.high}", ARPDAU_TOTAL_HEADER, totals),
        CsvTable("campaigns", f"arpdau_{days.low}_{days.high}", ARPDAU_HEADER, rows),
    ]


@report_permissions("analytics.view_arpdaudaily", "analytics.view_arpdautotal")
def arpdau_view(request: HttpRequest) -> HttpResponseBase:
    form = DayRangeForm(request.GET or None)
    days = day_range_from(form, latest=analytics_selectors.arpdau_latest_day())
    every = analytics_selectors.arpdau_campaigns_ranked(day_from=days.low, day_to=days.high)
    shown = _shown_campaigns(request, every)
    if wants_csv(request):
        return csv_table_response(request, form=form, tables=_arpdau_csv_tables(days, shown))
    totals = {
        row.date: row
        for row in analytics_selectors.arpdau_totals(day_from=days.low, day_to=days.high)
    }
    rows = list(
        analytics_selectors.arpdau_rows(day_from=days.low, day_to=days.high, campaigns=shown)
    )
    by_campaign = _by_campaign(rows)
    series = [
        Series(
            campaign.label,
            [
                _float(by_campaign[campaign][d].arpdau) if d in by_campaign[campaign] else None
                for d in days.days
            ],
        )
        for campaign in shown
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
            **_campaign_context(days, every, shown),
        },
    )


RECONCILIATION_RUNS = 20
RECONCILIATION_HEADER = (
    "run",
    "status",
    "report_day",
    "appsflyer_purchases",
    "gateway_purchases",
    "matched_by_id",
    "matched_by_time",
    "unmatched_appsflyer",
    "unmatched_gateway",
    "match_rate",
    "confirmed_usd",
    "reversed_usd",
    "net_usd",
    "unattributed_usd",
    "unconfirmed_usd",
    "rejected_rows",
)


def _reconciliation_csv_rows() -> Iterator[list[Any]]:
    for s in analytics_selectors.reconciliation_summaries(limit=RECONCILIATION_RUNS):
        yield [
            s.run_id,
            s.run.status,
            s.date,
            s.appsflyer_purchases,
            s.gateway_purchases,
            s.matched_by_id,
            s.matched_by_time,
            s.unmatched_appsflyer,
            s.unmatched_gateway,
            s.match_rate,
            s.confirmed_usd,
            s.reversed_usd,
            s.net_usd,
            s.unattributed_usd,
            s.unconfirmed_usd,
            s.rejected_rows,
        ]


@report_permissions("analytics.view_reconciliationsummary", "analytics.view_pipelinerun")
def reconciliation_view(request: HttpRequest) -> HttpResponseBase:
    if wants_csv(request):
        table = CsvTable("runs", "reconciliation", RECONCILIATION_HEADER, _reconciliation_csv_rows)
        return csv_table_response(request, form=None, tables=[table])
    summaries = analytics_selectors.reconciliation_summaries(limit=RECONCILIATION_RUNS)
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
        context={"summaries": summaries, "chart": chart, "csv_query": csv_query()},
    )


# --- Index and URLs --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLink:
    name: str
    url_name: str
    permissions: tuple[str, ...]
    description: str


# Served by liveops.retention (its own URLs, it builds on this module's day-range form).
RETENTION = ReportLink(
    "Retention per install cohort",
    "admin-retention:report",
    ("telemetry.view_event", "telemetry.view_playerattribution"),
    "D1, D7 and D30 retention per install cohort, for all players and per campaign.",
)

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
    RETENTION,
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


def _admin(view: Callable[[HttpRequest], HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    return admin.site.admin_view(view)


app_name = "admin-reports"
urlpatterns: list[URLPattern] = [
    path("", _admin(reports_index_view), name="index"),
    path("roas/", _admin(roas_view), name="roas"),
    path("arpdau/", _admin(arpdau_view), name="arpdau"),
    path("reconciliation/", _admin(reconciliation_view), name="reconciliation"),
    path("economy/", _admin(economy_flows_view), name="economy-flows"),
]
