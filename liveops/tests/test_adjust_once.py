"""One rendered adjust form makes at most one adjustment (both admin adjust forms): the form's
one-time token is consumed in the adjustment's own transaction."""

import time

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts.tests.admin_factories import admin_client, staff_in
from accounts.tests.factories import PlayerFactory, StaffFactory
from accounts.tests.lockout_race import run_together
from economy.models import AdjustFormSubmission, LedgerEntry, Wallet
from economy.services import wallet_earn
from economy.tests.helpers import balance_of

ALREADY = "This form was already submitted and made its adjustment"
STALE = "This form has no valid one-time token"
DATA = {"currency": "coins", "amount": "-40", "note": "duplicate reward removed"}


def the_two_forms(player):
    wallet = Wallet.objects.get(player=player)
    return {
        "wallet": reverse("admin:economy_wallet_adjust", args=[wallet.pk]),
        "player": reverse("admin:accounts_user_adjust", args=[player.pk]),
    }


@pytest.fixture
def player(coins):
    player = PlayerFactory(username="p_adjust")
    wallet_earn(player=player, currency=coins, amount=100, reason="quest", request_id="")
    return player


def rendered_token(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert 'type="hidden" name="form_token"' in response.content.decode()
    return response.context["form"]["form_token"].value()


def adjustments(player):
    return list(
        LedgerEntry.objects.filter(player=player, kind="adjustment").values_list(
            "amount", flat=True
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["wallet", "player"])
def test_a_second_submit_of_one_rendered_form_is_refused_and_writes_nothing(player, form):
    client = admin_client(staff_in("economy"))
    url = the_two_forms(player)[form]
    token = rendered_token(client, url)

    first = client.post(url, {**DATA, "form_token": token})
    second = client.post(url, {**DATA, "form_token": token})

    assert first.status_code == 302
    assert second.status_code == 200
    assert ALREADY in second.content.decode()
    assert adjustments(player) == [-40]
    assert balance_of(player) == 60
    assert LogEntry.objects.count() == 1
    assert AdjustFormSubmission.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["wallet", "player"])
def test_each_render_gives_one_adjustment(player, form):
    client = admin_client(staff_in("economy"))
    url = the_two_forms(player)[form]

    for _ in range(2):
        token = rendered_token(client, url)
        assert client.post(url, {**DATA, "form_token": token}).status_code == 302

    assert adjustments(player) == [-40, -40]
    assert balance_of(player) == 20


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["wallet", "player"])
def test_a_refused_adjustment_leaves_the_form_usable(player, form):
    client = admin_client(staff_in("economy"))
    url = the_two_forms(player)[form]
    token = rendered_token(client, url)

    refused = client.post(url, {**DATA, "amount": "-101", "form_token": token})
    accepted = client.post(url, {**DATA, "form_token": token})

    assert refused.status_code == 200
    assert "The coins balance is 100; 101 are needed." in refused.content.decode()
    assert accepted.status_code == 302
    assert adjustments(player) == [-40]


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["wallet", "player"])
def test_a_missing_foreign_or_expired_token_is_refused(player, form, monkeypatch):
    operator = staff_in("economy")
    client = admin_client(operator)
    url = the_two_forms(player)[form]
    other_player = PlayerFactory()
    wallet_earn(
        player=other_player,
        currency=player.wallets.first().currency,
        amount=1,
        reason="q",
        request_id="",
    )
    other_staff_token = rendered_token(admin_client(staff_in("economy")), url)
    other_player_token = rendered_token(client, the_two_forms(other_player)[form])
    old_token = rendered_token(client, url)

    refusals = [
        client.post(url, DATA),
        client.post(url, {**DATA, "form_token": "forged"}),
        client.post(url, {**DATA, "form_token": other_staff_token}),
        client.post(url, {**DATA, "form_token": other_player_token}),
    ]
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now + 12 * 3600 + 1)
    refusals.append(client.post(url, {**DATA, "form_token": old_token}))

    for response in refusals:
        assert response.status_code == 200
        assert STALE in response.content.decode()
    assert adjustments(player) == []
    assert balance_of(player) == 100
    assert LogEntry.objects.count() == 0
    assert AdjustFormSubmission.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("form", ["wallet", "player"])
def test_five_concurrent_submits_of_one_form_make_one_adjustment(player, form):
    # Permissions, not the role group: a transactional test flushes the groups' data migration.
    operator = StaffFactory()
    operator.user_permissions.add(Permission.objects.get(codename="adjust_wallet"))
    url = the_two_forms(player)[form]
    clients = [Client() for _ in range(5)]
    for client in clients:
        client.force_login(operator)
    token = rendered_token(clients[0], url)

    responses = run_together(5, lambda i: clients[i].post(url, {**DATA, "form_token": token}))

    assert sorted(response.status_code for response in responses) == [200, 200, 200, 200, 302]
    refused = [r for r in responses if r.status_code == 200]
    assert all(ALREADY in response.content.decode() for response in refused)
    assert adjustments(player) == [-40]
    assert balance_of(player) == 60
    assert LogEntry.objects.filter(user=operator).count() == 1
