"""The wallet page's adjust form (liveops.adjust): one adjustment entry, logged on the wallet."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.tests.admin_factories import post_adjust_form
from accounts.tests.factories import PlayerFactory, StaffFactory
from economy.models import LedgerEntry, Wallet
from economy.services import wallet_earn
from economy.tests.factories import CurrencyFactory
from economy.tests.helpers import balance_of, nothing_written

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return StaffFactory(is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def wallet(player, coins):
    wallet_earn(player=player, currency=coins, amount=100, reason="quest", request_id="")
    return Wallet.objects.get(player=player)


def adjust_url(wallet):
    return reverse("admin:economy_wallet_adjust", args=[wallet.pk])


def test_wallet_page_links_to_the_adjust_form(admin_client, wallet):
    response = admin_client.get(reverse("admin:economy_wallet_change", args=[wallet.pk]))

    assert response.status_code == 200
    assert adjust_url(wallet) in response.content.decode()


def test_adjust_form_renders(admin_client, wallet):
    response = admin_client.get(adjust_url(wallet))

    assert response.status_code == 200
    assert 'name="note"' in response.content.decode()


def test_adjust_form_writes_an_adjustment_and_a_log_entry(admin_client, superuser, wallet, player):
    response = post_adjust_form(
        admin_client,
        adjust_url(wallet),
        {"amount": "-40", "currency": "coins", "note": "refund reversed"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:economy_wallet_change", args=[wallet.pk])
    entry = LedgerEntry.objects.get(kind="adjustment")
    assert (entry.amount, entry.balance_after, entry.actor, entry.note) == (
        -40,
        60,
        superuser,
        "refund reversed",
    )
    assert balance_of(player) == 60
    log = LogEntry.objects.get()
    assert (log.user, log.action_flag, log.object_id) == (superuser, CHANGE, str(wallet.pk))
    assert "-40" in log.get_change_message()
    assert "refund reversed" in log.get_change_message()


def test_adjust_form_stores_the_admin_requests_id_on_the_entry(admin_client, wallet):
    rendered = admin_client.get(adjust_url(wallet))
    token = rendered.context["form"]["form_token"].value()

    response = admin_client.post(
        adjust_url(wallet),
        {"amount": "5", "currency": "coins", "note": "goodwill", "form_token": token},
        headers={"X-Request-ID": "req-admin-7"},
    )

    assert response.status_code == 302
    assert LedgerEntry.objects.get(kind="adjustment").request_id == "req-admin-7"


def test_adjust_form_can_target_another_currency(admin_client, wallet, player):
    CurrencyFactory(code="gems")

    post_adjust_form(
        admin_client, adjust_url(wallet), {"amount": "3", "currency": "gems", "note": "gift"}
    )

    assert balance_of(player, "gems") == 3
    assert balance_of(player, "coins") == 100


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "-101", "currency": "coins", "note": "too much"}, "balance is 100"),
        ({"amount": "0", "currency": "coins", "note": "nothing"}, "changes nothing"),
        ({"amount": "5", "currency": "coins", "note": ""}, "This field is required"),
        ({"amount": "1.5", "currency": "coins", "note": "x"}, "Enter a whole number"),
    ],
)
def test_adjust_form_refusals_write_nothing(admin_client, wallet, player, data, message):
    response = post_adjust_form(admin_client, adjust_url(wallet), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert nothing_written(player, balance=100, entries=1)
    assert LogEntry.objects.count() == 0


def test_adjust_needs_the_adjust_permission(client, wallet, player):
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_wallet"))
    client.force_login(staff)

    response = client.post(adjust_url(wallet), {"amount": "5", "currency": "coins", "note": "x"})

    assert response.status_code == 403
    assert nothing_written(player, balance=100, entries=1)


def test_adjust_with_the_permission_works_for_non_superusers(client, wallet, player):
    staff = StaffFactory()
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_wallet", "adjust_wallet"])
    )
    client.force_login(staff)

    response = post_adjust_form(
        client, adjust_url(wallet), {"amount": "5", "currency": "coins", "note": "x"}
    )

    assert response.status_code == 302
    assert balance_of(player) == 105


def test_players_cannot_reach_the_admin(client, wallet):
    client.force_login(PlayerFactory())

    response = client.get(adjust_url(wallet))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
