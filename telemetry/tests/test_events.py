import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from accounts.tests.factories import PlayerFactory
from accounts.tests.helpers import client_for
from telemetry import services
from telemetry.models import Event
from telemetry.serializers import EventRequestSerializer
from telemetry.tests.helpers import NOTHING_WRITTEN, aggregates_from_tables, written_rows
from telemetry.validation import EventInput, event_input_parse

pytestmark = pytest.mark.django_db


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


# --- POST /event -------------------------------------------------------------------------------


def test_seed_curl_example_works_verbatim(player_client, player):
    body = '{"eventType":"level_complete","meta":"{\\"level\\":42,\\"score\\":9999}","timestampUtc":"2025-10-25T10:30:00Z"}'  # noqa: E501

    response = player_client.post("/event", body, content_type="application/json")

    assert response.status_code == 201
    event = Event.objects.get()
    assert response.json() == {
        "id": event.pk,
        "eventId": None,
        "eventType": "level_complete",
        "timestampUtc": "2025-10-25T10:30:00Z",
        "receivedAt": _iso(event.received_at),
        "duplicate": False,
    }
    assert event.player == player
    assert event.meta == {"level": 42, "score": 9999}
    assert event.timestamp == datetime(2025, 10, 25, 10, 30, tzinfo=UTC)


def test_event_without_meta_and_timestamp_defaults_to_empty_meta_and_now(player_client):
    before = datetime.now(UTC)

    response = _post(player_client, "/event", {"eventType": "app_open"})

    after = datetime.now(UTC)
    assert response.status_code == 201
    event = Event.objects.get()
    assert event.meta == {}
    assert before <= event.timestamp <= after
    assert before <= event.received_at <= after
    assert response.json()["timestampUtc"] == _iso(event.timestamp)


def test_event_meta_object_is_stored(player_client):
    response = _post(
        player_client, "/event", {"eventType": "purchase", "meta": {"sku": "gems_100", "n": [1]}}
    )

    assert response.status_code == 201
    assert Event.objects.get().meta == {"sku": "gems_100", "n": [1]}


def test_timestamp_with_offset_is_converted_to_utc(player_client):
    response = _post(
        player_client,
        "/event",
        {"eventType": "level_start", "timestampUtc": "2025-10-25T12:30:00.250+02:00"},
    )

    assert response.status_code == 201
    assert response.json()["timestampUtc"] == "2025-10-25T10:30:00.250000Z"
    assert Event.objects.get().timestamp == datetime(2025, 10, 25, 10, 30, 0, 250000, tzinfo=UTC)


def _assert_rejected(response, field, code):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert [(error["field"], error["code"]) for error in body["errors"]] == [(field, code)]
    assert written_rows() == NOTHING_WRITTEN


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "eventType", "required"),
        ({"eventType": ""}, "eventType", "invalid_event_type"),
        ({"eventType": "a" * 65}, "eventType", "invalid_event_type"),
        ({"eventType": "level complete"}, "eventType", "invalid_event_type"),
        ({"eventType": "niveau_é"}, "eventType", "invalid_event_type"),
        ({"eventType": 42}, "eventType", "invalid"),
        ({"eventType": "x", "meta": "[1, 2]"}, "meta", "invalid"),
        ({"eventType": "x", "meta": "42"}, "meta", "invalid"),
        ({"eventType": "x", "meta": "{not json"}, "meta", "invalid"),
        ({"eventType": "x", "meta": '{"a": NaN}'}, "meta", "invalid"),
        ({"eventType": "x", "meta": '{"a": "\\u0000"}'}, "meta", "invalid"),
        ({"eventType": "x", "meta": [1, 2]}, "meta", "invalid"),
        ({"eventType": "x", "meta": 5}, "meta", "invalid"),
        (
            {"eventType": "x", "timestampUtc": "2025-10-25T10:30:00"},
            "timestampUtc",
            "timezone_required",
        ),
        ({"eventType": "x", "timestampUtc": "1999-12-31T23:59:59Z"}, "timestampUtc", "too_old"),
        ({"eventType": "x", "timestampUtc": "2025-13-01T00:00:00Z"}, "timestampUtc", "invalid"),
        ({"eventType": "x", "timestampUtc": 1761388200}, "timestampUtc", "invalid"),
        ({"eventType": "x", "eventId": "not-a-uuid"}, "eventId", "invalid"),
        ({"eventType": "x", "eventId": 12}, "eventId", "invalid"),
    ],
)
def test_invalid_event_is_400_and_writes_nothing(player_client, body, field, code):
    _assert_rejected(_post(player_client, "/event", body), field, code)


