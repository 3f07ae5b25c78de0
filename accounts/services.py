"""Writes of the accounts app: login, token refresh with reuse detection, passwords, bans."""

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import (
    AccountBanned,
    AccountLocked,
    InvalidCredentials,
    StaffPasswordElsewhere,
    TokenInvalid,
)
from accounts.models import BanRecord, User
from core.problems import InvalidInput

logger = logging.getLogger(__name__)


# Sent by `player_login` when a first login created the player, before any credential check,
# with `player` and the login's `click_id` (None when it had none). Telemetry attributes the
# install to the click (telemetry.receivers); accounts needs nothing from telemetry. Receivers
# run in the request, and an error they raise fails the login.
player_created = Signal()


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


def is_staff_account(user: User) -> bool:
    """Staff and superusers: accounts that reach the admin or staff-only endpoints."""
    return bool(user.is_staff or user.is_superuser)


def player_login(*, user_id: str, password: str | None, click_id: str | None) -> TokenPair:
    """Sign a player or staff member in; the player is created on its first login.

    Order: lockout, then credentials (a bare login to an account with a password, or to any
    staff account, is a failed attempt), then the ban, so the ban is only revealed to someone
    who knows the password. A staff account never signs in without its password: one with no
    usable password cannot sign in here at all.
    """
    user, created = player_get_or_create(user_id=user_id)
    if created:
        player_created.send(sender=User, player=user, click_id=click_id)

    if (is_staff_account(user) or user.has_usable_password()) and not password_verify(
        user=user, password=password
    ):
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountBanned()
    return token_pair_issue(user=user)


def password_verify(*, user: User, password: str | None) -> bool:
    """Check `password` against the account under the per-account lockout; raise AccountLocked.

    The attempt is claimed (counted) in a short transaction on the locked user row BEFORE the
    password is hashed, so at most LOGIN_LOCKOUT_FAILURES passwords are checked per account per
    window however many requests race. A correct password resets the count; a wrong one keeps
    its claim, and once the window holds that many claims the account locks for
    LOGIN_LOCKOUT_SECONDS from this failure. Used by /login, /account/password and the admin
    login form (through accounts.backends.LockoutModelBackend).
    """
    window_start = _attempt_claim(user_pk=user.pk)
    correct = bool(password) and user.has_usable_password() and user.check_password(password)
    if correct:
        User.objects.filter(pk=user.pk).update(
            login_failures=0, login_failures_since=None, locked_until=None
        )
    else:
        _attempt_failed(user_pk=user.pk, window_start=window_start)
    return correct


def _locked(remaining: timedelta) -> AccountLocked:
    seconds = max(1, math.ceil(remaining.total_seconds()))
    return AccountLocked(
        f"Too many failed password logins; try again in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
    )


def _attempt_claim(*, user_pk: int) -> datetime:
    """Count one password attempt, or raise AccountLocked; returns the window's start.

    `login_failures` counts the attempts claimed in the window that starts at
    `login_failures_since` (a claim whose password turns out right is wiped by the reset).
    """
    window = timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    with transaction.atomic():
        claimed, since, locked_until = (
            User.objects.select_for_update()
            .values_list("login_failures", "login_failures_since", "locked_until")
            .get(pk=user_pk)
        )
        now = timezone.now()
        if locked_until is not None and locked_until > now:
            raise _locked(locked_until - now)
        if since is None or now - since >= window:
            claimed, since = 0, now
        if claimed >= settings.LOGIN_LOCKOUT_FAILURES:
            # The window's attempts are all taken (still being checked, or failed).
            raise _locked(since + window - now)
        User.objects.filter(pk=user_pk).update(
            login_failures=claimed + 1, login_failures_since=since
        )
    return since


def _attempt_failed(*, user_pk: int, window_start: datetime) -> None:
    """A claimed attempt failed: lock the account once its window holds the limit of claims.

    Each later failure of the same window moves the end of the lock to a minute after itself,
    so the lock ends a minute after the last failure. Nothing happens when a correct password
    reset the count meanwhile or a new window began.
    """
    window = timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    with transaction.atomic():
        claimed, since, locked_until, username = (
            User.objects.select_for_update()
            .values_list("login_failures", "login_failures_since", "locked_until", "username")
            .get(pk=user_pk)
        )
        if since != window_start or claimed < settings.LOGIN_LOCKOUT_FAILURES:
            return
        until = timezone.now() + window
        if locked_until is None or locked_until < until:
            User.objects.filter(pk=user_pk).update(locked_until=until)
        if locked_until is None or locked_until <= window_start:
            logger.warning("account locked after failed logins", extra={"user_id": username})


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


def account_set_password(*, user: User, password: str, current_password: str | None) -> None:
    """A player sets a first password, or changes theirs by sending the current one.

    Staff never set a password here (their password is also the admin's; they change it in
    the admin). A wrong current password is a failed attempt under the login lockout.
    """
    if is_staff_account(user):
        raise StaffPasswordElsewhere()
    has_password = user.has_usable_password()
    if has_password and current_password is None:
        raise InvalidInput(
            {"currentPassword": ["Send the current password to change it."]}, code="required"
        )
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise InvalidInput({"password": exc.messages}, code="weak_password") from None
    if has_password and not password_verify(user=user, password=current_password):
        raise InvalidCredentials("The current password is wrong.")
    user.set_password(password)
    user.save(update_fields=["password"])


def player_ban(*, player: User, reason: str, actor: User | None) -> BanRecord:
    """Ban at once: live access tokens fail their next request (the user is inactive) and
    every refresh token is revoked. `actor` is the staff member (None from no one, e.g. a
    command); the ban and its BanRecord commit together."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput({"reason": ["A ban needs a reason."]})
    with transaction.atomic(durable=True):
        now = timezone.now()
        User.objects.filter(pk=player.pk).update(is_active=False, banned_at=now, ban_reason=reason)
        refresh_tokens_revoke(user_id=player.username)
        record = BanRecord.objects.create(
            player=player, action=BanRecord.Action.BAN, reason=reason, actor=actor, created_at=now
        )
    player.refresh_from_db()
    return record


def player_unban(*, player: User, reason: str, actor: User | None) -> BanRecord:
    """Lift a ban; the reason is kept on the BanRecord written in the same transaction."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput({"reason": ["An unban needs a reason."]})
    with transaction.atomic(durable=True):
        User.objects.filter(pk=player.pk).update(is_active=True, banned_at=None, ban_reason="")
        record = BanRecord.objects.create(
            player=player,
            action=BanRecord.Action.UNBAN,
            reason=reason,
            actor=actor,
            created_at=timezone.now(),
        )
    player.refresh_from_db()
    return record


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
