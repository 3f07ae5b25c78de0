"""Writes of the economy: every balance change and its ledger entry, in one transaction each.

Each public function owns exactly one `transaction.atomic(durable=True)`: lock the wallet row,
check, update the balance, insert one ledger entry. A refusal raises a domain error inside the
transaction, so nothing (not even a new empty wallet) is written. On PostgreSQL the common case
(within the limits, no earn rule, no idempotency key) is one statement that does the same in
one round trip (`_EARN_ONE_STATEMENT`, `_SPEND_ONE_STATEMENT`); anything else takes the full
path, which decides and refuses.

A money write has no hidden inputs: the request id stored on each ledger entry is an argument
(`request_id`, "" outside a request), passed by the API views and the admin.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from core import metrics
from core.db import prepared_cursor
from core.problems import InvalidInput
from economy.errors import (
    AdjustFormAlreadySubmitted,
    AdjustmentNotAllowed,
    BalanceLimit,
    EarnLimitExceeded,
    InsufficientFunds,
)
from economy.idempotency import IdempotencyClaim
from economy.locks import wallet_lock
from economy.models import (
    ADJUST_FORM_MAX_AGE_SECONDS,
    MAX_BALANCE,
    AdjustFormSubmission,
    Currency,
    EarnRule,
    IdempotencyRecord,
    LedgerEntry,
    Wallet,
)

if TYPE_CHECKING:
    from accounts.models import User

Kind = LedgerEntry.Kind
ADJUSTMENT_REASON = "staff_adjustment"


def wallet_earn(
    *,
    player: User,
    currency: Currency,
    amount: int,
    reason: str,
    request_id: str,
    idempotency: IdempotencyClaim | None = None,
) -> LedgerEntry:
    """Grant `amount` to the player's wallet, within the earn rules and the balance ceiling.

    `request_id` is stored on the ledger entry ("" when the write comes from no request)."""
    _require_positive(amount)
    if idempotency is None and not settings.ECONOMY_REQUIRE_EARN_RULE:
        entry = _ledger_append_one_statement(
            player=player,
            currency=currency,
            amount=amount,
            kind=Kind.EARN,
            reason=reason,
            request_id=request_id,
        )
        if entry is not None:
            return entry
    rule = EarnRule.objects.filter(reason=reason, currency=currency).first()
    if rule is None and settings.ECONOMY_REQUIRE_EARN_RULE:
        raise EarnLimitExceeded(
            f"No earn rule exists for reason {reason!r} in {currency.code}, and this server "
            "only grants reasons that have one (ECONOMY_REQUIRE_EARN_RULE).",
            extra={"reason": reason},
        )
    if rule is not None and rule.max_per_grant is not None and amount > rule.max_per_grant:
        raise EarnLimitExceeded(
            f"At most {rule.max_per_grant} {currency.code} per grant for reason {reason!r}.",
            extra={"reason": reason, "maxPerGrant": rule.max_per_grant},
        )
    with transaction.atomic(durable=True):
        wallet = wallet_lock(player=player, currency=currency)
        now = timezone.now()
        if rule is not None and rule.max_per_day is not None:
            # Read under the wallet lock: concurrent grants of this wallet queue behind it.
            earned_today = _earned_today(wallet=wallet, reason=reason, now=now)
            if earned_today + amount > rule.max_per_day:
                raise EarnLimitExceeded(
                    f"At most {rule.max_per_day} {currency.code} per UTC day for reason "
                    f"{reason!r}; {earned_today} already granted today.",
                    extra={
                        "reason": reason,
                        "maxPerDay": rule.max_per_day,
                        "earnedToday": earned_today,
                    },
                )
        _require_within_ceiling(wallet=wallet, amount=amount)
        return _ledger_append(
            wallet=wallet,
            amount=amount,
            kind=Kind.EARN,
            reason=reason,
            now=now,
            request_id=request_id,
            idempotency=idempotency,
        )


def wallet_spend(
    *,
    player: User,
    currency: Currency,
    amount: int,
    reason: str,
    request_id: str,
    idempotency: IdempotencyClaim | None = None,
) -> LedgerEntry:
    """Take `amount` from the player's wallet; refused (409) when the balance is too low."""
    _require_positive(amount)
    if idempotency is None:
        entry = _ledger_append_one_statement(
            player=player,
            currency=currency,
            amount=-amount,
            kind=Kind.SPEND,
            reason=reason,
            request_id=request_id,
        )
        if entry is not None:
            return entry
    with transaction.atomic(durable=True):
        wallet = wallet_lock(player=player, currency=currency)
        _require_funds(wallet=wallet, amount=amount)
        return _ledger_append(
            wallet=wallet,
            amount=-amount,
            kind=Kind.SPEND,
            reason=reason,
            now=timezone.now(),
            request_id=request_id,
            idempotency=idempotency,
        )