def test_meta_number_too_large_for_json_is_400(player_client):
    response = player_client.post(
        "/event", '{"eventType": "x", "meta": {"a": 1e999}}', content_type="application/json"
    )

    _assert_rejected(response, "meta", "invalid")


def test_timestamp_more_than_24_hours_ahead_is_400(player_client):
    ahead = datetime.now(UTC) + timedelta(hours=24, minutes=1)

    response = _post(player_client, "/event", {"eventType": "x", "timestampUtc": _iso(ahead)})

    _assert_rejected(response, "timestampUtc", "too_far_ahead")


def test_timestamp_just_under_24_hours_ahead_is_accepted(player_client):
    ahead = datetime.now(UTC) + timedelta(hours=23, minutes=59)

    response = _post(player_client, "/event", {"eventType": "x", "timestampUtc": _iso(ahead)})

    assert response.status_code == 201


def test_first_moment_of_2000_is_accepted(player_client):
    response = _post(
        player_client, "/event", {"eventType": "x", "timestampUtc": "2000-01-01T00:00:00Z"}
    )

    assert response.status_code == 201


def _meta_of_encoded_size(size: int) -> dict:
    # {"k":"<filler>"} is 8 bytes plus the filler; "é" is 2 bytes in UTF-8.
    filler = "é" * ((size - 8) // 2) + "a" * ((size - 8) % 2)
    meta = {"k": filler}
    assert len(json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode()) == size
    return meta


def test_meta_of_exactly_8_kib_is_accepted(player_client):
    response = _post(
        player_client, "/event", {"eventType": "x", "meta": _meta_of_encoded_size(8192)}
    )

    assert response.status_code == 201


def test_meta_over_8_kib_is_400(player_client):
    response = _post(
        player_client, "/event", {"eventType": "x", "meta": _meta_of_encoded_size(8193)}
    )

    _assert_rejected(response, "meta", "max_size")


def test_meta_string_over_8_kib_once_compacted_is_400(player_client):
    meta = json.dumps(_meta_of_encoded_size(8193), ensure_ascii=False)

    response = _post(player_client, "/event", {"eventType": "x", "meta": meta})

    _assert_rejected(response, "meta", "max_size")


def test_event_id_duplicate_returns_the_stored_event(player_client):
    event_id = str(uuid.uuid4())
    first = _post(
        player_client,
        "/event",
        {"eventType": "a", "eventId": event_id, "timestampUtc": "2025-01-01T00:00:00Z"},
    )

    again = _post(
        player_client,
        "/event",
        {"eventType": "b", "eventId": event_id, "timestampUtc": "2025-02-02T00:00:00Z"},
    )

    assert first.status_code == 201
    assert first.json()["eventId"] == event_id
    assert first.json()["duplicate"] is False
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert Event.objects.count() == 1


def test_event_id_is_compared_case_insensitively(player_client):
    event_id = uuid.uuid4()
    first = _post(player_client, "/event", {"eventType": "a", "eventId": str(event_id).upper()})

    again = _post(player_client, "/event", {"eventType": "a", "eventId": event_id.hex})

    assert first.status_code == 201
    assert first.json()["eventId"] == str(event_id)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    assert Event.objects.count() == 1


def test_same_event_id_for_another_player_is_a_new_event(player_client):
    event_id = str(uuid.uuid4())
    other = client_for(PlayerFactory())
    _post(player_client, "/event", {"eventType": "a", "eventId": event_id})

    response = _post(other, "/event", {"eventType": "a", "eventId": event_id})

    assert response.status_code == 201
    assert Event.objects.count() == 2


def test_event_needs_a_token(api_client):
    response = _post(api_client, "/event", {"eventType": "a"})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert written_rows() == NOTHING_WRITTEN


def test_event_with_invalid_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")

    response = _post(api_client, "/event", {"eventType": "a"})

    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


# --- POST /events/batch ------------------------------------------------------------------------


def test_batch_with_3_valid_and_2_invalid_events(player_client, player):
    events = [
        {"eventType": "a", "timestampUtc": "2025-10-25T10:00:00Z"},
        {"eventType": "bad type"},
        {"eventType": "b", "meta": '{"x": 1}', "timestampUtc": "2025-10-25T11:00:00Z"},
        {"eventType": "c", "timestampUtc": "2025-10-25T10:30:00", "meta": []},
        {"eventType": "c", "timestampUtc": "2025-10-26T00:00:00+01:00"},
    ]

    response = _post(player_client, "/events/batch", {"events": events})

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": [
            {
                "index": 1,
                "errors": [
                    {
                        "field": "eventType",
                        "code": "invalid_event_type",
                        "message": "1 to 64 characters of letters, digits and _ . : -",
                    }
                ],
            },
            {
                "index": 3,
                "errors": [
                    {
                        "field": "meta",
                        "code": "invalid",
                        "message": "Must be a JSON object or a string holding one.",
                    },
                    {
                        "field": "timestampUtc",
                        "code": "timezone_required",
                        "message": "Needs a zone: Z or an offset like +02:00.",
                    },
                ],
            },
        ],
    }
    stored = list(
        Event.objects.filter(player=player)
        .order_by("id")
        .values_list("event_type", "meta", "timestamp")
    )
    assert stored == [
        ("a", {}, datetime(2025, 10, 25, 10, tzinfo=UTC)),
        ("b", {"x": 1}, datetime(2025, 10, 25, 11, tzinfo=UTC)),
        ("c", {}, datetime(2025, 10, 25, 23, tzinfo=UTC)),
    ]


