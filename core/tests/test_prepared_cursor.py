"""prepared_cursor: on PostgreSQL its statements are prepared once per connection and answer as
Django's cursor does; elsewhere, or with DB_PREPARE_THRESHOLD off, it is Django's cursor."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.db import prepared_cursor
from economy.models import Currency

pytestmark = pytest.mark.django_db

LOOKUP = "SELECT id, code, created_at FROM economy_currency WHERE code = %s"


def prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_a_statement_run_again_is_prepared_and_answers_the_same():
    made = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    gems = Currency.objects.create(code="gems", name="Gems")
    Currency.objects.filter(pk=gems.pk).update(created_at=made)
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    assert threshold == 1

    answers = []
    for _ in range(threshold + 2):
        with prepared_cursor() as cursor:
            cursor.execute(LOOKUP, ["gems"])
            answers.append(cursor.fetchall())
    with connection.cursor() as cursor:
        cursor.execute(LOOKUP, ["gems"])
        expected = cursor.fetchall()

    assert expected == [(gems.pk, "gems", made)]
    assert answers == [expected] * (threshold + 2)
    assert [s for s in prepared_statements() if "economy_currency" in s] == [
        "SELECT id, code, created_at FROM economy_currency WHERE code = $1"
    ]


@pytest.mark.postgres
def test_django_sees_its_queries_and_ordinary_cursors_are_not_prepared():
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            with prepared_cursor() as cursor:
                cursor.execute(LOOKUP, ["none"])
                assert cursor.fetchall() == []
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute("SELECT code FROM economy_currency WHERE name = %s", ["none"])

    # The log shows the values, as for Django's own statements.
    assert [query["sql"] for query in queries] == [
        "SELECT id, code, created_at FROM economy_currency WHERE code = 'none'"
    ] * 3
    assert not [s for s in prepared_statements() if "WHERE name" in s]
    assert type(connection.connection.cursor()).__name__ == "Cursor"  # the factory is restored


@pytest.mark.postgres
def test_with_the_threshold_off_it_is_djangos_cursor(monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)

    with prepared_cursor() as cursor:
        assert type(cursor.cursor).__name__ == "Cursor"  # client-side binding


def test_on_either_database_it_answers_as_djangos_cursor():
    Currency.objects.create(code="gems", name="Gems")
    expected = "ServerBindingCursor" if connection.vendor == "postgresql" else "SQLiteCursorWrapper"

    with prepared_cursor() as cursor:
        cursor.execute("SELECT code, name FROM economy_currency WHERE code = %s", ["gems"])
        assert cursor.fetchall() == [("gems", "Gems")]
        assert type(cursor.cursor).__name__ == expected
