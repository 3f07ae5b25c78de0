"""Test helpers: recount the aggregates from raw events, and count what a request wrote."""

from collections import Counter, defaultdict
from datetime import date

from django.db.models import Sum

from telemetry.models import (
    NO_EARLIER_DAY,
    ActiveDayPairCount,
    Click,
    Event,
    EventDayCount,
    PlayerActiveDay,
    PlayerAttribution,
    PlayerEventDayCount,
)


def written_rows() -> dict[str, int]:
    return {
        "events": Event.objects.count(),
        "event_day_counts": EventDayCount.objects.count(),
        "player_event_day_counts": PlayerEventDayCount.objects.count(),
        "active_days": PlayerActiveDay.objects.count(),
        "active_day_pairs": ActiveDayPairCount.objects.count(),
        "clicks": Click.objects.count(),
        "attributions": PlayerAttribution.objects.count(),
    }


NOTHING_WRITTEN = {
    "events": 0,
    "event_day_counts": 0,
    "player_event_day_counts": 0,
    "active_days": 0,
    "active_day_pairs": 0,
    "clicks": 0,
    "attributions": 0,
}


def aggregates_from_tables() -> dict[str, object]:
    global_counts = {
        (row["day"], row["event_type"]): row["n"]
        for row in EventDayCount.objects.values("day", "event_type").annotate(n=Sum("event_count"))
    }
    player_counts = {
        (player_id, day, event_type): n
        for player_id, day, event_type, n in PlayerEventDayCount.objects.values_list(
            "player_id", "day", "event_type", "event_count"
        )
    }
    active_days = {
        (player_id, day): previous
        for player_id, day, previous in PlayerActiveDay.objects.values_list(
            "player_id", "day", "previous_active_day"
        )
    }
    active_day_pairs = {
        (row["day"], row["previous_active_day"]): row["n"]
        for row in ActiveDayPairCount.objects.values("day", "previous_active_day").annotate(
            n=Sum("players")
        )
        if row["n"]
    }
    return {
        "global": global_counts,
        "player": player_counts,
        "active_days": active_days,
        "active_day_pairs": active_day_pairs,
    }


def aggregates_recounted() -> dict[str, object]:
    """What the aggregates must be, computed from the Event rows alone."""
    global_counts: Counter[tuple[date, str]] = Counter()
    player_counts: Counter[tuple[int, date, str]] = Counter()
    days_by_player: defaultdict[int, set[date]] = defaultdict(set)
    for player_id, event_type, timestamp in Event.objects.values_list(
        "player_id", "event_type", "timestamp"
    ):
        day = timestamp.date()
        global_counts[(day, event_type)] += 1
        player_counts[(player_id, day, event_type)] += 1
        days_by_player[player_id].add(day)
    active_days = {}
    for player_id, days in days_by_player.items():
        previous = NO_EARLIER_DAY
        for day in sorted(days):
            active_days[(player_id, day)] = previous
            previous = day
    return {
        "global": dict(global_counts),
        "player": dict(player_counts),
        "active_days": active_days,
        "active_day_pairs": dict(
            Counter((day, previous) for (_player, day), previous in active_days.items())
        ),
    }


def unique_players_recounted(low: date, high: date) -> int:
    return len(
        {
            player_id
            for player_id, timestamp in Event.objects.values_list("player_id", "timestamp")
            if low <= timestamp.date() <= high
        }
    )
