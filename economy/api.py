"""One view per operation: parse → one service or selector call → render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.middleware import request_id_of
from core.throttles import PlayerWriteRateThrottle
from core.views import ApiView
from economy import selectors, services
from economy.idempotency import (
    KEY_HEADER,
    IdempotencyClaim,
    idempotency_key_from,
    idempotent_execute,
)
from economy.models import DEFAULT_CURRENCY_CODE, Currency, LedgerEntry
from economy.serializers import (
    BalanceQuerySerializer,
    BalanceResponseSerializer,
    EarnRequestSerializer,
    EconomyProblemSerializer,
    SpendRequestSerializer,
    TransactionsQuerySerializer,
    TransactionsResponseSerializer,
    WalletChangeResponseSerializer,
    ledger_entry_body,
    wallet_change_body,
)

if TYPE_CHECKING:
    from accounts.models import User

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    KEY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "1 to 128 characters, scoped to the player. A retry with the same key and body within "
        "24 h returns the first response (header `Idempotent-Replayed: true`) and writes nothing."
    ),
)
PROBLEM = OpenApiResponse(EconomyProblemSerializer, description="`validation_error`")


def request_player(request: Request) -> User:
    """The authenticated player (every economy view requires authentication)."""
    if not isinstance(request.user, get_user_model()):
        raise exceptions.NotAuthenticated()
    return request.user


@dataclass(frozen=True)
class WalletChangeRequest:
    """The parsed body of /earn or /spend, with its caller, key and request id."""

    player: User
    currency: Currency
    amount: int
    reason: str
    key: str | None
    request_id: str


def wallet_change_request(
    request: Request, serializer_class: type[EarnRequestSerializer]
) -> WalletChangeRequest:
    """Validate the body, then the `Idempotency-Key`; 400 before anything runs."""
    player = request_player(request)
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return WalletChangeRequest(
        player=player,
        currency=data["currency"],
        amount=data["amount"],
        reason=data["reason"],
        key=idempotency_key_from(request),
        request_id=request_id_of(request),
    )


def wallet_change_response(
    request: Request,
    change: WalletChangeRequest,
    operation: Callable[[IdempotencyClaim | None], LedgerEntry],
) -> HttpResponseBase:
    """Run the operation once, at most once per key when the request has one."""
    if change.key is None:
        return Response(wallet_change_body(operation(None)))
    return idempotent_execute(
        request=request,
        player=change.player,
        key=change.key,
        operation=operation,
        render_success=wallet_change_body,
    )


class EarnView(ApiView):
    throttle_classes = [PlayerWriteRateThrottle]

    @extend_schema(
        operation_id="earn",
        summary="Grant currency to the caller",
        request=EarnRequestSerializer,
        examples=[
            OpenApiExample(
                "Coins for a daily login",
                {"amount": 500, "reason": "daily_login", "currency": "coins"},
            ),
            OpenApiExample("Default currency", {"amount": 100, "reason": "level_up"}),
        ],
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            200: WalletChangeResponseSerializer,
            400: PROBLEM,
            403: OpenApiResponse(EconomyProblemSerializer, description="`earn_limit_exceeded`"),
            409: OpenApiResponse(EconomyProblemSerializer, description="`request_in_progress`"),
            422: OpenApiResponse(
                EconomyProblemSerializer, description="`balance_limit`, `idempotency_key_reused`"
            ),
        },
        tags=["economy"],
        description="Grant currency to the caller, within the earn rules and the maximum balance.",
    )
    def post(self, request: Request) -> HttpResponseBase:
        change = wallet_change_request(request, EarnRequestSerializer)

        def earn(claim: IdempotencyClaim | None) -> LedgerEntry:
            return services.wallet_earn(
                player=change.player,
                currency=change.currency,
                amount=change.amount,
                reason=change.reason,
                request_id=change.request_id,
                idempotency=claim,
            )

        return wallet_change_response(request, change, earn)


class SpendView(ApiView):
    throttle_classes = [PlayerWriteRateThrottle]

    @extend_schema(
        operation_id="spend",
        summary="Take currency from the caller",
        request=SpendRequestSerializer,
        examples=[
            OpenApiExample(
                "Coins for a shop item", {"amount": 50, "reason": "shop_item", "currency": "coins"}
            ),
        ],
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            200: WalletChangeResponseSerializer,
            400: PROBLEM,
            409: OpenApiResponse(
                EconomyProblemSerializer,
                description="`insufficient_funds` (with `balance`), `request_in_progress`",
            ),
            422: OpenApiResponse(EconomyProblemSerializer, description="`idempotency_key_reused`"),
        },
        tags=["economy"],
        description="Take currency from the caller; nothing is written when the balance is short.",
    )
    def post(self, request: Request) -> HttpResponseBase:
        change = wallet_change_request(request, SpendRequestSerializer)

        def spend(claim: IdempotencyClaim | None) -> LedgerEntry:
            return services.wallet_spend(
                player=change.player,
                currency=change.currency,
                amount=change.amount,
                reason=change.reason,
                request_id=change.request_id,
                idempotency=claim,
            )

        return wallet_change_response(request, change, spend)


class BalanceView(ApiView):
    """The caller's balance in one currency (default coins) and in every currency.

    Decision: `balances` lists every existing currency, 0 where the player has no wallet yet,
    so a client can render its whole wallet UI from one call; reading never creates wallets.
    """

    # The token's user with every balance, in one query: the ban check and the read share it
    # (accounts.authentication.BearerTokenAuthentication.user_lookup).
    token_user_lookup = selectors.PLAYERS_WITH_BALANCES

    @extend_schema(
        operation_id="balance",
        summary="The caller's balances",
        parameters=[BalanceQuerySerializer],
        responses={200: BalanceResponseSerializer, 400: PROBLEM},
        tags=["economy"],
    )
    def get(self, request: Request) -> Response:
        code = DEFAULT_CURRENCY_CODE
        if request.query_params:  # most calls send none: no serializer to build for them
            query = BalanceQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            code = query.validated_data.get("currency", DEFAULT_CURRENCY_CODE)
        player = request_player(request)
        fetched = getattr(player, "balances_json", None)
        balances = (
            selectors.balances_from_json(fetched)
            if fetched is not None
            else {
                currency.code: balance
                for currency, balance in selectors.currencies_with_balances(player=player)
            }
        )
        if code not in balances:
            raise serializers.ValidationError(
                {
                    "currency": [
                        serializers.ErrorDetail(f"Unknown currency {code!r}.", "unknown_currency")
                    ]
                }
            )
        return Response(
            {
                "userId": request_player(request).username,
                "currency": code,
                "balance": balances[code],
                "balances": balances,
            }
        )


class TransactionsView(ApiView):
    @extend_schema(
        operation_id="transactions",
        summary="The caller's ledger, newest first",
        parameters=[TransactionsQuerySerializer],
        responses={200: TransactionsResponseSerializer, 400: PROBLEM},
        tags=["economy"],
        description=(
            "The caller's ledger entries, newest first. Pass `nextCursor` back as `cursor` for "
            "the next page; it is null on the last page."
        ),
    )
    def get(self, request: Request) -> Response:
        query = TransactionsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        page = selectors.ledger_entries_page(
            player=request_player(request),
            currency=data.get("currency"),
            limit=data["limit"],
            cursor=data.get("cursor"),
        )
        return Response(
            {
                "entries": [ledger_entry_body(entry) for entry in page.entries],
                "nextCursor": page.next_cursor.encode() if page.next_cursor else None,
            }
        )
