"""Admin: editable currencies and rules, wallet adjustments through the form, read-only ledger."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.tests.admin_factories import post_adjust_form
from accounts.tests.factories import PlayerFactory, StaffFactory
from economy.models import EarnRule, LedgerEntry, Wallet
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


def test_ledger_is_read_only_in_the_admin(admin_client, wallet):
    entry = LedgerEntry.objects.get()

    changelist = admin_client.get(reverse("admin:economy_ledgerentry_changelist"))
    change = admin_client.get(reverse("admin:economy_ledgerentry_change", args=[entry.pk]))
    post = admin_client.post(
        reverse("admin:economy_ledgerentry_change", args=[entry.pk]), {"amount": "999"}
    )
    delete = admin_client.post(
        reverse("admin:economy_ledgerentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    add = admin_client.get(reverse("admin:economy_ledgerentry_add"))

    assert changelist.status_code == 200
    assert 'name="action"' not in changelist.content.decode()  # no bulk delete action
    assert change.status_code == 200
    assert 'type="submit"' not in change.content.decode().split('id="content-main"')[1]
    assert (post.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert LedgerEntry.objects.get().amount == 100


def test_ledger_changelist_filters_by_wallet(admin_client, wallet, coins):
    other = PlayerFactory()
    wallet_earn(player=other, currency=coins, amount=7, reason="theirs", request_id="")

    response = admin_client.get(
        reverse("admin:economy_ledgerentry_changelist"), {"wallet__id__exact": wallet.pk}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [LedgerEntry.objects.get(wallet=wallet)]


def test_wallet_balance_cannot_be_edited_or_deleted(admin_client, wallet):
    url = reverse("admin:economy_wallet_change", args=[wallet.pk])

    admin_client.post(url, {"balance": "1000000"})
    delete = admin_client.post(
        reverse("admin:economy_wallet_delete", args=[wallet.pk]), {"post": "yes"}
    )

    assert delete.status_code == 403
    assert Wallet.objects.get(pk=wallet.pk).balance == 100


def test_earn_rules_are_editable(admin_client, coins):
    response = admin_client.post(
        reverse("admin:economy_earnrule_add"),
        {"reason": "daily_login", "currency": coins.pk, "max_per_grant": "100", "max_per_day": ""},
    )

    assert response.status_code == 302
    rule = EarnRule.objects.get()
    assert (rule.reason, rule.max_per_grant, rule.max_per_day) == ("daily_login", 100, None)


def test_currencies_can_be_added(admin_client):
    response = admin_client.post(
        reverse("admin:economy_currency_add"), {"code": "gems", "name": "Gems", "max_balance": "50"}
    )

    assert response.status_code == 302
    assert admin_client.get(reverse("admin:economy_currency_changelist")).status_code == 200
