"""Fixtures shared by every app's tests."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle


@pytest.fixture(autouse=True)
def _generous_throttles(monkeypatch):
    """Throttles stay on, with rates no functional test reaches; throttle tests lower them."""
    for scope in list(SimpleRateThrottle.THROTTLE_RATES):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "100000/min")


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


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.postgres` tests (row-lock races) run only against PostgreSQL."""
    from django.conf import settings

    if str(settings.DATABASES["default"]["ENGINE"]).endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
