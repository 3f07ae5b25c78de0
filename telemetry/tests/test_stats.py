import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.tests.factories import PlayerFactory
from accounts.tests.helpers import client_for
from telemetry.models import EventDayCount
from telemetry.selectors import unique_players
from telemetry.tests.helpers import (
    aggregates_from_tables,
    aggregates_recounted,
    unique_players_recounted,
)

pytestmark = pytest.mark.django_db


def _batch(client, events):
    response = client.post(
        "/events/batch", json.dumps({"events": events}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _event(event_type, when):
    return {"eventType": event_type, "timestampUtc": when}


@pytest.fixture
def three_players_over_three_days(player):
    """player: 2 on Oct 1, 1 on Oct 3; other: 1 on Oct 2, 2 on Oct 3; third: 1 on Oct 5."""
    other = PlayerFactory()
    third = PlayerFactory()
    _batch(
        client_for(player),
        [
            _event("login", "2025-10-01T00:00:00Z"),
            _event("level_up", "2025-10-01T23:59:59.999999Z"),
            _event("login", "2025-10-03T10:00:00Z"),
        ],
    )
    _batch(
        client_for(other),
        [
            # 2025-10-02T23:30 UTC: the UTC day counts, not the offset's day.
            _event("login", "2025-10-03T01:30:00+02:00"),
            _event("purchase", "2025-10-03T08:00:00Z"),
            _event("login", "2025-10-03T09:00:00Z"),
        ],
    )
    _batch(client_for(third), [_event("login", "2025-10-05T12:00:00Z")])
    return player, other, third


def test_stats_all_time(api_client, three_players_over_three_days):
    response = api_client.get("/stats")

    assert response.status_code == 200
    assert response.json() == {
        "totalEvents": 7,
        "uniquePlayers": 3,
        "byType": [
            {"eventType": "login", "count": 5},
            {"eventType": "level_up", "count": 1},
            {"eventType": "purchase", "count": 1},
        ],
    }


@pytest.mark.parametrize(
    ("query", "total", "players", "by_type"),
    [
        ("from=2025-10-01&to=2025-10-01", 2, 1, [("level_up", 1), ("login", 1)]),
        ("from=2025-10-02&to=2025-10-02", 1, 1, [("login", 1)]),
        ("from=2025-10-02&to=2025-10-03", 4, 2, [("login", 3), ("purchase", 1)]),
        ("from=2025-10-03", 4, 3, [("login", 3), ("purchase", 1)]),
        ("to=2025-10-02", 3, 2, [("login", 2), ("level_up", 1)]),
        ("from=2025-10-04&to=2025-10-04", 0, 0, []),
        ("from=2025-10-01&to=2025-10-05", 7, 3, [("login", 5), ("level_up", 1), ("purchase", 1)]),
        ("from=&to=", 7, 3, [("login", 5), ("level_up", 1), ("purchase", 1)]),
        ("from=1900-01-01", 7, 3, [("login", 5), ("level_up", 1), ("purchase", 1)]),
        ("from=0001-01-01&to=1999-12-31", 0, 0, []),
    ],
)
def test_stats_range(api_client, three_players_over_three_days, query, total, players, by_type):
    response = api_client.get(f"/stats?{query}")

    assert response.status_code == 200
    assert response.json() == {
        "totalEvents": total,
        "uniquePlayers": players,
        "byType": [{"eventType": name, "count": count} for name, count in by_type],
    }


def test_stats_mine_follows_the_range(three_players_over_three_days):
    player, _other, _third = three_players_over_three_days
    client = client_for(player)

    all_time = client.get("/stats").json()
    ranged = client.get("/stats?from=2025-10-02&to=2025-10-03").json()

    assert all_time["mine"] == {
        "totalEvents": 3,
        "byType": [{"eventType": "login", "count": 2}, {"eventType": "level_up", "count": 1}],
    }
    assert ranged["mine"] == {"totalEvents": 1, "byType": [{"eventType": "login", "count": 1}]}
    assert ranged["totalEvents"] == 4


def test_stats_mine_of_a_player_without_events_is_zero(three_players_over_three_days):
    response = client_for(PlayerFactory()).get("/stats")

    assert response.json()["mine"] == {"totalEvents": 0, "byType": []}
    assert response.json()["totalEvents"] == 7


def test_stats_without_token_has_no_mine(api_client, three_players_over_three_days):
    assert "mine" not in api_client.get("/stats").json()


@pytest.mark.parametrize(
    "authorization", ["Bearer not.a.token", "Bearer", "Basic dXNlcjpwYXNz", "token abc"]
)
def test_stats_with_an_invalid_authorization_header_is_401(api_client, authorization):
    api_client.credentials(HTTP_AUTHORIZATION=authorization)

    response = api_client.get("/stats")

    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert response["WWW-Authenticate"]


def test_stats_from_after_to_is_400(api_client):
    response = api_client.get("/stats?from=2025-10-03&to=2025-10-02")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("from", "from_after_to")
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2025-13-01", "from"),
        ("from=2025-02-30", "from"),
        ("to=yesterday", "to"),
        ("from=2025-1-1", "from"),
        ("to=2025-10-01T00:00:00Z", "to"),
    ],
)
def test_stats_bad_date_is_400(api_client, query, field):
    response = api_client.get(f"/stats?{query}")

    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, "invalid_date")]


