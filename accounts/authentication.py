"""Bearer JWT authentication: an Authorization header that is not a valid Bearer token is 401."""

from datetime import datetime
from typing import Any

from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken, Token

from accounts.models import User
from core.compiled import CompiledGet
from core.logging import user_id_var

# The token's user, by username (USER_ID_FIELD): read on every authenticated request.
TOKEN_USERS: CompiledGet[User] = CompiledGet(lambda: User.objects.all(), "username")


class CheckedAccessToken(AccessToken):
    """simplejwt's access token, whose `exp` check cannot fail with anything but TokenError.

    PyJWT accepts any `exp` that int() takes (the string "9999999999", 10**30); simplejwt then
    turns it into a datetime, which raises TypeError or OverflowError: such a token is invalid.
    """

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
        user = self.get_user(validated)
        user_id_var.set(user.get_username())
        return user, validated

    view: Any = None  # the DRF view being authenticated for (authenticators are per request)

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
        user = self.user_lookup().get(user_id)
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
