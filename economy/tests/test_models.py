"""Integrity in the database: constraints and the append-only ledger triggers."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from accounts.tests.factories import PlayerFactory, StaffFactory
from economy.models import Currency, LedgerEntry, Wallet
from economy.services import wallet_adjust, wallet_earn

pytestmark = pytest.mark.django_db


def test_coins_is_created_by_a_migration():
    import importlib

    from django.apps import apps

    Currency.objects.all().delete()
    migration = importlib.import_module("economy.migrations.0002_coins")

    migration.coins_create(apps, None)
    migration.coins_create(apps, None)  # idempotent

    coins = Currency.objects.get()
    assert (coins.code, coins.name, coins.max_balance) == ("coins", "Coins", None)


def test_a_negative_balance_is_refused_by_the_database(player, coins):
    wallet_earn(player=player, currency=coins, amount=5, reason="q", request_id="")

    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(player=player).update(balance=-1)

    assert Wallet.objects.get(player=player).balance == 5


def test_one_wallet_per_player_and_currency(player, coins):
    Wallet.objects.create(player=player, currency=coins)

    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.create(player=player, currency=coins)


def test_ledger_rows_cannot_be_updated(player, coins):
    entry = wallet_earn(player=player, currency=coins, amount=5, reason="q", request_id="")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=500)

    entry.refresh_from_db()
    assert entry.amount == 5


def test_ledger_rows_cannot_be_saved_again(player, coins):
    entry = wallet_earn(player=player, currency=coins, amount=5, reason="q", request_id="")
    entry.reason = "rewritten"

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.save()

    assert LedgerEntry.objects.get().reason == "q"


def test_ledger_rows_cannot_be_deleted(player, coins):
    wallet_earn(player=player, currency=coins, amount=5, reason="q", request_id="")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.all().delete()

    assert LedgerEntry.objects.count() == 1


def test_ledger_rows_cannot_be_changed_with_raw_sql(player, coins):
    wallet_earn(player=player, currency=coins, amount=5, reason="q", request_id="")

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE economy_ledgerentry SET amount = 1000")

    assert LedgerEntry.objects.get().amount == 5


def _entry(player, wallet, **overrides):
    fields = {
        "wallet": wallet,
        "player": player,
        "amount": 5,
        "balance_after": 5,
        "kind": "earn",
        "reason": "q",
        "created_at": "2026-01-01T00:00:00Z",
        **overrides,
    }
    return LedgerEntry(**fields)


@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "earn", "amount": -5},
        {"kind": "spend", "amount": 5},
        {"kind": "adjustment", "amount": 5, "note": "no actor"},
        {"kind": "adjustment", "amount": 0, "note": "zero"},
        {"kind": "earn", "balance_after": -1},
    ],
)
def test_ledger_rows_must_agree_with_their_kind(player, coins, overrides):
    wallet = Wallet.objects.create(player=player, currency=coins)

    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(player, wallet, **overrides).save()


def test_an_adjustment_needs_an_actor_and_a_note_in_the_database(player, coins):
    wallet = Wallet.objects.create(player=player, currency=coins)
    staff = StaffFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(player, wallet, kind="adjustment", actor=staff, note="").save()
    _entry(player, wallet, kind="adjustment", actor=staff, note="why").save()

    assert LedgerEntry.objects.count() == 1


def test_players_with_a_ledger_cannot_be_deleted(coins):
    player = PlayerFactory()
    wallet_adjust(
        player=player, currency=coins, amount=5, note="gift", actor=StaffFactory(), request_id=""
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        player.delete()
