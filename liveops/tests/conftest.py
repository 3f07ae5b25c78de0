import pytest

from economy.models import Currency


@pytest.fixture
def coins(db):
    """The default currency. Migration 0002 creates it, but a transactional test anywhere in
    the session (ours or another app's) flushes every table, that row included."""
    currency, _ = Currency.objects.get_or_create(code="coins", defaults={"name": "Coins"})
    return currency
