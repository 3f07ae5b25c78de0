"""PostgreSQL races: concurrent batches keep the aggregates exact and never deadlock."""

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from django.db import connection, connections

from accounts.tests.factories import PlayerFactory
from core.admin_pagination import CappedCountPaginator
from telemetry import services
from telemetry.models import Event
from telemetry.selectors import unique_players
from telemetry.tests.helpers import (
    aggregates_from_tables,
    aggregates_recounted,
    unique_players_recounted,
)
from telemetry.validation import EventInput

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _run_together(jobs):
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


def _events(days, event_types, *, with_ids=False):
    start = datetime(2025, 6, 1, 12, tzinfo=UTC)
    return [
        EventInput(
            event_type=event_type,
            meta={},
            timestamp=start + timedelta(days=day),
            event_id=uuid.uuid4() if with_ids else None,
        )
        for day in days
        for event_type in event_types
    ]


def test_concurrent_batches_of_many_players_keep_aggregates_exact():
    players = [PlayerFactory() for _ in range(6)]
    # Every batch touches the same global counter rows, in different orders.
    jobs = [
        (
            lambda p=player, i=index: services.events_record_batch(
                player=p, events=_events(range(i % 3, 6), [*["b", "a", "c"][i % 3 :], "a", "b"])
            )
        )
        for index, player in enumerate(players)
        for _ in range(2)
    ]

    _run_together(jobs)

    assert aggregates_from_tables() == aggregates_recounted()


def test_concurrent_batches_of_one_player_with_interleaved_days_keep_active_days_exact():
    player = PlayerFactory()
    jobs = [
        (lambda days=days: services.events_record_batch(player=player, events=_events(days, ["a"])))
        for days in ([0, 4, 8], [2, 6], [1, 5, 9], [3, 7], [8, 0])
    ]

    _run_together(jobs)

    assert aggregates_from_tables() == aggregates_recounted()
    assert unique_players(low=date(2025, 6, 4), high=date(2025, 6, 4)) == 1
    low, high = date(2025, 6, 3), date(2025, 6, 7)
    assert unique_players(low=low, high=high) == unique_players_recounted(low, high) == 1


def test_out_of_order_days_of_players_sharing_counter_rows_do_not_deadlock():
    # Players in one shard share ActiveDayPairCount rows; days arriving before later ones move
    # players between pairs (+1 on one row, -1 on another) in both directions.
    players = [PlayerFactory() for _ in range(40)]
    shard_of = {player: player.pk % 16 for player in players}
    same_shard = [p for p in players if shard_of[p] == shard_of[players[0]]][:2]
    assert len(same_shard) == 2
    for player in same_shard:
        services.events_record_batch(player=player, events=_events([0, 4, 8], ["a"]))
    jobs = [
        (
            lambda p=player, days=days: services.events_record_batch(
                player=p, events=_events(days, ["a"])
            )
        )
        for player, schedule in zip(same_shard, ([[2], [6]], [[6], [2]]), strict=True)
        for days in schedule
    ]

    _run_together(jobs)

    assert aggregates_from_tables() == aggregates_recounted()


def test_concurrent_retries_of_one_batch_store_it_once():
    player = PlayerFactory()
    batch = _events(range(3), ["a", "b"], with_ids=True)
    results = []

    _run_together(
        [
            (lambda: results.append(services.events_record_batch(player=player, events=batch)))
            for _ in range(4)
        ]
    )

    assert sorted((r.accepted, r.duplicates) for r in results) == [(0, 6), (0, 6), (0, 6), (6, 0)]
    assert Event.objects.count() == 6
    assert aggregates_from_tables() == aggregates_recounted()


def test_concurrent_single_events_with_one_event_id_store_one():
    player = PlayerFactory()
    event = _events([0], ["a"], with_ids=True)[0]
    results = []

    _run_together([(lambda: results.append(services.event_record(player=player, event=event)))] * 4)

    assert sorted(result.duplicate for result in results) == [False, True, True, True]
    assert len({result.event.pk for result in results}) == 1
    assert Event.objects.count() == 1
    assert aggregates_from_tables() == aggregates_recounted()


@pytest.mark.parametrize("day_known", [False, True], ids=["new_day", "known_day"])
def test_an_event_id_committed_after_the_check_is_answered_as_the_stored_event(day_known):
    # Another request's insert of the same eventId is still open when this one checks, so the
    # check finds nothing; the insert then waits on the unique index until the other commits,
    # skips the row, and the stored event is the answer. Nothing else is written. On a day the
    # player is already active on, the insert is the one-statement path (no transaction, no
    # check before it); on a new day, the transaction's.
    player = PlayerFactory()
    event = _events([0], ["a"], with_ids=True)[0]
    if day_known:
        services.event_record(player=player, event=_events([0], ["earlier"])[0])
    before = aggregates_from_tables()
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key not in {"cursor_factory", "context", "prepare_threshold"}
    }
    results = []

    def record():
        try:
            results.append(services.event_record(player=player, event=event))
        finally:
            connections.close_all()

    with psycopg.connect(**params) as other, psycopg.connect(**params, autocommit=True) as watch:
        [(stored_pk,)] = other.execute(
            "INSERT INTO telemetry_event (player_id, event_type, meta, timestamp, received_at, "
            "event_id) VALUES (%s, 'a', '{}', %s, now(), %s) RETURNING id",
            [player.pk, event.timestamp, event.event_id],
        ).fetchall()
        thread = threading.Thread(target=record)
        thread.start()
        waiting = 0
        for _ in range(200):
            [(waiting,)] = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s",
                ['%INSERT INTO "telemetry_event"%'],
            ).fetchall()
            if waiting:
                break
            time.sleep(0.05)
        other.commit()
        thread.join(timeout=30)

    assert waiting == 1
    [result] = results
    assert result.duplicate is True
    assert result.event.pk == stored_pk
    assert list(Event.objects.exclude(event_type="earlier").values_list("pk", flat=True)) == [
        stored_pk
    ]
    assert aggregates_from_tables() == before
    if not day_known:
        assert before == {"global": {}, "player": {}, "active_days": {}, "active_day_pairs": {}}


def test_paginator_uses_the_planner_estimate_for_a_big_unfiltered_table(monkeypatch):
    player = PlayerFactory()
    services.events_record_batch(player=player, events=_events(range(5), ["a"]))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE telemetry_event")
    monkeypatch.setattr("core.admin_pagination.COUNT_CAP", 2)

    assert CappedCountPaginator(Event.objects.order_by("-id"), 50).count == 5
    assert CappedCountPaginator(Event.objects.filter(player=player).order_by("-id"), 50).count == 2
