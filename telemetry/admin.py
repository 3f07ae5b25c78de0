"""Read-only admin for events, clicks and attribution, usable on tables of millions of rows.

The event list never counts the whole table (estimated count on PostgreSQL, capped counts when
filtered), and its filters take their choices from the small daily aggregates rather than a
DISTINCT over the events.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet, Sum
from django.http import HttpRequest

from core.admin_columns import PlayerLinks
from core.admin_pagination import CappedCountPaginator
from core.admin_readonly import ReadOnlyAdmin
from telemetry.models import Click, Event, EventDayCount, PlayerAttribution

DAY_CHOICES = 31


class EventTypeFilter(admin.SimpleListFilter):
    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        types = (
            EventDayCount.objects.order_by("event_type")
            .values_list("event_type", flat=True)
            .distinct()
        )
        return [(event_type, event_type) for event_type in types[:200]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        if self.value():
            return queryset.filter(event_type=self.value())
        return queryset


class EventDayFilter(admin.SimpleListFilter):
    """UTC day of the client timestamp; choices are the latest days that have events."""

    title = "day (UTC, client time)"
    parameter_name = "day"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        days = EventDayCount.objects.order_by("-day").values_list("day", flat=True).distinct()
        return [(day.isoformat(), day.isoformat()) for day in days[:DAY_CHOICES]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        value = self.value()
        if not value:
            return queryset
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return queryset.none()
        start = datetime.combine(day, time.min, tzinfo=UTC)
        return queryset.filter(timestamp__gte=start, timestamp__lt=start + timedelta(days=1))


def day_count_total(request: HttpRequest) -> int | None:
    """The exact number of events the list shows, from the daily aggregates, when the list is
    unfiltered or filtered only by day and/or event type (valid values); else None."""
    ignored = ("p", "o", "_facets")  # page, ordering, and facets (never shown here)
    params = {key: request.GET.getlist(key) for key in request.GET if key not in ignored}
    if not set(params) <= {EventTypeFilter.parameter_name, EventDayFilter.parameter_name}:
        return None
    if any(len(values) != 1 for values in params.values()):
        return None
    rows = EventDayCount.objects.all()
    if event_type := request.GET.get(EventTypeFilter.parameter_name):
        rows = rows.filter(event_type=event_type)
    if day := request.GET.get(EventDayFilter.parameter_name):
        try:
            rows = rows.filter(day=date.fromisoformat(day))
        except ValueError:
            return None
    return int(rows.aggregate(total=Sum("event_count"))["total"] or 0)


@admin.register(Event)
class EventAdmin(PlayerLinks, ReadOnlyAdmin):
    list_display = ["id", "player", "event_type", "timestamp", "received_at", "event_id"]
    list_filter = [EventTypeFilter, EventDayFilter]
    # Exact userId only: a prefix or substring search would scan the players for every page.
    search_fields = ["player__username__exact"]
    search_help_text = "Exact userId of the player."
    list_select_related = ["player"]
    ordering = ["-id"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a facet count is a scan of the events per choice
    paginator = CappedCountPaginator
    list_per_page = 50

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[Event],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> Paginator:
        paginator = CappedCountPaginator(queryset, per_page, orphans, allow_empty_first_page)
        paginator.known_count = day_count_total(request)
        return paginator


@admin.register(Click)
class ClickAdmin(ReadOnlyAdmin):
    list_display = ["click_id", "created_at", "media_source", "campaign", "adset", "ad"]
    list_filter = ["media_source", "campaign"]
    search_fields = ["click_id__exact", "network_click_id__exact"]
    ordering = ["-id"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # counting per choice scans the clicks
    paginator = CappedCountPaginator


@admin.register(PlayerAttribution)
class PlayerAttributionAdmin(PlayerLinks, ReadOnlyAdmin):
    list_display = ["player", "media_source", "campaign", "attributed_at", "click"]
    list_display_links = ["attributed_at"]  # the player column links to the player
    list_filter = ["media_source"]
    search_fields = ["player__username__exact"]
    list_select_related = ["player", "click"]
    ordering = ["-attributed_at"]
    show_full_result_count = False
    paginator = CappedCountPaginator
