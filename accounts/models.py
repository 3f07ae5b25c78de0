from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models

USER_ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,64}\Z"
user_id_validator = RegexValidator(
    USER_ID_PATTERN, "1 to 64 characters of letters, digits and _ . : @ -", code="invalid_user_id"
)


class User(AbstractUser):
    """A player (created on first `/login`) or a staff member; `username` is the userId."""

    username = models.CharField(
        "userId",
        max_length=64,
        unique=True,
        validators=[user_id_validator],
        error_messages={"unique": "A user with that userId already exists."},
    )
    banned_at = models.DateTimeField(null=True, blank=True)
    ban_reason = models.CharField(max_length=500, blank=True)
    # Password brute-force lockout, per account whatever the client IP.
    login_failures = models.PositiveSmallIntegerField(default=0)
    login_failures_since = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["username"]
        permissions = [("ban_player", "Can ban and unban players")]
        indexes = [
            # The players list (newest first, -date_joined -id) and the home page's and
            # retention's new players per day (a date_joined range) read this, not the table.
            models.Index(fields=["date_joined", "id"], name="accounts_user_joined"),
        ]

    def __str__(self) -> str:
        return self.username


class BanRecord(models.Model):
    """One ban or unban of a player, with its reason and the staff member who did it.

    Append-only: written by `player_ban` / `player_unban` in the transaction that changes the
    player, never changed or deleted afterwards (the admin shows them read-only)."""

    class Action(models.TextChoices):
        BAN = "ban", "ban"
        UNBAN = "unban", "unban"

    player = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ban_records"
    )
    action = models.CharField(max_length=5, choices=Action.choices)
    reason = models.CharField(max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member; empty when the change came from no staff member.",
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} of {self.player_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
