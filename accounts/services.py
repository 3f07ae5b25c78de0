"""Writes of the accounts app: login, token refresh with reuse detection, passwords, bans."""

import logging
import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import AccountBanned, AccountLocked, InvalidCredentials, TokenInvalid
from accounts.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int
    user_id: str


def token_pair_issue(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)  # also records it as outstanding, for revocation
    lifetime: timedelta = jwt_settings.ACCESS_TOKEN_LIFETIME
    return TokenPair(
        access=str(refresh.access_token),
        refresh=str(refresh),
        expires_in=int(lifetime.total_seconds()),
        user_id=user.username,
    )


def player_get_or_create(*, user_id: str) -> tuple[User, bool]:
    try:
        return User.objects.get(username=user_id), False
    except User.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            user = User(username=user_id)
            user.set_unusable_password()
            user.save()
            return user, True
    except IntegrityError:  # created by a concurrent first login
        return User.objects.get(username=user_id), False


def player_login(*, user_id: str, password: str | None, click_id: str | None) -> TokenPair:
    """Sign a player or staff member in; the player is created on its first login.

    Order: lockout, then credentials (a bare login to an account with a password is a failed
    attempt), then the ban, so the ban is only revealed to someone who knows the password.
    """
    user, created = player_get_or_create(user_id=user_id)
    if created and click_id:
        from telemetry.services import player_attribute_from_click

        player_attribute_from_click(player=user, click_id=click_id)

    now = timezone.now()
    if user.locked_until and user.locked_until > now:
        raise _locked(user.locked_until - now)
    if user.has_usable_password() and not (password and user.check_password(password)):
        _login_failure_record(user_pk=user.pk)
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountBanned()
    if user.login_failures or user.login_failures_since or user.locked_until:
        User.objects.filter(pk=user.pk).update(
            login_failures=0, login_failures_since=None, locked_until=None
        )
    return token_pair_issue(user=user)


def _locked(remaining: timedelta) -> AccountLocked:
    seconds = max(1, math.ceil(remaining.total_seconds()))
    return AccountLocked(
        f"Too many failed password logins; try again in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
    )


def _login_failure_record(*, user_pk: int) -> None:
    """Count a failed password login; the Nth failure within the window locks the account."""
    window = timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_pk)
        now = timezone.now()
        if user.login_failures_since is None or now - user.login_failures_since > window:
            user.login_failures = 0
            user.login_failures_since = now
        user.login_failures += 1
        if user.login_failures >= settings.LOGIN_LOCKOUT_FAILURES:
            user.locked_until = now + window
            user.login_failures = 0
            user.login_failures_since = None
            logger.warning("account locked after failed logins", extra={"user_id": user.username})
        user.save(update_fields=["login_failures", "login_failures_since", "locked_until"])


def token_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate a refresh token. Presenting one that was already rotated revokes them all."""
    try:
        payload = token_backend.decode(refresh_token, verify=True)  # type: ignore[arg-type]
    except TokenBackendError:
        raise TokenInvalid("The refresh token is invalid or expired.") from None
    if payload.get("token_type") != "refresh" or "jti" not in payload or "sub" not in payload:
        raise TokenInvalid("This is not a refresh token.")

    reused = False
    with transaction.atomic():
        outstanding = (
            # order_by("pk"): the model's default ordering joins the nullable user, and
            # PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
            OutstandingToken.objects.select_for_update(of=("self",))
            .filter(jti=payload["jti"])
            .order_by("pk")
            .first()
        )
        if outstanding is None:
            raise TokenInvalid("The refresh token is unknown.")
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            reused = True
        else:
            user = User.objects.filter(username=payload["sub"]).first()
            if user is None or not user.is_active:
                raise TokenInvalid("The account is not active.")
            BlacklistedToken.objects.create(token=outstanding)
            pair = token_pair_issue(user=user)
    if reused:
        revoked = refresh_tokens_revoke(user_id=str(payload["sub"]))
        logger.warning(
            "refresh token reuse detected; refresh tokens revoked",
            extra={"user_id": payload["sub"], "revoked": revoked},
        )
        raise TokenInvalid("This refresh token was already used; all sessions were signed out.")
    return pair


def refresh_tokens_revoke(*, user_id: str) -> int:
    """Blacklist every outstanding refresh token of a user; returns how many were revoked."""
    with transaction.atomic():
        pending = OutstandingToken.objects.filter(user__username=user_id).exclude(
            blacklistedtoken__isnull=False
        )
        revoked = [BlacklistedToken(token=token) for token in pending]
        BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    return len(revoked)


def account_set_password(*, user: User, password: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(
            {
                "password": [
                    exceptions.ErrorDetail(msg, code="weak_password") for msg in exc.messages
                ]
            }
        ) from None
    user.set_password(password)
    user.save(update_fields=["password"])


def player_ban(*, player: User, reason: str) -> None:
    """Ban at once: live access tokens fail their next request (the user is inactive) and
    every refresh token is revoked."""
    if not reason.strip():
        raise exceptions.ValidationError({"reason": ["A ban needs a reason."]})
    with transaction.atomic():
        User.objects.filter(pk=player.pk).update(
            is_active=False, banned_at=timezone.now(), ban_reason=reason.strip()
        )
        refresh_tokens_revoke(user_id=player.username)
    player.refresh_from_db()


def player_unban(*, player: User, reason: str) -> None:
    if not reason.strip():
        raise exceptions.ValidationError({"reason": ["An unban needs a reason."]})
    User.objects.filter(pk=player.pk).update(is_active=True, banned_at=None, ban_reason="")
    player.refresh_from_db()


@dataclass(frozen=True)
class DemoAccounts:
    player_id: str
    staff_username: str


def demo_accounts_create(
    *, player_id: str, staff_username: str, staff_password: str
) -> DemoAccounts:
    """The demo's accounts: a player, and a superuser whose password is reset to the one given."""
    player, _ = player_get_or_create(user_id=player_id)
    staff, _ = User.objects.get_or_create(username=staff_username)
    staff.is_staff = True
    staff.is_superuser = True
    staff.set_password(staff_password)
    staff.save()
    return DemoAccounts(player_id=player.username, staff_username=staff.username)
