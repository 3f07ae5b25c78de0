"""The retention report: D1/D7/D30 per install cohort, for all players or per campaign.

Mounted under `/admin/reports/retention/` (see `gamebackend/urls.py`), behind the staff login.
It shows players' activity and attribution, so it needs `telemetry.view_event` and
`telemetry.view_playerattribution` (roles support and analyst; `liveops.reports.RETENTION`). Its
table downloads as CSV by the report pages' convention (`?format=csv&table=retention`,
`liveops.report_downloads`). Figures come from
`telemetry.selectors.retention`; the definitions are in the README ("Retention").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.safestring import mark_safe

from liveops.charts import Series, line_chart
from liveops.report_downloads import (
    CsvTable,
    csv_query,
    csv_table_response,
    report_permissions,
    wants_csv,
)
from liveops.reports import RETENTION, DayRangeForm, day_range_from
from telemetry import selectors


class RetentionForm(DayRangeForm):
    by_campaign = forms.BooleanField(label="per campaign", required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        low, high = cleaned.get("day_from"), cleaned.get("day_to")
        if low and not high and low > selectors.last_complete_day():
            raise forms.ValidationError("'from' is after yesterday, the default 'to'.")
        return cleaned


@dataclass(frozen=True)
class Query:
    low: date
    high: date
    last_day: date
    by_campaign: bool


def _query(form: RetentionForm) -> Query:
    """The cohorts asked for, by the reports' rule (`day_range_from`: by default the 30 up to
    yesterday, `from` alone at most MAX_DAYS of them; a bad form, the default); activity
    counts up to the last cohort or yesterday, whichever is earlier."""
    yesterday = selectors.last_complete_day()
    days = day_range_from(form, latest=yesterday)
    data = form.cleaned_data if form.is_valid() else {}
    return Query(
        low=days.low,
        high=days.high,
        last_day=min(days.high, yesterday),
        by_campaign=bool(data.get("by_campaign")),
    )


def _rows(query: Query, *, by_campaign: bool) -> list[selectors.RetentionRow]:
    return selectors.retention(
        low=query.low, high=query.high, last_day=query.last_day, by_campaign=by_campaign
    )


def retention_chart(rows: list[selectors.RetentionRow]) -> str:
    """D1/D7/D30 in percent per cohort (all players); a too-young cohort is a gap."""
    return line_chart(
        title="Retention per install cohort (%)",
        x_labels=[row.cohort.isoformat() for row in rows],
        series=[
            Series(
                f"D{n}",
                [None if (rate := row.rate(n)) is None else rate * 100 for row in rows],
            )
            for n in selectors.RETENTION_DAYS
        ],
        y_label="%",
    )


@report_permissions(*RETENTION.permissions)
def retention_view(request: HttpRequest) -> HttpResponseBase:
    form = RetentionForm(request.GET or None)
    query = _query(form)
    if wants_csv(request):
        suffix = "-by-campaign" if query.by_campaign else ""
        table = CsvTable(
            "retention",
            f"retention-{query.low.isoformat()}-{query.high.isoformat()}{suffix}",
            selectors.retention_csv_header(by_campaign=query.by_campaign),
            lambda: (
                selectors.retention_csv_row(row, by_campaign=query.by_campaign)
                for row in _rows(query, by_campaign=query.by_campaign)
            ),
        )
        return csv_table_response(request, form=form, tables=[table])
    totals = _rows(query, by_campaign=False)
    rows = _rows(query, by_campaign=True) if query.by_campaign else totals
    shown = [("day_from", query.low), ("day_to", query.high)]
    return TemplateResponse(
        request,
        "admin/reports/retention.html",
        {
            **admin.site.each_context(request),
            "title": RETENTION.name,
            "form": form,
            "days": query,
            "by_campaign": query.by_campaign,
            "rows": rows,
            "retention_days": selectors.RETENTION_DAYS,
            "chart": mark_safe(retention_chart(totals)),  # noqa: S308 - escaped by charts
            "csv_query": csv_query(*shown, *([("by_campaign", "on")] if query.by_campaign else [])),
        },
    )


app_name = "admin-retention"
urlpatterns: list[URLPattern] = [
    path("", admin.site.admin_view(retention_view), name="report"),
]
