"""Fixtures shared by every app's tests."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

# Half way through a one-minute window: the throttles count in fixed windows, so on a real clock
# a test whose requests straddle a minute boundary would see its count start again.
THROTTLE_CLOCK = 1_800_000_030.0


@pytest.fixture(autouse=True)
def _generous_throttles(monkeypatch):
    """Throttles stay on, with rates no functional test reaches; throttle tests lower them.

    Their clock stands still, so a lowered rate is reached however slowly the test runs; a test
    that moves into the next window sets its own `timer`.
    """
    from core.throttles import WindowCounterThrottle

    for scope in list(SimpleRateThrottle.THROTTLE_RATES):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "100000/min")
    monkeypatch.setattr(WindowCounterThrottle, "timer", lambda self: THROTTLE_CLOCK)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def player(db):
    from accounts.tests.factories import PlayerFactory

    return PlayerFactory()


@pytest.fixture
def player_client(player):
    from accounts.tests.helpers import client_for

    return client_for(player)


def pytest_addoption(parser):
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="deselect the tests that cannot reach the database (bin/test's PostgreSQL pass: "
        "the rest already ran on SQLite)",
    )


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.postgres` tests (row-lock races) run only against PostgreSQL;
    `--database-tests-only` keeps only the tests that may touch the database."""
    from django.conf import settings

    from gamebackend.tests.selection import uses_database

    if config.getoption("database_tests_only"):
        deselected = [item for item in items if not uses_database(item)]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if uses_database(item)]
    if str(settings.DATABASES["default"]["ENGINE"]).endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
