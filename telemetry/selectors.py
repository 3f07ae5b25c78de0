"""Reads of the telemetry app: a player's recent events, statistics from the daily aggregates,
and the pipeline's sessions rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import QuerySet, Sum

from telemetry.models import (
    ActiveDayPairCount,
    Event,
    EventDayCount,
    PlayerAttribution,
    PlayerEventDayCount,
)

if TYPE_CHECKING:
    from accounts.models import User

# Open ends of a /stats range: no event is older than 2000 (validated at ingestion).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(9999, 12, 31)


@dataclass(frozen=True)
class TypeCount:
    event_type: str
    count: int


@dataclass(frozen=True)
class EventCounts:
    total: int
    by_type: list[TypeCount]  # count descending, then event type by code point


@dataclass(frozen=True)
class EventStats:
    counts: EventCounts
    unique_players: int


def events_recent(*, player: User, limit: int) -> QuerySet[Event]:
    """The player's newest events by client time, ties by id (the newer insert first)."""
    return Event.objects.filter(player=player).order_by("-timestamp", "-id")[:limit]


def player_attribution(*, player: User) -> PlayerAttribution | None:
    """The player's attribution, or None (organic); reads the cached relation when the player
    was loaded with `select_related("attribution")`."""
    try:
        return player.attribution
    except PlayerAttribution.DoesNotExist:
        return None


def attribution_media_sources(*, limit: int) -> list[str]:
    """The first `limit` distinct media sources of the attributions, in order (indexed)."""
    return list(
        PlayerAttribution.objects.order_by("media_source")
        .values_list("media_source", flat=True)
        .distinct()[:limit]
    )


def players_by_media_source(*, players: QuerySet[User], media_source: str | None) -> QuerySet[User]:
    """`players` attributed to `media_source`; None: the players without an attribution."""
    if media_source is None:
        return players.filter(attribution__isnull=True)
    return players.filter(attribution__media_source=media_source)


def event_stats(*, day_from: date | None, day_to: date | None) -> EventStats:
    """Totals, byType and distinct players over inclusive UTC days; two small queries."""
    low, high = _day_range(day_from, day_to)
    rows = (
        EventDayCount.objects.filter(day__gte=low, day__lte=high)
        .values("event_type")
        .annotate(n=Sum("event_count"))
        .values_list("event_type", "n")
    )
    return EventStats(counts=_counts(rows), unique_players=unique_players(low=low, high=high))


def player_event_stats(*, player: User, day_from: date | None, day_to: date | None) -> EventCounts:
    low, high = _day_range(day_from, day_to)
    rows = (
        PlayerEventDayCount.objects.filter(player=player, day__gte=low, day__lte=high)
        .values("event_type")
        .annotate(n=Sum("event_count"))
        .values_list("event_type", "n")
    )
    return _counts(rows)


def _day_range(day_from: date | None, day_to: date | None) -> tuple[date, date]:
    """Open ends filled in. `from` is never earlier than 2000-01-01 (no event is), which also
    keeps it after NO_EARLIER_DAY, as `unique_players` needs."""
    low = max(day_from, EARLIEST_DAY) if day_from else EARLIEST_DAY
    return low, day_to or LATEST_DAY


def _counts(rows: object) -> EventCounts:
    by_type = [
        TypeCount(event_type=event_type, count=int(n))
        for event_type, n in rows  # type: ignore[attr-defined]
        if n
    ]
    by_type.sort(key=lambda row: (-row.count, row.event_type))
    return EventCounts(total=sum(row.count for row in by_type), by_type=by_type)


def unique_players(*, low: date, high: date) -> int:
    """Distinct players with an event on a UTC day in [low, high], exactly.

    A player active in the range has exactly one active day there whose previous active day is
    before `low`: its first one in the range. `ActiveDayPairCount` counts players per (day,
    previous active day), so the answer is one small sum. `low` must be after NO_EARLIER_DAY
    (see `_day_range`).
    """
    total = ActiveDayPairCount.objects.filter(
        day__gte=low, day__lte=high, previous_active_day__lt=low
    ).aggregate(players=Sum("players"))["players"]
    return int(total or 0)


@dataclass(frozen=True)
class SessionRow:
    user_id: str
    session_start: datetime
    media_source: str
    campaign: str


def sessions_of_day(*, day: date, chunk_size: int = 5000) -> Iterator[SessionRow]:
    """`session_start` events of a UTC day with the player's attribution, streamed in time order.

    Organic players (no attribution) have an empty media source and campaign.
    """
    start = datetime.combine(day, time.min, tzinfo=UTC)
    rows = (
        Event.objects.filter(
            event_type="session_start",
            timestamp__gte=start,
            timestamp__lt=start + timedelta(days=1),
        )
        .order_by("timestamp", "id")
        .values_list(
            "player__username",
            "timestamp",
            "player__attribution__media_source",
            "player__attribution__campaign",
        )
    )
    for user_id, timestamp, media_source, campaign in rows.iterator(chunk_size=chunk_size):
        yield SessionRow(
            user_id=user_id,
            session_start=timestamp,
            media_source=media_source or "",
            campaign=(campaign or "") if media_source else "",
        )
