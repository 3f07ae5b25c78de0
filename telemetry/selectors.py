"""Reads of the telemetry app: a player's recent events, statistics from the daily aggregates,
and the pipeline's sessions rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet, Sum

from telemetry.models import (
    ActiveDayPairCount,
    Event,
    EventDayCount,
    PlayerActiveDay,
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


def attribution_campaigns(*, limit: int, media_source: str | None = None) -> list[tuple[str, str]]:
    """The first `limit` distinct (media source, campaign) pairs of the attributions, in order,
    of one media source when given (indexed)."""
    rows = PlayerAttribution.objects.all()
    if media_source is not None:
        rows = rows.filter(media_source=media_source)
    pairs = rows.order_by("media_source", "campaign").values_list("media_source", "campaign")
    return [(source, campaign) for source, campaign in pairs.distinct()[:limit]]


def players_by_campaign(
    *, players: QuerySet[User], media_source: str, campaign: str
) -> QuerySet[User]:
    """`players` attributed to the campaign `campaign` of `media_source` ("" = none named)."""
    return players.filter(attribution__media_source=media_source, attribution__campaign=campaign)


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


# --- Retention -------------------------------------------------------------------------------

RETENTION_DAYS = (1, 7, 30)
ORGANIC = "(organic)"


@dataclass(frozen=True)
class RetentionCell:
    day_n: int
    retained: int | None
    rate: float | None


@dataclass(frozen=True)
class RetentionRow:
    """One install cohort (the UTC day of the players' first login), for all players or one
    campaign. `retained[N]` players had an event on UTC day cohort + N; None when that day is
    after the last complete day (too young to tell)."""

    cohort: date
    media_source: str  # "" for all players, ORGANIC for players without attribution
    campaign: str
    players: int
    retained: dict[int, int | None]

    def rate(self, day_n: int) -> float | None:
        retained = self.retained[day_n]
        return None if retained is None or not self.players else retained / self.players

    @property
    def cells(self) -> list[RetentionCell]:
        return [RetentionCell(n, self.retained[n], self.rate(n)) for n in RETENTION_DAYS]


RETENTION_DEFAULT_DAYS = 30
RETENTION_MAX_DAYS = 400


def last_complete_day() -> date:
    """Yesterday, UTC: the latest day whose events are all in."""
    return datetime.now(UTC).date() - timedelta(days=1)


def retention_window(*, day_from: date | None, day_to: date | None) -> tuple[date, date, date]:
    """(first cohort, last cohort, last day of activity counted) of a request: by default the
    RETENTION_DEFAULT_DAYS cohorts up to yesterday; activity counts up to yesterday or `day_to`,
    whichever is earlier."""
    yesterday = last_complete_day()
    high = day_to or yesterday
    low = day_from or high - timedelta(days=RETENTION_DEFAULT_DAYS - 1)
    return low, high, min(high, yesterday)


def retention(*, low: date, high: date, last_day: date, by_campaign: bool) -> list[RetentionRow]:
    """D1/D7/D30 of the cohorts low..high (inclusive UTC days), counting activity up to
    `last_day` (inclusive); cohort order, then media source and campaign by code point.

    Two grouped queries: the players per cohort (accounts joined in the range), and the active
    days of those players that fall exactly N days after their cohort (`PlayerActiveDay`, one
    row per player and active day, so no event is scanned).
    """
    user_model = get_user_model()
    start = datetime.combine(low, time.min, tzinfo=UTC)
    end = datetime.combine(high + timedelta(days=1), time.min, tzinfo=UTC)
    quote = connection.ops.quote_name
    users = quote(user_model._meta.db_table)
    active = quote(PlayerActiveDay._meta.db_table)
    attribution = quote(PlayerAttribution._meta.db_table)
    if connection.vendor == "postgresql":
        cohort = "(u.date_joined AT TIME ZONE 'UTC')::date"
        offset = f"(d.day - {cohort})"
    else:  # SQLite stores UTC moments as text
        cohort = "date(u.date_joined)"
        offset = f"CAST(julianday(d.day) - julianday({cohort}) AS INTEGER)"
    source = "COALESCE(a.media_source, '')" if by_campaign else "''"
    campaign = "COALESCE(a.campaign, '')" if by_campaign else "''"
    join = f"LEFT JOIN {attribution} a ON a.player_id = u.id" if by_campaign else ""
    where = "u.is_staff = %s AND u.date_joined >= %s AND u.date_joined < %s"
    ops = connection.ops
    params: list[Any] = [
        False,
        ops.adapt_datetimefield_value(start),
        ops.adapt_datetimefield_value(end),
    ]
    days_in = ", ".join(str(n) for n in RETENTION_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {cohort}, {source}, {campaign}, COUNT(*) FROM {users} u {join} "  # noqa: S608
            f"WHERE {where} GROUP BY 1, 2, 3",
            params,
        )
        sizes = {(_as_day(c), s, k): int(n) for c, s, k, n in cursor.fetchall()}
        cursor.execute(
            f"SELECT {cohort}, {source}, {campaign}, {offset}, COUNT(*) "  # noqa: S608
            f"FROM {users} u JOIN {active} d ON d.player_id = u.id {join} "
            f"WHERE {where} AND d.day > %s AND d.day <= %s AND {offset} IN ({days_in}) "
            f"GROUP BY 1, 2, 3, 4",
            [
                *params,
                ops.adapt_datefield_value(low),
                ops.adapt_datefield_value(
                    min(last_day, high + timedelta(days=max(RETENTION_DAYS)))
                ),
            ],
        )
        counts = {(_as_day(c), s, k, int(o)): int(n) for c, s, k, o, n in cursor.fetchall()}
    rows = []
    for (day, media_source, campaign_name), players in sizes.items():
        retained = {
            n: None
            if day + timedelta(days=n) > last_day
            else counts.get((day, media_source, campaign_name, n), 0)
            for n in RETENTION_DAYS
        }
        rows.append(
            RetentionRow(
                cohort=day,
                media_source=(media_source or ORGANIC) if by_campaign else "",
                campaign=campaign_name if media_source else "",
                players=players,
                retained=retained,
            )
        )
    rows.sort(key=lambda row: (row.cohort, row.media_source, row.campaign))
    return rows


def retention_csv_header(*, by_campaign: bool) -> list[str]:
    campaign = ["media_source", "campaign"] if by_campaign else []
    counts = [f"d{n}_{kind}" for n in RETENTION_DAYS for kind in ("players", "rate")]
    return ["cohort", *campaign, "players", *counts]


def retention_csv_row(row: RetentionRow, *, by_campaign: bool) -> list[Any]:
    """Counts as integers, rates as fractions rounded to 4 decimals; empty when too young."""
    campaign = [row.media_source, row.campaign] if by_campaign else []
    cells: list[Any] = []
    for n in RETENTION_DAYS:
        rate = row.rate(n)
        cells += [row.retained[n], None if rate is None else round(rate, 4)]
    return [row.cohort, *campaign, row.players, *cells]


def _as_day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- Daily activity (the live-ops home page) -------------------------------------------------


@dataclass(frozen=True)
class DayActivity:
    day: date
    players: int  # distinct players with an event that UTC day (DAU)
    events: int  # events whose client timestamp is on that UTC day


def daily_activity(*, low: date, high: date) -> list[DayActivity]:
    """DAU and events per UTC day over [low, high], every day present (0 when quiet).

    Two grouped queries on the daily aggregates, never the events: a player's active day is
    counted once in `ActiveDayPairCount` (whatever its previous day), so the day's sum is its DAU.
    """
    players = dict(
        ActiveDayPairCount.objects.filter(day__gte=low, day__lte=high)
        .values("day")
        .annotate(n=Sum("players"))
        .values_list("day", "n")
    )
    events = dict(
        EventDayCount.objects.filter(day__gte=low, day__lte=high)
        .values("day")
        .annotate(n=Sum("event_count"))
        .values_list("day", "n")
    )
    days = [low + timedelta(days=n) for n in range((high - low).days + 1)]
    return [
        DayActivity(day=day, players=int(players.get(day) or 0), events=int(events.get(day) or 0))
        for day in days
    ]
