"""economy.selectors.ledger_flows: currency granted and spent per UTC day, currency, kind and
reason, with exact sums, and the day of the newest entry."""

from datetime import date

import pytest

from accounts.tests.factories import PlayerFactory
from economy.models import Currency, LedgerEntry, Wallet
from economy.selectors import LedgerFlow, ledger_flows, ledger_latest_day
from economy.tests.helpers import at, write_ledger_activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(admin_user, monkeypatch):
    write_ledger_activity(actor=admin_user, monkeypatch=monkeypatch)


def test_flows_group_by_day_currency_kind_and_reason(ledger):
    rows = ledger_flows(day_from=date(2025, 3, 1), day_to=date(2025, 3, 3))
    assert rows == [
        LedgerFlow(date(2025, 3, 1), "coins", "earn", "daily_login", 800, 0, 2),
        LedgerFlow(date(2025, 3, 2), "coins", "adjustment", "staff_adjustment", 0, 50, 1),
        LedgerFlow(date(2025, 3, 2), "coins", "spend", "shop", 0, 120, 1),
        LedgerFlow(date(2025, 3, 2), "gems", "earn", "quest", 7, 0, 1),
    ]  # 4 March is outside the range


def test_one_day_range_and_an_empty_range(ledger):
    assert ledger_flows(day_from=date(2025, 3, 4), day_to=date(2025, 3, 4)) == [
        LedgerFlow(date(2025, 3, 4), "coins", "earn", "daily_login", 1, 0, 1)
    ]
    assert ledger_flows(day_from=date(2025, 3, 3), day_to=date(2025, 3, 3)) == []


def test_latest_day_is_the_utc_day_of_the_newest_entry(ledger):
    assert ledger_latest_day() == date(2025, 3, 4)


def test_latest_day_of_an_empty_ledger_is_none():
    assert ledger_latest_day() is None


def test_sums_past_the_64_bit_range_are_exact(admin_user):
    # Three staff credits and three debits of 4e18 in one day: 1.2e19 each way, past 2**63 - 1,
    # which SQLite's SUM() refuses with "integer overflow". Written directly: the services
    # would refuse such balances, the ledger itself does not.
    coins = Currency.objects.get(code="coins")
    player = PlayerFactory()
    wallet = Wallet.objects.create(player=player, currency=coins, balance=0)
    big = 4 * 10**18
    for hour, amount in enumerate([big, big, big, -big, -big, -big]):
        LedgerEntry.objects.create(
            wallet=wallet,
            player=player,
            amount=amount,
            balance_after=big,
            kind="adjustment",
            reason="staff_adjustment",
            actor=admin_user,
            note="load test",
            created_at=at(5, hour),
        )

    rows = ledger_flows(day_from=date(2025, 3, 5), day_to=date(2025, 3, 5))

    assert rows == [
        LedgerFlow(date(2025, 3, 5), "coins", "adjustment", "staff_adjustment", 3 * big, 3 * big, 6)
    ]
