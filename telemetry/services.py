"""Writes of the telemetry app: events with their aggregates, clicks, and attribution.

Every event write updates, in the same transaction as the event rows:

- `EventDayCount` (day, type, shard) += n: global totals and byType of `/stats`;
- `PlayerEventDayCount` (player, day, type) += n: the caller's `mine`;
- `PlayerActiveDay` (player, day, previous active day): exact distinct players over any range.

Lock order, the same in every transaction, so concurrent batches cannot deadlock: the player's
advisory lock (PostgreSQL; SQLite serializes writers at BEGIN) → the player's own rows → the
global counter rows in (day, event type) order. Global rows are sharded by player, so batches of
different players seldom wait for each other; a wait lasts only until the other commits.
"""

import hashlib
import hmac
import json
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from telemetry.models import (
    EVENT_COUNT_SHARDS,
    NO_EARLIER_DAY,
    USER_AGENT_MAX_LENGTH,
    Click,
    Event,
    EventDayCount,
    PlayerActiveDay,
    PlayerAttribution,
    PlayerEventDayCount,
)
from telemetry.serializers import TRACK_PARAMETERS, EventInput

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(class, object) namespace of "a player's event ingestion".
_PLAYER_EVENTS_LOCK_CLASS = 0x7E1E


@dataclass(frozen=True)
class EventRecorded:
    event: Event
    duplicate: bool


@dataclass(frozen=True)
class EventsRecorded:
    accepted: int
    duplicates: int


def event_record(*, player: User, event: EventInput) -> EventRecorded:
    """Store one event; with an eventId already stored for the player, return that event."""
    with transaction.atomic(durable=True):
        _player_events_lock(player_pk=player.pk)
        if event.event_id is not None:
            stored = Event.objects.filter(player=player, event_id=event.event_id).first()
            if stored is not None:
                return EventRecorded(event=stored, duplicate=True)
        received_at = timezone.now()
        [event_pk] = _events_insert(player=player, events=[event], received_at=received_at)
    stored = Event(
        pk=event_pk,
        player=player,
        event_type=event.event_type,
        meta=event.meta,
        timestamp=event.timestamp,
        received_at=received_at,
        event_id=event.event_id,
    )
    return EventRecorded(event=stored, duplicate=False)


def events_record_batch(*, player: User, events: Sequence[EventInput]) -> EventsRecorded:
    """Store valid events of a batch. An eventId already stored for the player, or repeated in
    the batch, is a duplicate and is not stored again, so a retried batch stores nothing twice.
    """
    if not events:
        return EventsRecorded(accepted=0, duplicates=0)
    with transaction.atomic(durable=True):
        _player_events_lock(player_pk=player.pk)
        sent_ids = {event.event_id for event in events if event.event_id is not None}
        seen: set[uuid.UUID] = set()
        if sent_ids:
            stored_ids = Event.objects.filter(player=player, event_id__in=sent_ids).values_list(
                "event_id", flat=True
            )
            seen.update(event_id for event_id in stored_ids if event_id is not None)
        fresh: list[EventInput] = []
        duplicates = 0
        for event in events:
            if event.event_id is not None:
                if event.event_id in seen:
                    duplicates += 1
                    continue
                seen.add(event.event_id)
            fresh.append(event)
        if fresh:
            _events_insert(player=player, events=fresh, received_at=timezone.now())
    return EventsRecorded(accepted=len(fresh), duplicates=duplicates)