def test_batch_item_that_is_not_an_object_is_rejected_by_index(player_client):
    response = _post(player_client, "/events/batch", {"events": [None, "x", {"eventType": "a"}]})

    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert [item["index"] for item in body["rejected"]] == [0, 1]
    assert body["rejected"][0]["errors"] == [
        {"field": None, "code": "invalid", "message": "Must be a JSON object."}
    ]


def test_batch_where_every_item_is_invalid_writes_nothing(player_client):
    response = _post(player_client, "/events/batch", {"events": [{"eventType": ""}]})

    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert written_rows() == NOTHING_WRITTEN


def test_retried_batch_stores_nothing_twice(player_client):
    events = [
        {"eventType": "a", "eventId": str(uuid.uuid4()), "timestampUtc": "2025-10-25T10:00:00Z"}
        for _ in range(4)
    ]
    first = _post(player_client, "/events/batch", {"events": events})
    rows_after_first = written_rows()

    retry = _post(player_client, "/events/batch", {"events": events})

    assert first.json() == {"accepted": 4, "duplicates": 0, "rejected": []}
    assert retry.status_code == 200
    assert retry.json() == {"accepted": 0, "duplicates": 4, "rejected": []}
    assert written_rows() == rows_after_first
    assert Event.objects.count() == 4


def test_batch_repeating_an_event_id_counts_the_repeat_as_duplicate(player_client):
    event_id = uuid.uuid4()
    stored_id = uuid.uuid4()
    _post(player_client, "/event", {"eventType": "a", "eventId": str(stored_id)})
    events = [
        {"eventType": "a", "eventId": str(event_id)},
        {"eventType": "b", "eventId": str(event_id).upper()},
        {"eventType": "c", "eventId": str(stored_id).upper()},
        {"eventType": "d"},
        {"eventType": "d"},
    ]

    response = _post(player_client, "/events/batch", {"events": events})

    assert response.json() == {"accepted": 3, "duplicates": 2, "rejected": []}
    assert sorted(Event.objects.values_list("event_type", flat=True)) == ["a", "a", "d", "d"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"events": []}, "min_length"),
        ({"events": [{"eventType": "a"}] * 501}, "max_length"),
        ({}, "required"),
        ({"events": {"eventType": "a"}}, "not_a_list"),
        ({"events": None}, "null"),
    ],
)
def test_batch_of_wrong_size_or_shape_is_400(player_client, body, code):
    response = _post(player_client, "/events/batch", body)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [
        ("events", code)
    ]
    assert written_rows() == NOTHING_WRITTEN


def test_batch_of_500_events_is_accepted(player_client):
    response = _post(player_client, "/events/batch", {"events": [{"eventType": "a"}] * 500})

    assert response.json() == {"accepted": 500, "duplicates": 0, "rejected": []}
    assert Event.objects.count() == 500


def test_batch_queries_are_bounded(player_client, django_assert_num_queries):
    events = [
        {"eventType": "a", "eventId": str(uuid.uuid4()), "timestampUtc": "2025-10-25T10:00:00Z"},
        {"eventType": "b", "timestampUtc": "2025-10-25T10:00:00Z"},
        {"eventType": "b", "timestampUtc": "2025-10-26T10:00:00Z"},
        {"eventType": "bad type"},
    ]
    postgresql = connection.vendor == "postgresql"
    # PostgreSQL: the token's user with the write throttle's counter (one statement), one
    # statement for the events and their counts (every day already active: no transaction).
    # SQLite: user, throttle,
    # savepoint, stored eventIds, insert events, insert active days, player counts, global
    # counts, release savepoint.
    steady = 2 if postgresql else 9
    # The player's first events of a day add: (PostgreSQL) that statement writing nothing (a day
    # is new), then in a transaction (savepoint here) the events statement, the player's
    # advisory lock, read its active days, set their previous days, count the (day, previous
    # day) pairs, release; (SQLite) read its active days, set them, count the pairs.
    first_of_day = steady + (7 if postgresql else 3)
    with django_assert_num_queries(first_of_day):
        first = _post(player_client, "/events/batch", {"events": events})
    events[0]["eventId"] = str(uuid.uuid4())
    with django_assert_num_queries(steady):
        again = _post(player_client, "/events/batch", {"events": events})

    assert first.json()["accepted"] == 3
    assert again.json()["accepted"] == 3