def wallet_adjust(
    *,
    player: User,
    currency: Currency,
    amount: int,
    note: str,
    actor: User,
    request_id: str,
    form_nonce: str | None = None,
) -> LedgerEntry:
    """A staff correction (signed `amount`) with a required note; earn rules do not apply, the
    balance floor and ceiling do. The ledger records the staff member as actor.

    `form_nonce` (the admin forms' one-time token) is consumed in the same transaction, so one
    rendered form makes at most one adjustment; a used one raises AdjustFormAlreadySubmitted."""
    errors: dict[str, list[str]] = {}
    if amount == 0 or abs(amount) > MAX_BALANCE:
        errors["amount"] = [f"A non-zero integer between -{MAX_BALANCE} and {MAX_BALANCE}."]
    if not note.strip():
        errors["note"] = ["An adjustment needs a note saying why."]
    if errors:
        raise InvalidInput(errors)
    if not (actor.is_staff and actor.is_active):
        raise AdjustmentNotAllowed()
    with transaction.atomic(durable=True):
        now = timezone.now()
        if form_nonce is not None:
            _adjust_form_consume(nonce=form_nonce, now=now)
        wallet = wallet_lock(player=player, currency=currency)
        if amount < 0:
            _require_funds(wallet=wallet, amount=-amount)
        else:
            _require_within_ceiling(wallet=wallet, amount=amount)
        return _ledger_append(
            wallet=wallet,
            amount=amount,
            kind=Kind.ADJUSTMENT,
            reason=ADJUSTMENT_REASON,
            now=now,
            request_id=request_id,
            actor=actor,
            note=note.strip(),
        )


def _adjust_form_consume(*, nonce: str, now: datetime) -> None:
    """Record an adjust form's token as used, inside the adjustment's transaction. A concurrent
    submit of the same form waits on the primary key and then fails; tokens past their age are
    refused by the form, so their rows are pruned here."""
    AdjustFormSubmission.objects.filter(
        created_at__lt=now - timedelta(seconds=ADJUST_FORM_MAX_AGE_SECONDS)
    ).delete()
    try:
        with transaction.atomic():
            AdjustFormSubmission.objects.create(nonce=nonce, created_at=now)
    except IntegrityError:
        raise AdjustFormAlreadySubmitted() from None