def _player_events_lock(*, player_pk: int) -> None:
    """Serialize event writes of one player until the transaction ends (PostgreSQL).

    Needed for the exactness of `PlayerActiveDay.previous_active_day`, which depends on the
    player's other active days. SQLite needs nothing: its writers serialize at BEGIN IMMEDIATE.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("the player events lock needs a transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [_PLAYER_EVENTS_LOCK_CLASS, player_pk % 2_147_483_647],
            )


def _events_insert(
    *, player: User, events: Sequence[EventInput], received_at: datetime
) -> list[int]:
    """Insert the events and add them to the aggregates; returns the new ids in order."""
    ids = _event_rows_insert(player_pk=player.pk, events=events, received_at=received_at)
    counts = Counter((event.timestamp.date(), event.event_type) for event in events)
    _active_days_add(player_pk=player.pk, days={day for day, _ in counts})
    _counts_add(
        table=PlayerEventDayCount._meta.db_table,
        key_columns=("player_id", "day", "event_type"),
        rows=[((player.pk, day, event_type), n) for (day, event_type), n in counts.items()],
    )
    shard = player.pk % EVENT_COUNT_SHARDS
    _counts_add(
        table=EventDayCount._meta.db_table,
        key_columns=("day", "event_type", "shard"),
        rows=[((day, event_type, shard), n) for (day, event_type), n in counts.items()],
    )
    return ids


def _event_rows_insert(
    *, player_pk: int, events: Sequence[EventInput], received_at: datetime
) -> list[int]:
    if connection.vendor != "postgresql":
        rows = [
            Event(
                player_id=player_pk,
                event_type=event.event_type,
                meta=event.meta,
                timestamp=event.timestamp,
                received_at=received_at,
                event_id=event.event_id,
            )
            for event in events
        ]
        return [row.pk for row in Event.objects.bulk_create(rows)]
    # The ingestion hot path on PostgreSQL: one INSERT ... SELECT FROM unnest(arrays), without
    # building a model instance per row (a third of a batch's Python time otherwise).
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(Event._meta.db_table)} "  # noqa: S608
            "(player_id, event_type, meta, timestamp, received_at, event_id) "
            "SELECT %s, item.event_type, item.meta, item.moment, %s, item.event_id "
            "FROM unnest(%s::varchar[], %s::text[]::jsonb[], %s::timestamptz[], %s::uuid[]) "
            "AS item(event_type, meta, moment, event_id) RETURNING id",
            [
                player_pk,
                received_at,
                [event.event_type for event in events],
                [dumps(event.meta) for event in events],
                [event.timestamp for event in events],
                [event.event_id for event in events],
            ],
        )
        return [row[0] for row in cursor.fetchall()]


def _db_day(day: date) -> Any:
    return connection.ops.adapt_datefield_value(day)


def _counts_add(
    *,
    table: str,
    key_columns: tuple[str, ...],
    rows: list[tuple[tuple[Any, ...], int]],
) -> None:
    """`event_count += n` per key, inserting missing keys, in key order (see the lock order)."""
    if not rows:
        return
    rows = sorted(rows)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in (*key_columns, "event_count"))
    placeholders = ", ".join(["(" + ", ".join(["%s"] * (len(key_columns) + 1)) + ")"] * len(rows))
    params: list[Any] = []
    for key, n in rows:
        params.extend(_db_day(part) if isinstance(part, date) else part for part in key)
        params.append(n)
    target = ", ".join(quote(column) for column in key_columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(table)} ({columns}) VALUES {placeholders} "  # noqa: S608
            f"ON CONFLICT ({target}) DO UPDATE SET "
            f"event_count = {quote(table)}.event_count + excluded.event_count",
            params,
        )


def _active_days_add(*, player_pk: int, days: set[date]) -> None:
    """Record the player's active days and keep every `previous_active_day` exact.

    New days are inserted with no previous day, then the player's rows from the first new day
    on are renumbered with LAG over their days (usually just the new row: events arrive in time
    order, so a new day is most often the player's latest).
    """
    table = connection.ops.quote_name(PlayerActiveDay._meta.db_table)
    ordered = sorted(days)
    placeholders = ", ".join(["(%s, %s, %s)"] * len(ordered))
    params: list[Any] = []
    for day in ordered:
        params.extend([player_pk, _db_day(day), _db_day(NO_EARLIER_DAY)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (player_id, day, previous_active_day) "  # noqa: S608
            f"VALUES {placeholders} ON CONFLICT (player_id, day) DO NOTHING RETURNING day",
            params,
        )
        inserted = [_as_date(row[0]) for row in cursor.fetchall()]
        if not inserted:
            return
        first_new = _db_day(min(inserted))
        cursor.execute(
            f"UPDATE {table} SET previous_active_day = renumbered.previous "  # noqa: S608
            f"FROM (SELECT d.id, LAG(d.day, 1, %s) OVER (ORDER BY d.day) AS previous "
            f"FROM {table} AS d WHERE d.player_id = %s AND d.day >= COALESCE("
            f"(SELECT MAX(e.day) FROM {table} AS e WHERE e.player_id = %s AND e.day < %s), %s)"
            f") AS renumbered "
            f"WHERE {table}.id = renumbered.id AND {table}.day >= %s "
            f"AND {table}.previous_active_day <> renumbered.previous",
            [
                _db_day(NO_EARLIER_DAY),
                player_pk,
                player_pk,
                first_new,
                first_new,
                first_new,
            ],
        )


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# --- Clicks and attribution ------------------------------------------------------------------


def client_ip_hash(*, ip: str) -> str:
    """A salted hash of the client IP (HMAC-SHA-256 keyed with TRACK_IP_SALT); never the IP."""
    return hmac.new(settings.TRACK_IP_SALT.encode(), ip.encode(), hashlib.sha256).hexdigest()


def click_record(
    *, parameters: dict[str, str], redirect_url: str | None, user_agent: str, ip: str
) -> Click:
    """Store a `/track` click; `parameters` are the validated query parameters by their names."""
    fields = {
        field: parameters.get(name, "") for name, (field, _max_length) in TRACK_PARAMETERS.items()
    }
    return Click.objects.create(
        created_at=timezone.now(),
        redirect_url=redirect_url or "",
        user_agent=_clean_header_text(user_agent)[:USER_AGENT_MAX_LENGTH],
        ip_hash=client_ip_hash(ip=ip),
        **fields,
    )


def _clean_header_text(text: str) -> str:
    return "".join(ch for ch in text if ch != "\x00" and not 0xD800 <= ord(ch) <= 0xDFFF)


def player_attribute_from_click(*, player: User, click_id: str) -> PlayerAttribution | None:
    """Attribute a new player to the click's media source and campaign, once.

    An unknown or malformed clickId means no attribution (organic). An existing attribution is
    never overwritten.
    """
    try:
        click_uuid = uuid.UUID(click_id)
    except ValueError:
        return None
    click = Click.objects.filter(click_id=click_uuid).first()
    if click is None:
        logger.info("login with an unknown clickId", extra={"user_id": player.username})
        return None
    # get_or_create re-reads after losing a race on the one-to-one key: the first one stays.
    attribution, _created = PlayerAttribution.objects.get_or_create(
        player=player,
        defaults={
            "click": click,
            "media_source": click.media_source,
            "campaign": click.campaign,
            "attributed_at": timezone.now(),
        },
    )
    return attribution