def test_event_id_repeated_on_the_same_day_returns_the_stored_event_and_counts_nothing(
    player_client,
):
    # The player is active on the day, so on PostgreSQL the repeat takes the one-statement
    # path, whose insert skips the row: the answer is the stored event, and no count moves.
    event_id = str(uuid.uuid4())
    first = _post(
        player_client,
        "/event",
        {"eventType": "a", "eventId": event_id, "timestampUtc": "2025-01-01T08:00:00Z"},
    )
    after_first = aggregates_from_tables()

    again = _post(
        player_client,
        "/event",
        {"eventType": "b", "eventId": event_id, "timestampUtc": "2025-01-01T09:00:00Z"},
    )

    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert Event.objects.count() == 1
    assert aggregates_from_tables() == after_first


@pytest.mark.postgres
def test_the_one_statement_path_writes_nothing_when_a_day_is_new_to_the_player(player):
    day_one = datetime(2025, 10, 25, 10, tzinfo=UTC)
    services.events_record_batch(
        player=player,
        events=[EventInput(event_type="a", meta={}, timestamp=day_one, event_id=None)],
    )
    before = written_rows(), aggregates_from_tables()
    both_days = [
        EventInput(event_type="b", meta={}, timestamp=day_one, event_id=None),
        EventInput(event_type="b", meta={}, timestamp=day_one + timedelta(days=1), event_id=None),
    ]

    declined = services._events_store_on_known_days(
        player_pk=player.pk, events=both_days, received_at=day_one
    )
    assert declined is None
    assert (written_rows(), aggregates_from_tables()) == before

    stored = services._events_store_on_known_days(
        player_pk=player.pk, events=both_days[:1], received_at=day_one
    )
    assert stored is not None and len(stored) == 1
    assert aggregates_from_tables()["player"] == {
        (player.pk, day_one.date(), "a"): 1,
        (player.pk, day_one.date(), "b"): 1,
    }
    assert aggregates_from_tables()["active_days"] == before[1]["active_days"]


# --- GET /events -------------------------------------------------------------------------------


def _store_events(player, count, start=datetime(2025, 1, 1, tzinfo=UTC)):
    client = client_for(player)
    events = [
        {"eventType": f"e{i}", "timestampUtc": _iso(start + timedelta(minutes=i))}
        for i in range(count)
    ]
    response = _post(client, "/events/batch", {"events": events})
    assert response.json()["accepted"] == count


def test_105_events_list_returns_the_100_newest_first(player_client, player):
    _store_events(player, 105)
    _store_events(PlayerFactory(), 3, start=datetime(2026, 1, 1, tzinfo=UTC))

    response = player_client.get("/events")

    assert response.status_code == 200
    events = response.json()["events"]
    assert [event["eventType"] for event in events] == [f"e{i}" for i in range(104, 4, -1)]
    assert events[0]["timestampUtc"] == "2025-01-01T01:44:00Z"
    assert set(events[0]) == {"id", "eventId", "eventType", "meta", "timestampUtc", "receivedAt"}
    assert events[0]["meta"] == {}
    assert events[0]["eventId"] is None


def test_events_limit(player_client, player):
    _store_events(player, 105)

    response = player_client.get("/events?limit=5")

    assert [event["eventType"] for event in response.json()["events"]] == [
        "e104",
        "e103",
        "e102",
        "e101",
        "e100",
    ]


def test_events_order_by_client_time_then_id(player_client, player):
    same = "2025-05-05T05:05:05Z"
    _post(player_client, "/event", {"eventType": "late", "timestampUtc": "2025-06-01T00:00:00Z"})
    _post(player_client, "/event", {"eventType": "tie_first", "timestampUtc": same})
    _post(player_client, "/event", {"eventType": "early", "timestampUtc": "2024-01-01T00:00:00Z"})
    _post(player_client, "/event", {"eventType": "tie_second", "timestampUtc": same, "meta": "{}"})

    response = player_client.get("/events")

    assert [event["eventType"] for event in response.json()["events"]] == [
        "late",
        "tie_second",
        "tie_first",
        "early",
    ]