def idempotency_records_prune(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete idempotency records older than IDEMPOTENCY_TTL_HOURS, in short batches so
    requests are never blocked for long; safe to run from cron while the API serves."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted = 0
    while True:
        with transaction.atomic(durable=True):
            batch = list(
                IdempotencyRecord.objects.filter(created_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not batch:
                return deleted
            # The cutoff is checked again: a request may have renewed an expired key meanwhile.
            count, _ = IdempotencyRecord.objects.filter(
                pk__in=batch, created_at__lt=cutoff
            ).delete()
        deleted += count


def _require_positive(amount: int) -> None:
    if type(amount) is not int or not 1 <= amount <= MAX_BALANCE:
        raise ValueError(f"amount must be a positive integer, got {amount!r}")


def _require_funds(*, wallet: Wallet, amount: int) -> None:
    if wallet.balance < amount:
        raise InsufficientFunds(
            f"The {wallet.currency.code} balance is {wallet.balance}; {amount} are needed.",
            extra={"balance": wallet.balance},
        )


def _require_within_ceiling(*, wallet: Wallet, amount: int) -> None:
    ceiling = wallet.currency.balance_ceiling
    if wallet.balance + amount > ceiling:
        raise BalanceLimit(
            f"The {wallet.currency.code} balance is {wallet.balance}; adding {amount} would "
            f"pass the maximum of {ceiling}.",
            extra={"balance": wallet.balance, "maxBalance": ceiling},
        )


def _earned_today(*, wallet: Wallet, reason: str, now: datetime) -> int:
    day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    total = LedgerEntry.objects.filter(
        wallet=wallet, kind=Kind.EARN, reason=reason, created_at__gte=day_start
    ).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


_WALLET = Wallet._meta.db_table
_ENTRY = LedgerEntry._meta.db_table
_RULE = EarnRule._meta.db_table
# The common earn or spend as one statement, so one round trip. The wallet statement takes the
# wallet's row lock and applies the change only when the result stays within [0, ceiling]
# (checked on the row as locked; `ceiling - amount` is computed in Python so nothing overflows
# bigint); an earn also creates a missing wallet (the upsert). The ledger INSERT reads its
# result, so the entry gets the new balance as balance_after and its id is drawn while the lock
# is held; both commit together or not at all. An earn with an earn rule for its reason never
# matches (`NOT EXISTS`): rules are checked by the full path, as is every refusal.
_LEDGER_INSERT = f"""
    INSERT INTO {_ENTRY} (transaction_id, wallet_id, player_id, amount, balance_after, kind,
                          reason, idempotency_key, actor_id, note, request_id, created_at)
    SELECT %(transaction_id)s, changed.id, %(player)s, %(amount)s, changed.balance, %(kind)s,
           %(reason)s, NULL, NULL, '', %(request_id)s, %(now)s
    FROM changed
    RETURNING id, wallet_id, balance_after
"""  # noqa: S608  (table names are ours; values are parameters)
_EARN_ONE_STATEMENT = f"""
    WITH changed AS (
        INSERT INTO {_WALLET} AS w (player_id, currency_id, balance, created_at, updated_at)
        SELECT %(player)s, %(currency)s, %(amount)s, %(now)s, %(now)s
        WHERE %(top)s >= 0 AND NOT EXISTS (
            SELECT 1 FROM {_RULE} WHERE reason = %(reason)s AND currency_id = %(currency)s)
        ON CONFLICT (player_id, currency_id) DO UPDATE
            SET balance = w.balance + excluded.balance, updated_at = excluded.updated_at
            WHERE w.balance <= %(top)s
        RETURNING id, balance
    )
    {_LEDGER_INSERT}
"""  # noqa: S608  (table names are ours; values are parameters)
_SPEND_ONE_STATEMENT = f"""
    WITH changed AS (
        UPDATE {_WALLET} SET balance = balance + %(amount)s, updated_at = %(now)s
        WHERE player_id = %(player)s AND currency_id = %(currency)s AND balance >= %(floor)s
        RETURNING id, balance
    )
    {_LEDGER_INSERT}
"""  # noqa: S608  (table names are ours; values are parameters)


def _ledger_append_one_statement(
    *, player: User, currency: Currency, amount: int, kind: str, reason: str, request_id: str
) -> LedgerEntry | None:
    """An earn (to a new or existing wallet) or a spend within the limits, in one statement on
    PostgreSQL; None when it did not apply (a limit, an earn rule, a spend from a missing
    wallet, another database): then the caller takes the full path, which decides."""
    if connection.vendor != "postgresql":
        return None
    now = timezone.now()
    transaction_id = uuid.uuid4()
    with prepared_cursor() as cursor:
        cursor.execute(
            _EARN_ONE_STATEMENT if kind == Kind.EARN else _SPEND_ONE_STATEMENT,
            {
                "amount": amount,
                "now": now,
                "player": player.pk,
                "currency": currency.pk,
                # spend: balance >= -amount; earn: balance <= ceiling - amount
                "floor": -amount,
                "top": currency.balance_ceiling - amount,
                "reason": reason,
                "transaction_id": transaction_id,
                "kind": kind,
                "request_id": request_id,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    entry_id, wallet_id, balance_after = row
    transaction.on_commit(lambda: metrics.ledger_entries_record(kind=kind))
    wallet = Wallet(
        pk=wallet_id, player=player, currency=currency, balance=balance_after, updated_at=now
    )
    return LedgerEntry(
        pk=entry_id,
        transaction_id=transaction_id,
        wallet=wallet,
        player=player,
        amount=amount,
        balance_after=balance_after,
        kind=kind,
        reason=reason,
        idempotency_key=None,
        actor=None,
        note="",
        request_id=request_id,
        created_at=now,
    )


def _ledger_append(
    *,
    wallet: Wallet,
    amount: int,
    kind: str,
    reason: str,
    now: datetime,
    request_id: str,
    idempotency: IdempotencyClaim | None = None,
    actor: User | None = None,
    note: str = "",
) -> LedgerEntry:
    """Apply `amount` to the locked wallet and write its one ledger entry."""
    wallet.balance += amount
    wallet.updated_at = now
    Wallet.objects.filter(pk=wallet.pk).update(balance=wallet.balance, updated_at=now)
    transaction.on_commit(lambda: metrics.ledger_entries_record(kind=kind))
    entry = LedgerEntry.objects.create(
        wallet=wallet,
        player=wallet.player,
        amount=amount,
        balance_after=wallet.balance,
        kind=kind,
        reason=reason,
        idempotency_key=idempotency.key if idempotency is not None else None,
        actor=actor,
        note=note,
        request_id=request_id,
        created_at=now,
    )
    if idempotency is not None:
        idempotency.record_success(entry)
    return entry
