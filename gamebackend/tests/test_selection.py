"""bin/test's PostgreSQL pass (--database-tests-only) keeps any test that may reach the database."""

import pytest

from gamebackend.tests.selection import uses_database


def test_a_test_without_database_fixtures_is_left_to_the_sqlite_pass(request):
    assert uses_database(request.node) is False


def test_the_db_fixture_keeps_a_test(db, request):
    assert uses_database(request.node) is True


@pytest.fixture
def needs_the_database(transactional_db):
    return None


def test_a_fixture_that_needs_the_database_keeps_a_test(needs_the_database, request):
    assert uses_database(request.node) is True


@pytest.mark.django_db
def test_the_django_db_mark_keeps_a_test(request):
    assert uses_database(request.node) is True


@pytest.mark.postgres
def test_the_postgres_mark_keeps_a_test(request):
    assert uses_database(request.node) is True