def test_events_show_event_id_and_meta(player_client):
    event_id = uuid.uuid4()
    created = _post(
        player_client,
        "/event",
        {"eventType": "a", "eventId": str(event_id).upper(), "meta": '{"level": 3}'},
    ).json()

    response = player_client.get("/events")

    assert response.json() == {
        "events": [
            {
                "id": created["id"],
                "eventId": str(event_id),
                "eventType": "a",
                "meta": {"level": 3},
                "timestampUtc": created["timestampUtc"],
                "receivedAt": created["receivedAt"],
            }
        ]
    }


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", " 5", "1e2"])
def test_events_limit_out_of_range_is_400(player_client, limit):
    response = player_client.get("/events", {"limit": limit})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "limit"


def test_events_list_is_two_queries(player_client, player, django_assert_num_queries):
    _store_events(player, 3)

    with django_assert_num_queries(2):  # the token's user, the events
        assert len(player_client.get("/events").json()["events"]) == 3


def test_event_writes_are_throttled_per_player(player_client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "writes", "2/min")
    other = client_for(PlayerFactory())

    statuses = [
        _post(player_client, "/event", {"eventType": "a"}).status_code,
        _post(player_client, "/events/batch", {"events": [{"eventType": "a"}]}).status_code,
    ]
    refused = _post(player_client, "/event", {"eventType": "a"})

    assert statuses == [201, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert refused["Retry-After"] == "30"
    assert Event.objects.count() == 2
    assert _post(other, "/event", {"eventType": "a"}).status_code == 201


def test_events_needs_a_token(api_client):
    assert api_client.get("/events").status_code == 401


def test_event_with_a_null_timestamp_is_stamped_now(player_client):
    before = datetime.now(UTC)

    response = _post(player_client, "/event", {"eventType": "app_open", "timestampUtc": None})

    assert response.status_code == 201
    assert before <= Event.objects.get().timestamp <= datetime.now(UTC)


# --- Timestamps whose conversion to UTC leaves the calendar -----------------------------------


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [
        ("9999-12-31T23:59:59-23:59", "too_far_ahead"),  # in UTC: year 10000
        ("0001-01-01T00:00:00+23:59", "too_old"),  # in UTC: year 0
    ],
)
def test_timestamp_outside_the_calendar_in_utc_is_400(player_client, timestamp, code):
    response = _post(player_client, "/event", {"eventType": "x", "timestampUtc": timestamp})

    _assert_rejected(response, "timestampUtc", code)


def test_batch_rejects_a_timestamp_outside_the_calendar_as_that_item(player_client, player):
    events = [
        {"eventType": "a", "timestampUtc": "2025-10-25T10:00:00Z"},
        {"eventType": "b", "timestampUtc": "9999-12-31T23:59:59-23:59"},
        {"eventType": "c", "timestampUtc": "0001-01-01T00:00:00+23:59"},
        {"eventType": "d", "timestampUtc": "2025-10-25T11:00:00Z"},
    ]

    response = _post(player_client, "/events/batch", {"events": events})

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [
            {
                "index": 1,
                "errors": [
                    {
                        "field": "timestampUtc",
                        "code": "too_far_ahead",
                        "message": "Must not be more than 24 h in the future.",
                    }
                ],
            },
            {
                "index": 2,
                "errors": [
                    {
                        "field": "timestampUtc",
                        "code": "too_old",
                        "message": "Must not be before 2000-01-01.",
                    }
                ],
            },
        ],
    }
    assert list(
        Event.objects.filter(player=player).order_by("id").values_list("event_type", "timestamp")
    ) == [
        ("a", datetime(2025, 10, 25, 10, tzinfo=UTC)),
        ("d", datetime(2025, 10, 25, 11, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"eventType": "a"},
        {"eventType": "level_complete", "meta": {"level": 3}, "timestampUtc": None},
        {
            "eventType": "x.y:z-1",
            "meta": '{"k": [1, 2]}',
            "timestampUtc": "2025-10-25T10:30:00+02:00",
        },
        {"eventType": "a", "eventId": "9B2F7F0E-3C4D-4E5F-8A9B-0C1D2E3F4A5B", "extra": 1},
    ],
)
def test_a_valid_event_parses_as_its_serializer_validates_it(body):
    # POST /event parses a valid body without building the serializer's fields.
    now = datetime(2025, 10, 25, 12, tzinfo=UTC)
    serializer = EventRequestSerializer(data=body, context={"now": now})

    assert serializer.is_valid(), serializer.errors
    assert event_input_parse(body, now=now) == serializer.validated_data["event"]