def test_stats_by_type_ties_sort_by_event_type_code_point(api_client, player_client):
    _batch(
        player_client,
        [_event(name, "2025-10-01T00:00:00Z") for name in ["b", "a", "B", "_x", "a", "b"]],
    )

    by_type = api_client.get("/stats").json()["byType"]

    assert by_type == [
        {"eventType": "a", "count": 2},
        {"eventType": "b", "count": 2},
        {"eventType": "B", "count": 1},
        {"eventType": "_x", "count": 1},
    ]


def test_stats_queries_without_and_with_token(
    api_client, three_players_over_three_days, django_assert_num_queries
):
    player = three_players_over_three_days[0]
    client = client_for(player)

    # global counts by type, distinct players
    with django_assert_num_queries(2):
        api_client.get("/stats?from=2025-10-01&to=2025-10-05")
    # + the user of the token, the caller's counts by type
    with django_assert_num_queries(4):
        client.get("/stats")


def test_stats_reads_the_aggregates_not_the_events(api_client, three_players_over_three_days):
    # Proof that /stats never scans events: a counter row changed by hand shows up as is.
    row = EventDayCount.objects.filter(event_type="purchase").get()
    row.event_count = 41
    row.save()

    assert api_client.get("/stats").json()["totalEvents"] == 47


def test_aggregates_equal_a_recount_after_mixed_ingestion():
    # Given several players sending out-of-order days, duplicates, retries, rejected items
    # and single events, in a shuffled order
    rng = random.Random(7)
    players = [PlayerFactory() for _ in range(4)]
    clients = [client_for(player) for player in players]
    start = datetime(2025, 3, 1, tzinfo=UTC)
    sent_ids: list[str] = []
    for round_number in range(12):
        client = clients[rng.randrange(len(clients))]
        events = []
        for _ in range(rng.randrange(1, 15)):
            when = start + timedelta(days=rng.randrange(10), seconds=rng.randrange(86400))
            event = _event(rng.choice(["a", "b", "c"]), when.isoformat().replace("+00:00", "Z"))
            roll = rng.random()
            if roll < 0.3:
                event["eventId"] = str(uuid.uuid4())
                sent_ids.append(event["eventId"])
            elif roll < 0.4 and sent_ids:
                event["eventId"] = rng.choice(sent_ids).upper()
            elif roll < 0.5:
                event["eventType"] = "not valid"
            events.append(event)
        if round_number % 3 == 0:
            for event in events:
                client.post("/event", json.dumps(event), content_type="application/json")
        else:
            _batch(client, events)
            if round_number % 4 == 1:
                _batch(client, events)  # a retry

    # Then the aggregates are exactly what the raw events give
    assert aggregates_from_tables() == aggregates_recounted()
    # And distinct players over every range are exact
    days = [date(2025, 3, 1) + timedelta(days=n) for n in range(-1, 11)]
    for low in days:
        for high in days:
            if low <= high:
                assert unique_players(low=low, high=high) == unique_players_recounted(low, high)


def test_an_earlier_day_arriving_later_renumbers_the_following_days(player_client):
    _batch(
        player_client, [_event("a", "2025-05-10T00:00:00Z"), _event("a", "2025-05-20T00:00:00Z")]
    )
    _batch(
        player_client, [_event("a", "2025-05-15T00:00:00Z"), _event("a", "2025-05-01T00:00:00Z")]
    )

    assert aggregates_from_tables()["active_days"] == aggregates_recounted()["active_days"]
    assert unique_players(low=date(2025, 5, 11), high=date(2025, 5, 19)) == 1
    assert unique_players(low=date(2025, 5, 16), high=date(2025, 5, 19)) == 0


def test_global_counts_are_sharded_by_player():
    players = [PlayerFactory() for _ in range(3)]
    for player in players:
        _batch(client_for(player), [_event("a", "2025-10-01T00:00:00Z")])

    shards = sorted(EventDayCount.objects.values_list("shard", "event_count"))

    assert shards == sorted((player.pk % 16, 1) for player in players)
