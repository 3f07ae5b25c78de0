"""Admin: editable currencies and rules, read-only wallets and ledger (the adjust form is tested
in liveops)."""

import pytest
from django.urls import reverse

from accounts.tests.factories import PlayerFactory, StaffFactory
from economy.models import EarnRule, LedgerEntry, Wallet
from economy.services import wallet_earn

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
