"""Test helpers of the economy tests: what the wallet, ledger and idempotency tables hold."""

from economy.models import IdempotencyRecord, LedgerEntry, Wallet


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
