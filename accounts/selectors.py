"""Reads of the accounts app for other pages."""

from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.db.models.functions import TruncDate


def new_players_per_day(*, low: date, high: date) -> dict[date, int]:
    """Players (not staff) whose account was created, i.e. who first logged in, per UTC day
    in [low, high]; quiet days are absent."""
    start = datetime.combine(low, time.min, tzinfo=UTC)
    end = datetime.combine(high + timedelta(days=1), time.min, tzinfo=UTC)
    rows = (
        get_user_model()
        .objects.filter(is_staff=False, date_joined__gte=start, date_joined__lt=end)
        .annotate(day=TruncDate("date_joined", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return {day: int(n) for day, n in rows}
