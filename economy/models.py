"""Currencies, wallets, the append-only ledger, earn rules and stored idempotent responses.

Integrity lives in the database: a wallet balance can never be negative, a player has one wallet
per currency, ledger amounts agree in sign with their kind, and the ledger table refuses UPDATE
and DELETE through triggers (migration 0003). Business flow lives in `services.py`.
"""

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

# The largest balance a signed 64-bit column can hold.
MAX_BALANCE = 2**63 - 1
DEFAULT_CURRENCY_CODE = "coins"

currency_code_validator = RegexValidator(
    r"^[a-z0-9_]{1,32}\Z", "1 to 32 lowercase letters, digits or underscores.", code="invalid"
)


class Currency(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[currency_code_validator])
    name = models.CharField(max_length=64)
    max_balance = models.BigIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Grants that would take a balance above this are refused. Empty: 2^63-1.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_balance__isnull=True) | Q(max_balance__gte=1),
                name="economy_currency_max_balance_positive",
            )
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def balance_ceiling(self) -> int:
        return MAX_BALANCE if self.max_balance is None else min(self.max_balance, MAX_BALANCE)


class Wallet(models.Model):
    player = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallets"
    )
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="wallets")
    balance = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="economy_wallet_balance_non_negative"
            ),
            models.UniqueConstraint(
                fields=["player", "currency"], name="economy_wallet_one_per_player_currency"
            ),
        ]
        permissions = [("adjust_wallet", "Can adjust a wallet balance (staff adjustment)")]

    def __str__(self) -> str:
        return f"{self.player_id}/{self.currency_id}: {self.balance}"


class LedgerEntry(models.Model):
    """One change of one wallet balance. Rows are only ever inserted (see migration 0003)."""

    class Kind(models.TextChoices):
        EARN = "earn", "earn"
        SPEND = "spend", "spend"
        ADJUSTMENT = "adjustment", "adjustment"

    transaction_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    # Copied from the wallet (entries never change) so a player's history is one index scan.
    player = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    amount = models.BigIntegerField(help_text="Signed: spends and withdrawals are negative.")
    balance_after = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_adjustments",
        help_text="The staff member who made an adjustment.",
    )
    note = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(
                fields=["player", "-created_at", "-id"], name="economy_ledger_player_newest"
            ),
            models.Index(
                fields=["wallet", "-created_at", "-id"], name="economy_ledger_wallet_newest"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="economy_ledger_balance_after_non_negative"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="earn", amount__gt=0, actor__isnull=True)
                    | Q(kind="spend", amount__lt=0, actor__isnull=True)
                    | (Q(kind="adjustment", actor__isnull=False) & ~Q(amount=0) & ~Q(note=""))
                ),
                name="economy_ledger_kind_sign_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.kind} {self.amount:+d}"


class EarnRule(models.Model):
    """Server authority over client grants: caps per grant and per player per UTC day."""

    reason = models.CharField(max_length=64)
    currency = models.ForeignKey(Currency, on_delete=models.CASCADE, related_name="earn_rules")
    max_per_grant = models.BigIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Empty: no cap."
    )
    max_per_day = models.BigIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Total per player per UTC day for this reason. Empty: no cap.",
    )

    class Meta:
        ordering = ["currency", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["reason", "currency"], name="economy_earnrule_one_per_reason_currency"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.currency_id})"


class IdempotencyRecord(models.Model):
    """The first outcome of a request sent with an `Idempotency-Key`, replayed on retries."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "in progress"
        DONE = "done", "done"

    player = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body.")
    state = models.CharField(max_length=16, choices=State.choices)
    # Fences a claim: only the request holding the current token may store the outcome, so a
    # request taken over after a crash can never complete alongside its successor.
    claim_token = models.UUIDField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=64, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(help_text="Expiry counts from here.")
    started_at = models.DateTimeField(help_text="When the current claim began executing.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["player", "key"], name="economy_idempotency_one_per_player_key"
            ),
            models.CheckConstraint(
                condition=Q(state="in_progress")
                | Q(response_status__isnull=False, response_body__isnull=False),
                name="economy_idempotency_done_has_response",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="economy_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.player_id}:{self.key} ({self.state})"


# A rendered adjust form can be submitted for this long (its one-time token is signed with a
# timestamp); used tokens are remembered as long, then pruned.
ADJUST_FORM_MAX_AGE_SECONDS = 12 * 3600


class AdjustFormSubmission(models.Model):
    """The one-time token of an admin adjust form that made its adjustment.

    Written in the adjustment's own transaction: the primary key makes a second submit of the
    same rendered form (a double click, a resent POST, a concurrent retry) fail and write nothing.
    """

    nonce = models.CharField(max_length=64, primary_key=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="economy_adjustform_created")]

    def __str__(self) -> str:
        return self.nonce
