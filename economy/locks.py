"""Row locks on wallets. Every balance change goes through here (see services.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction

from economy.models import Currency, Wallet

if TYPE_CHECKING:
    from accounts.models import User


class TransactionRequired(RuntimeError):
    """A row lock taken outside a transaction would be released by the same statement."""


def wallets_lock(*, player: User, currencies: Sequence[Currency]) -> dict[int, Wallet]:
    """Lock the player's wallets in `currencies` (creating missing ones, balance 0) and return
    them by currency pk.

    Rows are locked in primary-key order, so two transactions locking overlapping sets of
    wallets can never deadlock. On SQLite `select_for_update` is a no-op; writers are already
    serialized there by `BEGIN IMMEDIATE`.
    """
    if not transaction.get_connection().in_atomic_block:
        raise TransactionRequired("wallets_lock() must run inside transaction.atomic().")
    by_pk = {currency.pk: currency for currency in currencies}
    wallets = _select_locked(player=player, currency_pks=list(by_pk))
    missing = set(by_pk) - {wallet.currency_id for wallet in wallets}
    if missing:
        # ON CONFLICT DO NOTHING: a concurrent first grant may create the same wallet; either
        # way the row exists afterwards and the locking select below waits for its creator.
        Wallet.objects.bulk_create(
            [Wallet(player=player, currency_id=pk, balance=0) for pk in sorted(missing)],
            ignore_conflicts=True,
        )
        wallets = _select_locked(player=player, currency_pks=list(by_pk))
    for wallet in wallets:
        # Cache the related rows the caller already holds, so rendering needs no query.
        wallet.player = player
        wallet.currency = by_pk[wallet.currency_id]
    return {wallet.currency_id: wallet for wallet in wallets}


def wallet_lock(*, player: User, currency: Currency) -> Wallet:
    return wallets_lock(player=player, currencies=[currency])[currency.pk]


def _select_locked(*, player: User, currency_pks: list[int]) -> list[Wallet]:
    return list(
        Wallet.objects.select_for_update()
        .filter(player=player, currency_id__in=currency_pks)
        .order_by("pk")
    )
