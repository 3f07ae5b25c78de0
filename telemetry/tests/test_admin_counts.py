"""The events list says how many events there are: exactly from the daily aggregates when it can,
"more than 10,000" when the count stopped at the cap, and it never offers facet counts."""

import re
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import PlayerFactory, StaffFactory
from core import admin_pagination
from telemetry.models import Event, EventDayCount

pytestmark = pytest.mark.django_db

URL = reverse("admin:telemetry_event_changelist")


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def player():
    player = PlayerFactory(username="p_counted")
    rows = [
        ("2026-12-01", "level_complete"),
        ("2026-12-01", "purchase"),
        ("2026-12-02", "purchase"),
    ]
    Event.objects.bulk_create(
        Event(
            player=player,
            event_type=event_type,
            meta={},
            timestamp=datetime.fromisoformat(day).replace(hour=8, tzinfo=UTC),
            received_at=timezone.now(),
        )
        for day, event_type in rows
    )
    # The aggregates say more than the three rows: the count comes from them, not from a scan.
    EventDayCount.objects.bulk_create(
        [
            EventDayCount(
                day=date(2026, 12, 1), event_type="level_complete", shard=0, event_count=7000
            ),
            EventDayCount(
                day=date(2026, 12, 1), event_type="level_complete", shard=3, event_count=5000
            ),
            EventDayCount(day=date(2026, 12, 1), event_type="purchase", shard=0, event_count=1),
            EventDayCount(
                day=date(2026, 12, 2), event_type="purchase", shard=1, event_count=189_799
            ),
        ]
    )
    return player


def paginator_text(response):
    """The paginator's words, without the page links."""
    page = response.content.decode()
    start = page.index('<p class="paginator">') + len('<p class="paginator">')
    inner = re.sub(r"<(a|span)[^>]*>.*?</\1>|…", "", page[start : page.index("</p>", start)])
    return " ".join(inner.split())


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ({}, "201,800 events"),
        ({"_facets": "True", "o": "1"}, "201,800 events"),
        ({"event_type": "level_complete"}, "12,000 events"),
        ({"day": "2026-12-01"}, "12,001 events"),
        ({"day": "2026-12-02", "event_type": "purchase"}, "189,799 events"),
        ({"day": "2026-12-02", "event_type": "level_complete"}, "0 events"),
    ],
)
def test_exact_counts_from_the_daily_aggregates(admin_client, player, query, text):
    response = admin_client.get(URL, query)

    assert response.status_code == 200
    assert paginator_text(response) == text


def test_a_capped_count_says_more_than(admin_client, player, monkeypatch):
    monkeypatch.setattr(admin_pagination, "COUNT_CAP", 2)

    response = admin_client.get(URL, {"q": "p_counted"})  # no aggregate for a player's events

    assert paginator_text(response) == "more than 2 events"


def test_a_count_under_the_cap_is_exact(admin_client, player):
    response = admin_client.get(URL, {"q": "p_counted"})

    assert paginator_text(response) == "3 events"


def test_no_facet_counts(admin_client, player):
    response = admin_client.get(URL, {"_facets": "True"})

    page = response.content.decode()
    assert "Show counts" not in page
    assert "level_complete (" not in page
