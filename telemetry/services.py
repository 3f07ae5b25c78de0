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
from django.db import connection, models, transaction
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
        [event_pk] = _events_store(player_pk=player.pk, events=[event], received_at=received_at)
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
    fresh: list[EventInput] = []
    repeated = 0
    seen: set[uuid.UUID] = set()
    for event in events:
        if event.event_id is not None:
            if event.event_id in seen:
                repeated += 1
                continue
            seen.add(event.event_id)
        fresh.append(event)
    if not fresh:
        return EventsRecorded(accepted=0, duplicates=repeated)
    with transaction.atomic(durable=True):
        _player_events_lock(player_pk=player.pk)
        inserted = _events_store(player_pk=player.pk, events=fresh, received_at=timezone.now())
    return EventsRecorded(accepted=len(inserted), duplicates=len(events) - len(inserted))


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


def _events_store(
    *, player_pk: int, events: Sequence[EventInput], received_at: datetime
) -> list[int]:
    """Insert the events whose eventId the player has not stored yet (no repeats among
    `events`), and add them to the aggregates; returns the ids of the inserted rows."""
    if connection.vendor == "postgresql":
        return _events_store_postgresql(player_pk=player_pk, events=events, received_at=received_at)
    return _events_store_portable(player_pk=player_pk, events=events, received_at=received_at)


def _events_store_portable(
    *, player_pk: int, events: Sequence[EventInput], received_at: datetime
) -> list[int]:
    sent_ids = [event.event_id for event in events if event.event_id is not None]
    if sent_ids:
        stored = set(
            Event.objects.filter(player_id=player_pk, event_id__in=sent_ids).values_list(
                "event_id", flat=True
            )
        )
        events = [event for event in events if event.event_id not in stored]
    if not events:
        return []
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
    ids = [row.pk for row in Event.objects.bulk_create(rows)]
    counts = Counter((event.timestamp.date(), event.event_type) for event in events)
    days = sorted({day for day, _ in counts})
    placeholders = ", ".join(["(%s, %s, %s)"] * len(days))
    params: list[Any] = []
    for day in days:
        params.extend([player_pk, _db_day(day), _db_day(NO_EARLIER_DAY)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table(PlayerActiveDay)} (player_id, day, previous_active_day) "  # noqa: S608
            f"VALUES {placeholders} ON CONFLICT (player_id, day) DO NOTHING RETURNING day",
            params,
        )
        new_days = [_as_date(row[0]) for row in cursor.fetchall()]
    if new_days:
        _active_days_renumber(player_pk=player_pk, first_new=min(new_days))
    _counts_add(
        table=PlayerEventDayCount._meta.db_table,
        key_columns=("player_id", "day", "event_type"),
        rows=[((player_pk, day, event_type), n) for (day, event_type), n in counts.items()],
    )
    _counts_add(
        table=EventDayCount._meta.db_table,
        key_columns=("day", "event_type", "shard"),
        rows=[
            ((day, event_type, player_pk % EVENT_COUNT_SHARDS), n)
            for (day, event_type), n in counts.items()
        ],
    )
    return ids


def _events_store_postgresql(
    *, player_pk: int, events: Sequence[EventInput], received_at: datetime
) -> list[int]:
    """The ingestion hot path: one statement inserts the events (skipping eventIds already
    stored, via the unique index) and adds exactly the inserted rows to the three aggregates.

    Round trips are what a busy machine makes expensive, so this is one, plus a renumbering of
    active days on the player's first event of a new day.
    """
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH inserted AS (
                INSERT INTO {_table(Event)}
                    (player_id, event_type, meta, timestamp, received_at, event_id)
                SELECT %(player)s, item.event_type, item.meta, item.moment, %(received)s,
                       item.event_id
                FROM unnest(%(types)s::varchar[], %(metas)s::text[]::jsonb[],
                            %(moments)s::timestamptz[], %(ids)s::uuid[])
                     WITH ORDINALITY AS item(event_type, meta, moment, event_id, position)
                ORDER BY item.position
                ON CONFLICT (player_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
                RETURNING id, event_type, (timestamp AT TIME ZONE 'UTC')::date AS day
            ), counts AS (
                SELECT day, event_type, count(*) AS n FROM inserted GROUP BY day, event_type
            ), player_counts AS (
                INSERT INTO {_table(PlayerEventDayCount)} AS counter
                    (player_id, day, event_type, event_count)
                SELECT %(player)s, day, event_type, n FROM counts ORDER BY day, event_type
                ON CONFLICT (player_id, day, event_type)
                DO UPDATE SET event_count = counter.event_count + excluded.event_count
            ), global_counts AS (
                INSERT INTO {_table(EventDayCount)} AS counter
                    (day, event_type, shard, event_count)
                SELECT day, event_type, %(shard)s, n FROM counts ORDER BY day, event_type
                ON CONFLICT (day, event_type, shard)
                DO UPDATE SET event_count = counter.event_count + excluded.event_count
            ), new_days AS (
                INSERT INTO {_table(PlayerActiveDay)} (player_id, day, previous_active_day)
                SELECT DISTINCT %(player)s, day, %(no_earlier_day)s::date FROM counts
                ORDER BY 2
                ON CONFLICT (player_id, day) DO NOTHING
                RETURNING day
            )
            SELECT (SELECT array_agg(id ORDER BY id) FROM inserted),
                   (SELECT min(day) FROM new_days)
            """,  # noqa: S608 - table names come from the models
            {
                "player": player_pk,
                "received": received_at,
                "types": [event.event_type for event in events],
                "metas": [dumps(event.meta) for event in events],
                "moments": [event.timestamp for event in events],
                "ids": [event.event_id for event in events],
                "shard": player_pk % EVENT_COUNT_SHARDS,
                "no_earlier_day": NO_EARLIER_DAY,
            },
        )
        ids, first_new_day = cursor.fetchone()
    if first_new_day is not None:
        _active_days_renumber(player_pk=player_pk, first_new=first_new_day)
    return list(ids or [])


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


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


def _active_days_renumber(*, player_pk: int, first_new: date) -> None:
    """Make every `previous_active_day` of the player exact again after new active days.

    New days are inserted with no previous day; this renumbers the player's rows from the first
    new day on with LAG over their days. Usually that is just the new row: events arrive in time
    order, so a new day is most often the player's latest.
    """
    table = _table(PlayerActiveDay)
    first = _db_day(first_new)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET previous_active_day = renumbered.previous "  # noqa: S608
            f"FROM (SELECT d.id, LAG(d.day, 1, %s) OVER (ORDER BY d.day) AS previous "
            f"FROM {table} AS d WHERE d.player_id = %s AND d.day >= COALESCE("
            f"(SELECT MAX(e.day) FROM {table} AS e WHERE e.player_id = %s AND e.day < %s), %s)"
            f") AS renumbered "
            f"WHERE {table}.id = renumbered.id AND {table}.day >= %s "
            f"AND {table}.previous_active_day <> renumbered.previous",
            [_db_day(NO_EARLIER_DAY), player_pk, player_pk, first, first, first],
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
