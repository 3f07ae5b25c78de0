"""The throttle counter's upsert outside a transaction on PostgreSQL: its own transaction,
committed without waiting for the WAL flush, one prepared statement; and the write throttle
counted in the statement that reads the token's user."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.throttling import SimpleRateThrottle

from accounts.tests.factories import PlayerFactory
from accounts.tests.helpers import client_for
from core.models import ThrottleCounter
from core.throttles import throttle_hit


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_count_is_one_statement_and_committed():
    assert not connection.in_atomic_block
    with CaptureQueriesContext(connection) as captured:
        counts = [throttle_hit(key="writes_it's", window_start=600) for _ in range(3)]
    assert counts == [1, 2, 3]
    assert len(captured.captured_queries) == 3
    assert "set_config('synchronous_commit', 'off', true)" in captured.captured_queries[0]["sql"]
    # Committed, and the connection is back in autocommit with no transaction open, where the
    # setting did not outlive the count's transaction.
    assert connection.connection.info.transaction_status == 0  # psycopg: IDLE
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
    assert ThrottleCounter.objects.get(scope_key="writes_it's").hits == 3
    # A new window starts again at 1.
    assert throttle_hit(key="writes_it's", window_start=660) == 1
    assert ThrottleCounter.objects.get(scope_key="writes_it's").window_start == 660


@pytest.mark.django_db
def test_inside_a_transaction_the_count_is_the_plain_upsert():
    assert connection.in_atomic_block  # pytest-django's test transaction
    with CaptureQueriesContext(connection) as captured:
        assert throttle_hit(key="k", window_start=60) == 1
        assert throttle_hit(key="k", window_start=60) == 2
    assert all(q["sql"].lstrip().startswith("INSERT") for q in captured.captured_queries)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_write_counts_its_throttle_in_the_statement_that_reads_the_token_user(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "writes", "2/min")
    player = PlayerFactory()
    client = client_for(player)
    key = f"throttle_writes_{player.pk}"
    body = json.dumps({"eventType": "a"})

    with CaptureQueriesContext(connection) as captured:
        first = client.post("/event", body, content_type="application/json")
    reads = [q["sql"] for q in captured.captured_queries if "accounts_user" in q["sql"]]
    statuses = [first.status_code] + [
        client.post("/event", body, content_type="application/json").status_code for _ in range(2)
    ]

    assert statuses == [201, 201, 429]
    [read] = reads
    assert "INSERT INTO" in read and "gamebackend_throttlecounter" in read
    assert not any(
        q["sql"].lstrip().startswith("INSERT INTO gamebackend_throttlecounter")
        for q in captured.captured_queries
    )
    assert ThrottleCounter.objects.get(scope_key=key).hits == 3
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_banned_player_s_write_counts_nothing():
    player = PlayerFactory()
    client = client_for(player)
    player.is_active = False
    player.save(update_fields=["is_active"])

    response = client.post(
        "/event", json.dumps({"eventType": "a"}), content_type="application/json"
    )

    assert response.status_code == 401
    assert not ThrottleCounter.objects.exists()
