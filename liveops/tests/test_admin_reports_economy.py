"""Economy sources and sinks: granted and spent per reason per day, from the ledger."""

from datetime import date

import pytest
from django.urls import reverse

from accounts.tests.admin_factories import admin_client, staff_in
from economy.selectors import LedgerFlow
from economy.tests.helpers import BIG_AMOUNT, write_ledger_activity, write_past_64_bits

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(admin_user, monkeypatch):
    write_ledger_activity(actor=admin_user, monkeypatch=monkeypatch)


def test_flows_page_shows_a_chart_per_currency_and_the_totals(ledger):
    client = admin_client(staff_in("analyst"))

    response = client.get(
        reverse("admin-reports:economy-flows"), {"day_from": "2025-03-01", "day_to": "2025-03-04"}
    )

    assert response.status_code == 200
    assert [chart["currency"] for chart in response.context["charts"]] == ["coins", "gems"]
    coins_svg = str(response.context["charts"][0]["svg"])
    assert "granted 2025-03-01: 800" in coins_svg
    assert "spent 2025-03-02: -170" in coins_svg
    assert "granted 2025-03-03: 0" in coins_svg  # days without activity are zero, not missing
    assert response.context["summary"][1] == {
        "currency": "coins",
        "kind": "earn",
        "reason": "daily_login",
        "granted": 801,
        "spent": 0,
        "net": 801,
        "entries": 3,
    }


def test_default_range_ends_at_the_latest_entry(ledger):
    response = admin_client(staff_in("economy")).get(reverse("admin-reports:economy-flows"))
    days = response.context["days"]
    assert (days.low, days.high) == (date(2025, 2, 3), date(2025, 3, 4))


@pytest.mark.parametrize(
    ("role", "status"), [("economy", 200), ("analyst", 200), ("support", 200), (None, 403)]
)
def test_who_can_read_the_economy_report(role, status):
    client = admin_client(staff_in(role))
    assert client.get(reverse("admin-reports:economy-flows")).status_code == status


def test_a_reversed_range_is_an_error_not_a_crash():
    client = admin_client(staff_in("analyst"))
    response = client.get(
        reverse("admin-reports:economy-flows"), {"day_from": "2025-03-05", "day_to": "2025-03-01"}
    )
    assert response.status_code == 200
    assert "is after" in response.content.decode()


@pytest.mark.parametrize("url_name", ["economy-flows", "roas", "arpdau"])
@pytest.mark.parametrize(
    "query",
    [
        {"day_to": "9999-12-31"},
        {"day_from": "9999-12-01", "day_to": "9999-12-31"},
        {"day_to": "0001-01-05"},
        {"day_from": "0001-01-01"},
        {"day_from": "1999-12-31", "day_to": "2000-01-05"},
        {"day_from": "2101-01-01", "day_to": "2101-01-05"},
    ],
)
def test_dates_outside_the_supported_range_are_a_form_error(url_name, query):
    client = admin_client(staff_in("analyst"))
    client.raise_request_exception = False

    response = client.get(reverse(f"admin-reports:{url_name}"), query)

    assert response.status_code == 200
    assert "Dates from 2000-01-01 to 2100-12-31." in response.content.decode()
    assert not response.context["form"].is_valid()


def test_the_first_and_last_supported_days_are_accepted():
    client = admin_client(staff_in("analyst"))
    response = client.get(
        reverse("admin-reports:economy-flows"), {"day_from": "2000-01-01", "day_to": "2000-01-02"}
    )
    assert response.context["form"].is_valid()
    assert (response.context["days"].low, response.context["days"].high) == (
        date(2000, 1, 1),
        date(2000, 1, 2),
    )
    response = client.get(
        reverse("admin-reports:economy-flows"), {"day_from": "2100-12-30", "day_to": "2100-12-31"}
    )
    assert response.context["form"].is_valid()
    assert response.context["days"].high == date(2100, 12, 31)


def test_sums_past_the_64_bit_range_are_exact(admin_user):
    write_past_64_bits(actor=admin_user)
    big = BIG_AMOUNT
    client = admin_client(staff_in("economy"))
    client.raise_request_exception = False

    response = client.get(
        reverse("admin-reports:economy-flows"), {"day_from": "2025-03-05", "day_to": "2025-03-05"}
    )

    assert response.status_code == 200
    assert response.context["rows"] == [
        LedgerFlow(date(2025, 3, 5), "coins", "adjustment", "staff_adjustment", 3 * big, 3 * big, 6)
    ]
    assert response.context["summary"][0]["granted"] == 12 * 10**18
    assert response.context["summary"][0]["net"] == 0
    assert "12,000,000,000,000,000,000" in response.content.decode()
