"""The throttle counter's upsert outside a transaction on PostgreSQL: its own transaction,
committed without waiting for the WAL flush, still one round trip."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
    assert captured.captured_queries[0]["sql"].startswith(
        "BEGIN; SET LOCAL synchronous_commit TO off;"
    )
    # Committed, and the connection is back in autocommit with no transaction open.
    assert connection.connection.info.transaction_status == 0  # psycopg: IDLE
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
