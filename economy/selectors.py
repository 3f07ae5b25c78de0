"""Reads of the economy: balances, a player's ledger page, and the ledger audit."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connection
from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, TruncDate

from core.compiled import CompiledGet
from economy.models import (
    ADJUST_FORM_MAX_AGE_SECONDS,
    MAX_BALANCE,
    Currency,
    LedgerEntry,
    Wallet,
)

if TYPE_CHECKING:
    from accounts.models import User

CURSOR_SALT = "economy.transactions.cursor"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class LedgerCursor:
    """Position after the last entry of a page: (created_at, id) of that entry."""

    created_at: datetime
    entry_id: int

    def encode(self) -> str:
        micros = (self.created_at - EPOCH) // MICROSECOND
        signed = signing.Signer(salt=CURSOR_SALT).sign(f"{micros}.{self.entry_id}")
        return base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> LedgerCursor:
        """Cursors are signed: a garbled, truncated or forged one is refused."""
        try:
            padded = text + "=" * (-len(text) % 4)
            signed = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
            payload = signing.Signer(salt=CURSOR_SALT).unsign(signed)
            micros_text, id_text = payload.split(".")
            micros, entry_id = int(micros_text), int(id_text)
            created_at = EPOCH + micros * MICROSECOND
        except (ValueError, UnicodeError, binascii.Error, signing.BadSignature, OverflowError):
            raise InvalidCursor(text) from None
        return cls(created_at=created_at, entry_id=entry_id)


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry]
    next_cursor: LedgerCursor | None


def currencies() -> QuerySet[Currency]:
    """Every currency, by code (lazy: the admin's adjust form takes it as its choices)."""
    return Currency.objects.order_by("code")


def adjust_limits() -> tuple[int, int]:
    """(the largest balance any wallet may hold, the age in seconds after which an admin adjust
    form is stale)."""
    return MAX_BALANCE, ADJUST_FORM_MAX_AGE_SECONDS


def currencies_with_balances(*, player: User) -> list[tuple[Currency, int]]:
    """Every currency with the player's balance in it (0 without a wallet), in one query."""
    balance = Wallet.objects.filter(player=player, currency=OuterRef("pk")).values("balance")[:1]
    currencies = Currency.objects.annotate(
        player_balance=Coalesce(Subquery(balance), Value(0))
    ).order_by("code")
    return [(currency, int(currency.player_balance)) for currency in currencies]


def players_with_balances() -> QuerySet[User]:
    """Users annotated with `balances_json`: every currency code with the user's balance in it
    (0 without a wallet), as a JSON object in text; read it with `balances_from_json`. One
    query with the user row (the authentication of `/balance` reads the user from here)."""
    aggregate = (
        "json_object_agg(c.code, coalesce(w.balance, 0))::text"
        if connection.vendor == "postgresql"
        else "json_group_object(c.code, coalesce(w.balance, 0))"
    )
    user_model = get_user_model()
    user_table = user_model._meta.db_table
    return user_model.objects.annotate(
        balances_json=RawSQL(  # noqa: S611 (table names are ours; no values)
            f"SELECT coalesce({aggregate}, '{{}}') FROM {Currency._meta.db_table} c "  # noqa: S608
            f"LEFT JOIN {Wallet._meta.db_table} w "
            f"ON w.currency_id = c.id AND w.player_id = {user_table}.id",
            (),
            output_field=TextField(),
        )
    )


# The token's user with its balances, by username: `/balance` authenticates with it.
PLAYERS_WITH_BALANCES: CompiledGet[User] = CompiledGet(players_with_balances, "username")

_CURRENCIES: CompiledGet[Currency] = CompiledGet(lambda: Currency.objects.all(), "code")


def currency_by_code(code: str) -> Currency | None:
    """The currency with this code, or None (read by every wallet change)."""
    return _CURRENCIES.get(code)


def balances_from_json(text: str) -> dict[str, int]:
    """Balances by currency code, in code order, from `players_with_balances`' annotation."""
    return {code: int(balance) for code, balance in sorted(json.loads(text).items())}


def ledger_entries_page(
    *, player: User, currency: Currency | None, limit: int, cursor: LedgerCursor | None
) -> LedgerPage:
    """The player's ledger entries, newest first, `limit` at a time (keyset pagination)."""
    entries = LedgerEntry.objects.filter(player=player).select_related("wallet__currency")
    if currency is not None:
        entries = entries.filter(wallet__currency=currency)
    if cursor is not None:
        entries = entries.filter(
            Q(created_at__lt=cursor.created_at)
            | Q(created_at=cursor.created_at, id__lt=cursor.entry_id)
        )
    rows = list(entries.order_by("-created_at", "-id")[: limit + 1])
    page = rows[:limit]
    next_cursor = (
        LedgerCursor(created_at=page[-1].created_at, entry_id=page[-1].pk)
        if len(rows) > limit
        else None
    )
    return LedgerPage(entries=page, next_cursor=next_cursor)


@dataclass(frozen=True)
class LedgerViolation:
    wallet_id: int
    player: str
    currency: str
    problem: str


@dataclass(frozen=True)
class LedgerAudit:
    wallets: int
    entries: int
    violations: list[LedgerViolation]


def ledger_audit() -> LedgerAudit:
    """Check every wallet: balance >= 0, balance == sum of its entries == the newest entry's
    balance_after, and every entry's balance_after == the running sum up to it.

    All in aggregate queries. "Newest" is the highest id: ids are drawn under the wallet
    lock, so within a wallet they follow the order of the writes even if the clock stepped
    back (created_at could not be trusted for that).
    """
    entries = LedgerEntry.objects.filter(wallet=OuterRef("pk"))
    total = entries.order_by().values("wallet").annotate(total=Sum("amount")).values("total")
    newest = entries.order_by("-id").values("balance_after")[:1]
    wallets = Wallet.objects.annotate(
        entry_total=Coalesce(Subquery(total), Value(0)),
        newest_balance_after=Coalesce(Subquery(newest), Value(0)),
    )
    violations: list[LedgerViolation] = []
    broken = wallets.filter(
        Q(balance__lt=0) | ~Q(balance=F("entry_total")) | ~Q(balance=F("newest_balance_after"))
    ).values_list(
        "pk",
        "player__username",
        "currency__code",
        "balance",
        "entry_total",
        "newest_balance_after",
    )
    for pk, username, code, balance, entry_total, newest_after in broken.order_by("pk"):
        violations.append(
            LedgerViolation(
                wallet_id=pk,
                player=username,
                currency=code,
                problem=(
                    f"balance {balance}, sum of entries {entry_total}, "
                    f"newest balance_after {newest_after}"
                ),
            )
        )
    running = LedgerEntry.objects.annotate(
        running_total=Window(Sum("amount"), partition_by=[F("wallet_id")], order_by=F("id").asc())
    )
    broken_entries = running.filter(~Q(balance_after=F("running_total"))).values_list(
        "wallet_id",
        "wallet__player__username",
        "wallet__currency__code",
        "transaction_id",
        "balance_after",
        "running_total",
    )
    for (
        wallet_id,
        username,
        code,
        transaction_id,
        balance_after,
        running_total,
    ) in broken_entries.order_by("wallet_id", "id"):
        violations.append(
            LedgerViolation(
                wallet_id=wallet_id,
                player=username,
                currency=code,
                problem=(
                    f"entry {transaction_id} has balance_after {balance_after}, "
                    f"but the entries up to it sum to {running_total}"
                ),
            )
        )
    return LedgerAudit(
        wallets=Wallet.objects.count(), entries=LedgerEntry.objects.count(), violations=violations
    )


# --- Sources and sinks: currency granted and spent per day ---------------------------------


@dataclass(frozen=True)
class LedgerFlow:
    """What one (UTC day, currency, kind, reason) granted (positive amounts) and spent
    (negative amounts, as a positive number), over `entries` ledger entries."""

    day: date
    currency: str
    kind: str
    reason: str
    granted: int
    spent: int
    entries: int


# Amounts are summed as two parts, amount / 2**32 and amount % 2**32 (both truncate toward zero
# in SQLite and PostgreSQL, so part * 2**32 + rest == amount for either sign): SQLite's SUM() of
# 64-bit integers fails with "integer overflow" past 2**63 - 1, while each part's sum stays far
# inside that range for up to 2**31 entries. PostgreSQL sums bigints exactly anyway.
_SPLIT = 2**32


def _flows_per_day(
    *, day_from: date, day_to: date, group_by: tuple[str, ...]
) -> list[tuple[dict[str, Any], int, int]]:
    """One GROUP BY of the ledger entries of UTC days `day_from`..`day_to` by the entry's day and
    `group_by`, in that order: (the group's values with `day` and `entries`, granted, spent),
    the sums exact (see `_SPLIT`)."""
    start = datetime.combine(day_from, time.min, tzinfo=UTC)
    end = datetime.combine(day_to + timedelta(days=1), time.min, tzinfo=UTC)
    parts = {
        f"{name}_{part}": Sum(expression, filter=condition, default=0)
        for name, condition in (("granted", Q(amount__gt=0)), ("spent", Q(amount__lt=0)))
        for part, expression in (("high", F("amount") / _SPLIT), ("low", F("amount") % _SPLIT))
    }
    rows = (
        LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", *group_by)
        .annotate(**parts, entries=Count("id"))
        .order_by("day", *group_by)
    )

    def total(row: dict[str, Any], name: str) -> int:
        return int(row[f"{name}_high"]) * _SPLIT + int(row[f"{name}_low"])

    return [(row, total(row, "granted"), -total(row, "spent")) for row in rows]


def ledger_flows(*, day_from: date, day_to: date) -> list[LedgerFlow]:
    """Currency granted and spent per UTC day, currency, kind and reason, from `day_from` to
    `day_to` inclusive, in that order: one GROUP BY over the range; the sums are exact."""
    flows = _flows_per_day(
        day_from=day_from, day_to=day_to, group_by=("wallet__currency__code", "kind", "reason")
    )
    return [
        LedgerFlow(
            day=row["day"],
            currency=row["wallet__currency__code"],
            kind=row["kind"],
            reason=row["reason"],
            granted=granted,
            spent=spent,
            entries=int(row["entries"]),
        )
        for row, granted, spent in flows
    ]


def ledger_latest_day() -> date | None:
    """The UTC day of the newest ledger entry; None for an empty ledger."""
    newest = LedgerEntry.objects.order_by("-created_at").values_list("created_at", flat=True)
    moment = newest.first()
    return None if moment is None else moment.astimezone(UTC).date()


# --- Currency granted and spent per day (the live-ops home page) ------------------------------


@dataclass(frozen=True)
class CurrencyDay:
    day: date
    currency: str
    granted: int  # sum of positive amounts
    spent: int  # sum of negative amounts, as a positive number


def currency_flows_per_day(*, low: date, high: date) -> list[CurrencyDay]:
    """Ledger amounts granted and spent per (UTC day of the entry, currency code) in [low, high],
    exact integers (as `ledger_flows`, without the kind and reason); days and currencies without
    entries are absent. One grouped query."""
    flows = _flows_per_day(day_from=low, day_to=high, group_by=("wallet__currency__code",))
    return [
        CurrencyDay(
            day=row["day"], currency=row["wallet__currency__code"], granted=granted, spent=spent
        )
        for row, granted, spent in flows
    ]
