"""player_ban / player_unban: each owns its transaction and writes exactly one BanRecord in it."""

import pytest
from django.db import transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import BanRecord, User
from accounts.services import player_ban, player_unban, token_pair_issue
from accounts.tests.factories import PlayerFactory, StaffFactory
from core.problems import InvalidInput

pytestmark = pytest.mark.django_db


def records():
    return list(
        BanRecord.objects.order_by("pk").values_list(
            "player__username", "action", "reason", "actor"
        )
    )


def test_a_ban_writes_one_record_with_the_reason_and_the_actor():
    player = PlayerFactory(username="p1")
    staff = StaffFactory(username="ops")
    token_pair_issue(user=player)

    record = player_ban(player=player, reason="  speed hack  ", actor=staff)

    assert records() == [("p1", "ban", "speed hack", staff.pk)]
    assert record == BanRecord.objects.get()
    assert record.created_at == player.banned_at
    assert (player.is_active, player.ban_reason) == (False, "speed hack")
    assert BlacklistedToken.objects.filter(token__user=player).count() == 1


def test_an_unban_writes_one_record_and_keeps_its_reason():
    player = PlayerFactory(username="p1")
    staff = StaffFactory(username="ops")
    player_ban(player=player, reason="speed hack", actor=staff)

    record = player_unban(player=player, reason="appeal accepted", actor=None)

    assert records() == [
        ("p1", "ban", "speed hack", staff.pk),
        ("p1", "unban", "appeal accepted", None),
    ]
    assert (record.action, record.reason, record.actor) == ("unban", "appeal accepted", None)
    assert (player.is_active, player.banned_at, player.ban_reason) == (True, None, "")


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_ban_without_a_reason_raises_and_writes_nothing(reason):
    player = PlayerFactory(username="p1")
    token_pair_issue(user=player)

    with pytest.raises(InvalidInput) as raised:
        player_ban(player=player, reason=reason, actor=StaffFactory())

    assert raised.value.errors == {"reason": ["A ban needs a reason."]}
    assert records() == []
    stored = User.objects.get(pk=player.pk)
    assert (stored.is_active, stored.banned_at, stored.ban_reason) == (True, None, "")
    assert not BlacklistedToken.objects.exists()


@pytest.mark.parametrize("reason", ["", "\n"])
def test_an_unban_without_a_reason_raises_and_writes_nothing(reason):
    player = PlayerFactory(username="p1")
    player_ban(player=player, reason="speed hack", actor=None)
    banned_at = User.objects.get(pk=player.pk).banned_at

    with pytest.raises(InvalidInput) as raised:
        player_unban(player=player, reason=reason, actor=StaffFactory())

    assert raised.value.errors == {"reason": ["An unban needs a reason."]}
    assert records() == [("p1", "ban", "speed hack", None)]
    stored = User.objects.get(pk=player.pk)
    assert (stored.is_active, stored.banned_at, stored.ban_reason) == (
        False,
        banned_at,
        "speed hack",
    )


def test_a_failed_record_write_rolls_the_ban_back(monkeypatch):
    player = PlayerFactory(username="p1")
    token_pair_issue(user=player)

    def refused(**kwargs):
        raise RuntimeError("the audit row could not be written")

    monkeypatch.setattr(BanRecord.objects, "create", refused)

    with pytest.raises(RuntimeError):
        player_ban(player=player, reason="speed hack", actor=None)

    stored = User.objects.get(pk=player.pk)
    assert (stored.is_active, stored.banned_at, stored.ban_reason) == (True, None, "")
    assert not BlacklistedToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_ban_and_unban_own_their_transaction():
    player = PlayerFactory(username="p1")

    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        player_ban(player=player, reason="speed hack", actor=None)
    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        player_unban(player=player, reason="appeal", actor=None)

    assert records() == []
