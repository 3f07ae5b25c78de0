"""Bearer JWT authentication: an Authorization header that is not a valid Bearer token is 401."""

import functools
import time
from datetime import datetime
from typing import Any

from django.db import connection
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken, Token

from accounts.models import User
from core.compiled import CompiledGet
from core.logging import user_id_var
from core.throttles import PlayerWriteRateThrottle, UserHit

# The token's user, by username (USER_ID_FIELD): read on every authenticated request.
TOKEN_USERS: CompiledGet[User] = CompiledGet(lambda: User.objects.all(), "username")


# Access tokens whose signature and claims were verified, per process: a player's client sends
# the same token on every request until it is refreshed, and verifying it again (base64, JSON,
# HMAC and PyJWT's checks) is about 0.14 ms of every request (docs/benchmarks.md). Only tokens
# that passed verification are kept, so a forged token cannot fill it.
VERIFIED_TOKENS_KEPT = 4096


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_claims(backend: TokenBackend, token: bytes) -> dict[str, Any]:
    # Raises, and so keeps nothing, for a bad token. (simplejwt annotates the encoded token as
    # its Token class; it is the token's text.)
    return backend.decode(token, verify=True)  # type: ignore[arg-type]


class RememberingTokenBackend:
    """simplejwt's token backend, remembering the claims of the tokens it verified.

    Of PyJWT's checks only `exp` can turn from passing to failing as time goes on (`nbf`, `iat`,
    signature, issuer and audience cannot), so a remembered token is checked against `exp` on
    every use; an expired one, or one whose `exp` is not a plain integer, is decoded again by
    the backend itself, which answers exactly as it does for a token seen for the first time.
    """

    def __init__(self, backend: TokenBackend) -> None:
        self.backend = backend

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        if not verify or not isinstance(token, bytes):
            return self.backend.decode(token, verify=verify)
        claims = _verified_claims(self.backend, token)
        expires = claims.get("exp")
        leeway = self.backend.get_leeway().total_seconds()
        if type(expires) is not int or expires <= time.time() - leeway:
            return self.backend.decode(token, verify=True)  # type: ignore[arg-type]
        return dict(claims)  # a token's payload may be changed by its holder

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)


class CheckedAccessToken(AccessToken):
    """simplejwt's access token, whose `exp` check cannot fail with anything but TokenError.

    PyJWT accepts any `exp` that int() takes (the string "9999999999", 10**30); simplejwt then
    turns it into a datetime, which raises TypeError or OverflowError: such a token is invalid.
    """

    def get_token_backend(self) -> Any:
        return RememberingTokenBackend(self.token_backend)

    def check_exp(self, claim: str = "exp", current_time: datetime | None = None) -> None:
        try:
            super().check_exp(claim, current_time)
        except (TypeError, ValueError, OverflowError, OSError):
            raise TokenError(f"Token '{claim}' claim is not a valid time") from None


class BearerTokenAuthentication(JWTAuthentication):
    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        header = self.get_header(request)
        if header is None:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != b"Bearer":
            raise AuthenticationFailed(
                "The Authorization header must be 'Bearer <token>'.", code="token_invalid"
            )
        validated = self.get_validated_token(parts[1])
        self.view = (request.parser_context or {}).get("view")
        self.user_hit = self.view_user_hit()
        user = self.get_user(validated)
        user_id_var.set(user.get_username())
        if self.user_hit is not None:
            hits = getattr(user, "counted", None)
            if hits is not None:
                key = f"{self.user_hit.prefix}{user.pk}"
                request.throttle_counted = {key: (self.user_hit.window_start, int(hits))}  # type: ignore[attr-defined]
        return user, validated

    view: Any = None  # the DRF view being authenticated for (authenticators are per request)
    user_hit: UserHit | None = None

    def view_user_hit(self) -> UserHit | None:
        """The view's write throttle, counted in the statement that reads the token's user
        (core.throttles.PlayerWriteRateThrottle): one round trip for both. PostgreSQL only (the
        count is a data-modifying CTE); elsewhere the throttle counts on its own."""
        if connection.vendor != "postgresql":
            return None
        for throttle_class in getattr(self.view, "throttle_classes", ()):
            if issubclass(throttle_class, PlayerWriteRateThrottle):
                return throttle_class().user_hit()
        return None

    def user_lookup(self) -> CompiledGet[User]:
        """Where the token's user is read from: a view with a `token_user_lookup` may annotate
        what it needs, so the ban check and the view's read share one query."""
        custom = getattr(self.view, "token_user_lookup", None)
        return custom if custom is not None else TOKEN_USERS

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        # simplejwt's get_user (same errors), reading from user_lookup(). The row is read on
        # every request, so a ban (is_active false) refuses a live access token at once.
        try:
            user_id = validated_token["sub"]
        except KeyError:
            raise InvalidToken("Token contained no recognizable user identification") from None
        counted = None
        if self.user_hit is not None:
            counted = self.user_hit.statement(pk_column=str(User._meta.pk.column))
        user = self.user_lookup().get(user_id, counted=counted)
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            return CheckedAccessToken(raw_token)  # type: ignore[arg-type]
        except TokenError as exc:
            raise AuthenticationFailed(
                f"Invalid access token: {exc}", code="token_invalid"
            ) from None
