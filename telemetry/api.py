"""Telemetry endpoints: one view per operation (parse → one service or selector call → render)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import iso_utc
from core.throttles import PlayerWriteRateThrottle, TrackRateThrottle
from core.views import ApiView
from telemetry import selectors, services
from telemetry.models import Event
from telemetry.selectors import EventCounts
from telemetry.serializers import (
    EventBatchRequestSerializer,
    EventBatchResponseSerializer,
    EventListQuerySerializer,
    EventListResponseSerializer,
    EventRequestSerializer,
    EventResponseSerializer,
    StatsQuerySerializer,
    StatsResponseSerializer,
    TrackQuerySerializer,
    TrackResponseSerializer,
)
from telemetry.validation import event_batch_items_parse, event_input_parse

if TYPE_CHECKING:
    from accounts.models import User


def _player(request: Request) -> User:
    user = request.user
    assert isinstance(user, get_user_model()), "IsAuthenticated lets only players through"
    return user


def _event_body(event: Event, *, duplicate: bool) -> dict[str, Any]:
    return {
        "id": event.pk,
        "eventId": str(event.event_id) if event.event_id else None,
        "eventType": event.event_type,
        "timestampUtc": iso_utc(event.timestamp),
        "receivedAt": iso_utc(event.received_at),
        "duplicate": duplicate,
    }


def _counts_body(counts: EventCounts) -> dict[str, Any]:
    return {
        "totalEvents": counts.total,
        "byType": [{"eventType": row.event_type, "count": row.count} for row in counts.by_type],
    }


class EventCreateView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [PlayerWriteRateThrottle]

    @extend_schema(
        operation_id="event_create",
        summary="Record one game event",
        request=EventRequestSerializer,
        examples=[
            OpenApiExample(
                "A level completed",
                {
                    "eventType": "level_complete",
                    "meta": {"level": 42, "score": 9999},
                    "timestampUtc": "2025-10-25T10:30:00Z",
                },
            ),
        ],
        responses={
            201: EventResponseSerializer,
            200: OpenApiResponse(
                EventResponseSerializer,
                description="The eventId was already stored: the stored event, duplicate true.",
            ),
        },
        tags=["telemetry"],
    )
    def post(self, request: Request) -> Response:
        now = datetime.now(UTC)
        try:
            # What the serializer validates a valid body to (its to_internal_value), without
            # building its fields, which only document the rules: about 0.2 ms a request.
            event = event_input_parse(request.data, now=now)
        except serializers.ValidationError:
            # The serializer answers an invalid body, exactly as it always has.
            serializer = EventRequestSerializer(data=request.data, context={"now": now})
            serializer.is_valid(raise_exception=True)
            event = serializer.validated_data["event"]
        recorded = services.event_record(player=_player(request), event=event)
        return Response(
            _event_body(recorded.event, duplicate=recorded.duplicate),
            status=200 if recorded.duplicate else 201,
        )


class EventBatchCreateView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [PlayerWriteRateThrottle]

    @extend_schema(
        operation_id="events_batch_create",
        summary="Record up to 500 game events at once",
        request=EventBatchRequestSerializer,
        examples=[
            OpenApiExample(
                "Two events",
                {
                    "events": [
                        {"eventType": "session_start", "timestampUtc": "2025-10-25T10:00:00Z"},
                        {
                            "eventType": "level_complete",
                            "meta": {"level": 1},
                            "timestampUtc": "2025-10-25T10:05:00Z",
                        },
                    ]
                },
            ),
        ],
        responses={200: EventBatchResponseSerializer},
        tags=["telemetry"],
        description=(
            "Up to 500 events in one transaction. Valid events are stored even when others are "
            "rejected; an eventId already stored for the player, or repeated in the batch, counts "
            "as a duplicate and is not stored again."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = EventBatchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parsed = event_batch_items_parse(serializer.validated_data["events"], now=datetime.now(UTC))
        recorded = services.events_record_batch(player=_player(request), events=parsed.valid)
        return Response(
            {
                "accepted": recorded.accepted,
                "duplicates": recorded.duplicates,
                "rejected": parsed.rejected,
            }
        )


class EventListView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="events_list",
        summary="The caller's latest events",
        parameters=[EventListQuerySerializer],
        responses={200: EventListResponseSerializer},
        tags=["telemetry"],
        description="The caller's most recent events: newest first by client time, then by id.",
    )
    def get(self, request: Request) -> Response:
        serializer = EventListQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        events = selectors.events_recent(
            player=_player(request), limit=serializer.validated_data.get("limit", 100)
        )
        return Response(
            {
                "events": [
                    {
                        "id": event.pk,
                        "eventId": str(event.event_id) if event.event_id else None,
                        "eventType": event.event_type,
                        "meta": event.meta if isinstance(event.meta, dict) else {},
                        "timestampUtc": iso_utc(event.timestamp),
                        "receivedAt": iso_utc(event.received_at),
                    }
                    for event in events
                ]
            }
        )


class StatsView(ApiView):
    # Optional auth: no header is anonymous; any Authorization header must be a valid token.
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="stats",
        summary="Event counts and unique players",
        parameters=[StatsQuerySerializer],
        responses={200: StatsResponseSerializer},
        tags=["telemetry"],
        auth=[{"jwtAuth": []}, {}],  # type: ignore[list-item]
        description=(
            "Event counts over inclusive UTC days of the client timestamp (default all time), "
            "read from daily aggregates. byType is sorted by count, highest first, then by "
            "eventType. `mine` (the caller's counts over the same days) only with a token."
        ),
    )
    def get(self, request: Request) -> Response:
        serializer = StatsQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        day_from = serializer.validated_data["day_from"]
        day_to = serializer.validated_data["day_to"]
        stats = selectors.event_stats(day_from=day_from, day_to=day_to)
        counts = _counts_body(stats.counts)
        body = {
            "totalEvents": counts["totalEvents"],
            "uniquePlayers": stats.unique_players,
            "byType": counts["byType"],
        }
        if isinstance(request.user, get_user_model()):
            body["mine"] = _counts_body(
                selectors.player_event_stats(
                    player=_player(request), day_from=day_from, day_to=day_to
                )
            )
        return Response(body)


class TrackView(ApiView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [TrackRateThrottle]

    @extend_schema(
        operation_id="track",
        summary="Record a deeplink click",
        parameters=[TrackQuerySerializer],
        responses={
            200: TrackResponseSerializer,
            302: OpenApiResponse(
                description="Redirect to `redirect`, exactly as given (allowed hosts only).",
            ),
            414: OpenApiResponse(
                description=(
                    "Request line longer than 8190 bytes (gunicorn's `limit_request_line`), "
                    "refused by the HTTP server before the application with an HTML body. "
                    "Percent-encoded non-ASCII text takes up to 12 bytes a character, so "
                    "parameters within their maximum lengths can still exceed it together."
                ),
            ),
        },
        tags=["telemetry"],
        auth=[],
        description=(
            "Record a deeplink click (AppsFlyer OneLink-style parameters). A refused request "
            "records nothing."
        ),
    )
    def get(self, request: Request) -> Response | HttpResponseRedirect:
        serializer = TrackQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        redirect_url = data.pop("redirect", None)
        click = services.click_record(
            parameters=data,
            redirect_url=redirect_url,
            user_agent=request.headers.get("User-Agent", ""),
            ip=TrackRateThrottle().get_ident(request),
        )
        if redirect_url is not None:
            # Location is the allowed URL exactly as the client gave it.
            return HttpResponseRedirect(redirect_url)
        return Response({"clickId": str(click.click_id)})
