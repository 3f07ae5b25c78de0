"""Request and response shapes of /earn, /spend, /balance and /transactions (SPEC §3, §3.1)."""

import re
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from core.fields import StrictCharField, StrictIntegerField, iso_utc
from core.openapi import problem_serializer
from economy import selectors
from economy.models import DEFAULT_CURRENCY_CODE, Currency, LedgerEntry
from economy.selectors import InvalidCursor, LedgerCursor

MAX_AMOUNT = 1_000_000_000
# The shape of every currency code (economy.models.currency_code_validator): a code of another
# shape cannot name a currency. Whether a code of this shape exists depends on the rows managed
# in the admin, which the OpenAPI document cannot list: such a code is a 400 unknown_currency.
CURRENCY_CODE_PATTERN = r"^[a-z0-9_]{1,32}\Z"
CURRENCY_CODE_HELP = (
    "An existing currency code (currencies are managed in the admin): an unknown one is 400 "
    "validation_error with the field error code `unknown_currency`."
)
# A cursor is URL-safe base64 without padding (economy.selectors.LedgerCursor.encode).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+\Z"


def currency_code_validator() -> RegexValidator:
    return RegexValidator(
        CURRENCY_CODE_PATTERN, "Unknown currency (1 to 32 of a-z 0-9 _).", code="unknown_currency"
    )


class CurrencyCodeField(StrictCharField):
    """A currency code that exists; becomes the `Currency` row."""

    default_error_messages = {"unknown_currency": "Unknown currency {code!r}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("validators", [currency_code_validator()])
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        code = super().run_validation(data)  # a JSON string of 1 to 32 characters
        if code is None or code is serializers.empty:
            return code
        currency = selectors.currency_by_code(code)
        if currency is None:
            self.fail("unknown_currency", code=code)
        return currency

    def to_representation(self, value: Any) -> str:
        return value.code if isinstance(value, Currency) else str(value)


def _with_default_currency(attrs: dict[str, Any], field_name: str = "currency") -> dict[str, Any]:
    if attrs.get(field_name) is None:
        currency = selectors.currency_by_code(DEFAULT_CURRENCY_CODE)
        if currency is None:
            raise serializers.ValidationError(
                {field_name: [f"The default currency {DEFAULT_CURRENCY_CODE!r} does not exist."]},
                code="unknown_currency",
            )
        attrs[field_name] = currency
    return attrs


class EarnRequestSerializer(serializers.Serializer):
    amount = StrictIntegerField(min_value=1, max_value=MAX_AMOUNT)
    reason = StrictCharField(min_length=1, max_length=64)
    currency = CurrencyCodeField(
        required=False, help_text=f"Default {DEFAULT_CURRENCY_CODE!r}. {CURRENCY_CODE_HELP}"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _with_default_currency(attrs)


class SpendRequestSerializer(EarnRequestSerializer):
    pass


class WalletChangeResponseSerializer(serializers.Serializer):
    userId = serializers.CharField()
    currency = serializers.CharField()
    amount = serializers.IntegerField(help_text="As requested (positive for spends too).")
    reason = serializers.CharField()
    balance = serializers.IntegerField(help_text="The balance after this operation.")
    transactionId = serializers.UUIDField()


def wallet_change_body(entry: LedgerEntry) -> dict[str, Any]:
    """The /earn and /spend 200 body; `entry.wallet` must hold its player and currency."""
    return {
        "userId": entry.wallet.player.username,
        "currency": entry.wallet.currency.code,
        "amount": abs(entry.amount),
        "reason": entry.reason,
        "balance": entry.balance_after,
        "transactionId": str(entry.transaction_id),
    }


class BalanceQuerySerializer(serializers.Serializer):
    currency = StrictCharField(
        required=False,
        min_length=1,
        max_length=32,
        validators=[currency_code_validator()],
        help_text=f"Default {DEFAULT_CURRENCY_CODE!r}; empty means not given. {CURRENCY_CODE_HELP}",
    )


class BalanceResponseSerializer(serializers.Serializer):
    userId = serializers.CharField()
    currency = serializers.CharField()
    balance = serializers.IntegerField()
    balances = serializers.DictField(
        child=serializers.IntegerField(), help_text="Every currency, 0 where there is no wallet."
    )


class QueryIntegerField(serializers.IntegerField):
    """A query-string integer: decimal digits only (`10.0`, `1e2` and `+5` are refused)."""

    default_error_messages = {"invalid": "Must be an integer written in decimal digits."}

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not re.fullmatch(r"[0-9]{1,9}", data):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class CursorField(StrictCharField):
    """An opaque, signed cursor: the `nextCursor` of an earlier page."""

    default_error_messages = {"invalid_cursor": "This cursor is unknown or garbled."}

    def __init__(self, **kwargs: Any) -> None:
        # Checked before decoding: base64 decoding would skip characters outside its alphabet.
        kwargs.setdefault(
            "validators",
            [
                RegexValidator(
                    CURSOR_PATTERN, "This cursor is unknown or garbled.", "invalid_cursor"
                )
            ],
        )
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        text = super().run_validation(data)  # a string within the length limits
        try:
            return LedgerCursor.decode(text)
        except InvalidCursor:
            self.fail("invalid_cursor")


class TransactionsQuerySerializer(serializers.Serializer):
    currency = CurrencyCodeField(
        required=False, help_text=f"Default (or empty): every currency. {CURRENCY_CODE_HELP}"
    )
    limit = QueryIntegerField(
        required=False,
        min_value=1,
        max_value=100,
        default=50,
        help_text="Decimal digits; empty means not given.",
    )
    cursor = CursorField(
        required=False,
        min_length=1,
        max_length=512,
        help_text=(
            "Opaque: the `nextCursor` of the previous page; empty means the first page. A cursor "
            "this API did not issue (garbled, truncated or forged) is 400 validation_error with "
            "the field error code `invalid_cursor`."
        ),
    )


class LedgerEntryResponseSerializer(serializers.Serializer):
    transactionId = serializers.UUIDField()
    currency = serializers.CharField()
    amount = serializers.IntegerField(help_text="Signed: spends are negative.")
    balanceAfter = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LedgerEntry.Kind.values)
    reason = serializers.CharField()
    createdAt = serializers.DateTimeField()


class TransactionsResponseSerializer(serializers.Serializer):
    entries = LedgerEntryResponseSerializer(many=True)
    nextCursor = serializers.CharField(allow_null=True)


def ledger_entry_body(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "transactionId": str(entry.transaction_id),
        "currency": entry.wallet.currency.code,
        "amount": entry.amount,
        "balanceAfter": entry.balance_after,
        "kind": entry.kind,
        "reason": entry.reason,
        "createdAt": iso_utc(entry.created_at),
    }


# An RFC 9457 problem as the economy endpoints return it (application/problem+json).
EconomyProblemSerializer = problem_serializer(
    "EconomyProblem",
    balance=serializers.IntegerField(
        required=False, help_text="insufficient_funds and balance_limit: the balance."
    ),
    maxBalance=serializers.IntegerField(required=False, help_text="balance_limit only."),
)
