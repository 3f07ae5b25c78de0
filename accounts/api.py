from typing import cast

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.models import User
from accounts.serializers import (
    LoginRequestSerializer,
    PasswordSetRequestSerializer,
    TokenPairResponseSerializer,
    TokenRefreshRequestSerializer,
)
from gamebackend.throttles import LoginRateThrottle, PlayerWriteRateThrottle
from gamebackend.views import ApiView


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
            401: OpenApiResponse(description="Wrong or missing password (`invalid_credentials`)."),
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
            "password need it. An optional `clickId` from /track attributes a new player."
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


class PasswordSetView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [PlayerWriteRateThrottle]

    @extend_schema(
        operation_id="account_password_set",
        summary="Set the caller's password",
        request=PasswordSetRequestSerializer,
        examples=[OpenApiExample("A password", {"password": "correct-horse-battery"})],
        responses={204: None},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordSetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.account_set_password(
            user=cast(User, request.user), password=serializer.validated_data["password"]
        )
        return Response(status=204)
