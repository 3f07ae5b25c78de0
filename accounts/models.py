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

    def __str__(self) -> str:
        return self.username

    @property
    def is_banned(self) -> bool:
        return not self.is_active
