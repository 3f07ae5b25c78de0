from typing import cast

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import User
from accounts.serializers import (
    LoginRequestSerializer,
    PasswordSetRequestSerializer,
    TokenPairResponseSerializer,
    TokenRefreshRequestSerializer,
)
from core.throttles import LoginRateThrottle, PlayerWriteRateThrottle
from core.views import ApiView


def _token_pair_body(pair: services.TokenPair) -> dict[str, object]:
    return {
        "token": pair.access,
        "refreshToken": pair.refresh,
        "tokenType": "Bearer",
        "expiresIn": pair.expires_in,
        "userId": pair.user_id,
    }


class LoginView(ApiView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        operation_id="login",
        summary="Sign in; the player is created on first login",
        request=LoginRequestSerializer,
        examples=[
            OpenApiExample("New or password-less player", {"userId": "player_001"}),
            OpenApiExample(
                "Player with a password",
                {"userId": "player_001", "password": "correct-horse-battery"},
            ),
        ],
        responses={
            200: TokenPairResponseSerializer,
            401: OpenApiResponse(
                description="Wrong or missing password (`invalid_credentials`); a staff account "
                "always needs its password."
            ),
            403: OpenApiResponse(description="Banned account (`account_banned`)."),
            429: OpenApiResponse(
                description="Throttled (`throttled`), or too many failed password logins for "
                "this account (`account_locked`); see `Retry-After`."
            ),
        },
        tags=["auth"],
        auth=[],
        description=(
            "Sign in with a userId; the player is created on first login. Accounts that set a "
            "password, and every staff account, need it. An optional `clickId` from /track "
            "attributes a new player."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = LoginRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        pair = services.player_login(
            user_id=data["userId"], password=data.get("password"), click_id=data.get("clickId")
        )
        return Response(_token_pair_body(pair))


class TokenRefreshView(ApiView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        operation_id="token_refresh",
        summary="Exchange a refresh token for new tokens",
        request=TokenRefreshRequestSerializer,
        responses={
            200: TokenPairResponseSerializer,
            401: OpenApiResponse(
                description="Invalid, expired, revoked or reused refresh token (`token_invalid`)."
            ),
        },
        tags=["auth"],
        auth=[],
        description="Rotate a refresh token. A rotated token used again revokes all sessions.",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.token_refresh(refresh_token=serializer.validated_data["refreshToken"])
        return Response(_token_pair_body(pair))


class IsPlayerAccount(BasePermission):
    """Not a staff account: staff passwords are also admin passwords, set only in the admin."""

    message = "Staff accounts change their password in the admin, not through the API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return not services.is_staff_account(cast(User, request.user))


class PasswordSetView(ApiView):
    permission_classes = [IsAuthenticated, IsPlayerAccount]
    throttle_classes = [PlayerWriteRateThrottle]

    @extend_schema(
        operation_id="account_password_set",
        summary="Set the caller's password",
        request=PasswordSetRequestSerializer,
        examples=[
            OpenApiExample("The first password", {"password": "correct-horse-battery"}),
            OpenApiExample(
                "A new password",
                {"password": "staple-battery-horse", "currentPassword": "correct-horse-battery"},
            ),
        ],
        responses={
            204: None,
            400: OpenApiResponse(
                description="Weak password, or `currentPassword` missing although the account "
                "has a password (`validation_error`)."
            ),
            401: OpenApiResponse(
                description="Missing or invalid token (`not_authenticated`, `token_invalid`), or "
                "a wrong `currentPassword` (`invalid_credentials`, counted by the lockout)."
            ),
            403: OpenApiResponse(
                description="Staff account: staff change their password in the admin "
                "(`permission_denied`)."
            ),
            429: OpenApiResponse(
                description="Throttled (`throttled`), or too many wrong passwords for this "
                "account (`account_locked`); see `Retry-After`."
            ),
        },
        tags=["auth"],
        description=(
            "Set the player's password. The first password needs only the token; changing an "
            "existing one also needs `currentPassword`. Staff accounts are refused."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordSetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.account_set_password(
            user=cast(User, request.user),
            password=data["password"],
            current_password=data.get("currentPassword"),
        )
        return Response(status=204)
