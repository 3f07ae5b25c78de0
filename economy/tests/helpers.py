"""Test helpers of the economy tests: what the wallet, ledger and idempotency tables hold."""

from datetime import UTC, datetime

from accounts.tests.factories import PlayerFactory
from economy.models import Currency, IdempotencyRecord, LedgerEntry, Wallet
from economy.services import wallet_adjust, wallet_earn, wallet_spend


def balance_of(player, code="coins"):
    """The stored balance, or None when the player has no wallet in that currency."""
    wallet = Wallet.objects.filter(player=player, currency__code=code).first()
    return None if wallet is None else wallet.balance


def ledger_amounts(player, code="coins"):
    """The player's ledger amounts, oldest first."""
    return list(
        LedgerEntry.objects.filter(player=player, wallet__currency__code=code)
        .order_by("id")
        .values_list("amount", flat=True)
    )


def nothing_written(player, *, balance, entries, code="coins"):
    """The wallet still holds `balance` (None: no wallet) and the ledger has `entries` rows."""
    return (
        balance_of(player, code) == balance
        and LedgerEntry.objects.filter(player=player).count() == entries
    )


def idempotency_records(player):
    return list(IdempotencyRecord.objects.filter(player=player).values_list("key", "state"))


def at(day, hour=12):
    return datetime(2025, 3, day, hour, tzinfo=UTC)


def write_ledger_activity(*, actor, monkeypatch):
    """Activity in two currencies on 1, 2 and 4 March, written at those times (clock mocked)."""
    coins = Currency.objects.get(code="coins")
    gems = Currency.objects.create(code="gems", name="Gems")
    alice, bob = PlayerFactory(), PlayerFactory()

    def on(moment, write):
        with monkeypatch.context() as clock:  # only the clock, restored after each write
            clock.setattr("django.utils.timezone.now", lambda: moment)
            return write()

    on(
        at(1),
        lambda: wallet_earn(
            player=alice, currency=coins, amount=500, reason="daily_login", request_id=""
        ),
    )
    on(
        at(1, 23),
        lambda: wallet_earn(
            player=bob, currency=coins, amount=300, reason="daily_login", request_id=""
        ),
    )
    on(
        at(2, 0),
        lambda: wallet_spend(
            player=alice, currency=coins, amount=120, reason="shop", request_id=""
        ),
    )
    on(
        at(2),
        lambda: wallet_earn(player=alice, currency=gems, amount=7, reason="quest", request_id=""),
    )
    on(
        at(2),
        lambda: wallet_adjust(
            player=bob, currency=coins, amount=-50, note="refund abuse", actor=actor, request_id=""
        ),
    )
    on(
        at(4),
        lambda: wallet_earn(
            player=bob, currency=coins, amount=1, reason="daily_login", request_id=""
        ),
    )


BIG_AMOUNT = 4 * 10**18


def write_past_64_bits(*, actor, day=5):
    """Three staff credits and three debits of 4e18 on 2025-03-`day`: 1.2e19 each way, past
    2**63 - 1, which SQLite's SUM() refuses with "integer overflow". Written directly: the
    services would refuse such balances, the ledger itself does not."""
    coins = Currency.objects.get(code="coins")
    player = PlayerFactory()
    wallet = Wallet.objects.create(player=player, currency=coins, balance=0)
    for hour, amount in enumerate([BIG_AMOUNT] * 3 + [-BIG_AMOUNT] * 3):
        LedgerEntry.objects.create(
            wallet=wallet,
            player=player,
            amount=amount,
            balance_after=BIG_AMOUNT,
            kind="adjustment",
            reason="staff_adjustment",
            actor=actor,
            note="load test",
            created_at=at(day, hour),
        )
