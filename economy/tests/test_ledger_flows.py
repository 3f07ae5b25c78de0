"""economy.selectors.ledger_flows: currency granted and spent per UTC day, currency, kind and
reason, with exact sums, and the day of the newest entry."""

from datetime import date

import pytest

from economy.selectors import LedgerFlow, ledger_flows, ledger_latest_day
from economy.tests.helpers import BIG_AMOUNT, write_ledger_activity, write_past_64_bits

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
    write_past_64_bits(actor=admin_user)
    big = BIG_AMOUNT

    rows = ledger_flows(day_from=date(2025, 3, 5), day_to=date(2025, 3, 5))

    assert rows == [
        LedgerFlow(date(2025, 3, 5), "coins", "adjustment", "staff_adjustment", 3 * big, 3 * big, 6)
    ]
