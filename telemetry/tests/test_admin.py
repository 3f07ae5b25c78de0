import json

import pytest

from accounts.tests.factories import PlayerFactory, StaffFactory
from accounts.tests.helpers import client_for
from core.admin_pagination import COUNT_CAP, CappedCountPaginator
from telemetry.models import Click, Event, PlayerAttribution

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    return client


@pytest.fixture
def some_events(player):
    other = PlayerFactory(username="someone_else")
    for who, events in [
        (player, [("login", "2025-10-01T10:00:00Z"), ("purchase", "2025-10-02T10:00:00Z")]),
        (other, [("login", "2025-10-02T11:00:00Z")]),
    ]:
        client_for(who).post(
            "/events/batch",
            json.dumps({"events": [{"eventType": t, "timestampUtc": ts} for t, ts in events]}),
            content_type="application/json",
        )
    return player


def _listed_ids(response):
    return sorted(obj.pk for obj in response.context["cl"].result_list)


def test_event_list_filters_by_type_day_and_exact_player(admin_client, some_events):
    url = "/admin/telemetry/event/"
    ids = {(e.player.username, e.event_type): e.pk for e in Event.objects.select_related("player")}
    player = some_events.username

    assert admin_client.get(url).status_code == 200
    assert _listed_ids(admin_client.get(url, {"event_type": "login"})) == sorted(
        [ids[(player, "login")], ids[("someone_else", "login")]]
    )
    assert _listed_ids(admin_client.get(url, {"day": "2025-10-02"})) == sorted(
        [ids[(player, "purchase")], ids[("someone_else", "login")]]
    )
    assert _listed_ids(admin_client.get(url, {"q": player})) == sorted(
        [ids[(player, "login")], ids[(player, "purchase")]]
    )
    assert _listed_ids(admin_client.get(url, {"q": player[:-1]})) == []


def test_event_filter_choices_come_from_the_aggregates(admin_client, some_events):
    response = admin_client.get("/admin/telemetry/event/")

    filters = {spec.parameter_name: spec for spec in response.context["cl"].filter_specs}
    assert [value for value, _ in filters["event_type"].lookup_choices] == ["login", "purchase"]
    assert [value for value, _ in filters["day"].lookup_choices] == ["2025-10-02", "2025-10-01"]


def test_event_detail_is_read_only(admin_client, some_events):
    event = Event.objects.first()

    response = admin_client.get(f"/admin/telemetry/event/{event.pk}/change/")

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert admin_client.get("/admin/telemetry/event/add/").status_code == 403
    assert admin_client.post(f"/admin/telemetry/event/{event.pk}/delete/").status_code == 403


def test_click_and_attribution_lists(admin_client, player):
    click = Click.objects.create(
        created_at="2025-10-01T00:00:00Z", media_source="tiktok", campaign="launch", ip_hash="h"
    )
    PlayerAttribution.objects.create(
        player=player,
        click=click,
        media_source="tiktok",
        campaign="launch",
        attributed_at="2025-10-01T00:00:00Z",
    )

    clicks = admin_client.get("/admin/telemetry/click/", {"media_source": "tiktok"})
    attributions = admin_client.get(
        "/admin/telemetry/playerattribution/", {"media_source": "tiktok"}
    )

    assert _listed_ids(clicks) == [click.pk]
    assert _listed_ids(attributions) == [PlayerAttribution.objects.get().pk]
    assert admin_client.get("/admin/telemetry/click/add/").status_code == 403


def test_paginator_counts_exactly_up_to_the_cap(some_events, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert CappedCountPaginator(Event.objects.order_by("-id"), 50).count == 3


def test_paginator_stops_counting_at_the_cap(monkeypatch, some_events):
    monkeypatch.setattr("core.admin_pagination.COUNT_CAP", 2)

    # SQLite and an unanalysed PostgreSQL table have no estimate: the cap is shown.
    assert (
        CappedCountPaginator(Event.objects.filter(event_type__gte="").order_by("-id"), 50).count
        == 2
    )
    assert COUNT_CAP == 10_000
