"""Writes of the telemetry app: events with their aggregates, clicks, and attribution.

Every event write updates, in the same transaction as the event rows:

- `EventDayCount` (day, type, shard) += n: global totals and byType of `/stats`;
- `PlayerEventDayCount` (player, day, type) += n: the caller's `mine`;
- `PlayerActiveDay` (player, day, previous active day) and `ActiveDayPairCount` (day, previous
  active day, shard) += n: exact distinct players over any range.

Lock order, the same in every transaction, so concurrent batches cannot deadlock: the player's
own rows → the global `EventDayCount` rows in (day, event type) order → only when the write
added a new active day, the player's advisory lock (PostgreSQL; SQLite serializes writers at
BEGIN) → the player's committed active days → the global `ActiveDayPairCount` rows in (day,
previous day) order. The holder of the advisory lock waits for nothing a transaction waiting for
it holds (see `_player_events_lock`). Global rows are sharded by player, so batches of different
players seldom wait for each other; a wait lasts only until the other commits.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from core import metrics
from core.db import prepared_cursor
from telemetry.models import (
    EVENT_COUNT_SHARDS,
    NO_EARLIER_DAY,
    USER_AGENT_MAX_LENGTH,
    ActiveDayPairCount,
    Click,
    Event,
    EventDayCount,
    PlayerActiveDay,
    PlayerAttribution,
    PlayerEventDayCount,
)
from telemetry.validation import TRACK_PARAMETERS, EventInput

if TYPE_CHECKING:
    from accounts.models import User

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
    received_at = timezone.now()
    inserted = _events_store_on_known_days(
        player_pk=player.pk, events=[event], received_at=received_at
    )
    if inserted is None:
        with transaction.atomic(durable=True):
            if event.event_id is not None:
                stored = Event.objects.filter(player=player, event_id=event.event_id).first()
                if stored is not None:
                    return EventRecorded(event=stored, duplicate=True)
            received_at = timezone.now()
            inserted = _events_store(player_pk=player.pk, events=[event], received_at=received_at)
    if not inserted:
        # The eventId is stored: by an earlier request, or by a concurrent one that committed
        # between the read above and the insert, which waited for it (the unique index) and
        # skipped the row.
        stored = Event.objects.get(player=player, event_id=event.event_id)
        return EventRecorded(event=stored, duplicate=True)
    [event_pk] = inserted
    metrics.events_ingested_record(source="single", count=1)
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
    received_at = timezone.now()
    inserted = _events_store_on_known_days(
        player_pk=player.pk, events=fresh, received_at=received_at
    )
    if inserted is None:
        with transaction.atomic(durable=True):
            inserted = _events_store(player_pk=player.pk, events=fresh, received_at=received_at)
    metrics.events_ingested_record(source="batch", count=len(inserted))
    return EventsRecorded(accepted=len(inserted), duplicates=len(events) - len(inserted))


def _player_events_lock(*, player_pk: int) -> None:
    """Serialize the active-day bookkeeping of one player until the transaction ends
    (PostgreSQL): taken by a write that added a new active day, after its insert and before
    `_active_days_renumber`, whose statements then see every other new day of the player that
    is committed; a write whose days the player already had takes no lock.

    Deadlock-free: the holder only updates the player's committed active days (which no other
    transaction locks: a concurrent insert of the same day waits on the unique index and skips
    it) and `ActiveDayPairCount` rows, in key order. SQLite needs nothing: its writers serialize
    at BEGIN IMMEDIATE.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("the player events lock needs a transaction")
    if connection.vendor == "postgresql":
        with prepared_cursor() as cursor:
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
    _counts_add(
        model=PlayerEventDayCount,
        key_columns=("player_id", "day", "event_type"),
        rows=[((player_pk, day, event_type), n) for (day, event_type), n in counts.items()],
    )
    _counts_add(
        model=EventDayCount,
        key_columns=("day", "event_type", "shard"),
        rows=[
            ((day, event_type, player_pk % EVENT_COUNT_SHARDS), n)
            for (day, event_type), n in counts.items()
        ],
    )
    if new_days:
        _active_days_renumber(player_pk=player_pk, new_days=new_days)
    return ids


def _events_store_postgresql(
    *, player_pk: int, events: Sequence[EventInput], received_at: datetime
) -> list[int]:
    """Inside the caller's transaction: insert the events (skipping eventIds already stored,
    via the unique index) and add exactly the inserted rows to the three aggregates, in one
    statement, then do the active-day bookkeeping when the write added a new day."""
    ids, new_days, _unknown = _events_insert(
        _events_insert_statement(known_days_only=False),
        player_pk=player_pk,
        events=events,
        received_at=received_at,
    )
    if new_days:
        _player_events_lock(player_pk=player_pk)
        _active_days_renumber(player_pk=player_pk, new_days=new_days)
    return ids


def _events_store_on_known_days(
    *, player_pk: int, events: Sequence[EventInput], received_at: datetime
) -> list[int] | None:
    """The ingestion hot path (PostgreSQL): when every event falls on a day the player is
    already active on, which is every write but the first of a day, the events and their
    aggregates are one statement, atomic without a transaction of its own, so one round trip
    and no BEGIN or COMMIT. It returns the ids of the inserted rows (none: each eventId was
    stored already). None when it wrote nothing because a day is new to the player (or on
    another database): then the caller stores the events in a transaction (`_events_store`),
    which also does the active-day bookkeeping."""
    if connection.vendor != "postgresql":
        return None
    ids, _new_days, unknown = _events_insert(
        _events_insert_statement(known_days_only=True),
        player_pk=player_pk,
        events=events,
        received_at=received_at,
    )
    return None if unknown else ids


def _events_insert(
    statement: str, *, player_pk: int, events: Sequence[EventInput], received_at: datetime
) -> tuple[list[int], list[date], bool]:
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    with prepared_cursor() as cursor:
        cursor.execute(
            statement,
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
        ids, new_days, unknown = cursor.fetchone()
    return list(ids or []), list(new_days or []), bool(unknown)


@functools.cache
def _events_insert_statement(*, known_days_only: bool) -> str:
    """The events and their three aggregates as one statement. With `known_days_only` it
    writes nothing unless the player has an active-day row for every event's UTC day (its last
    column says whether a day was unknown), so it never adds an active day."""
    day = "(item.moment AT TIME ZONE 'UTC')::date"
    active_days = _table(PlayerActiveDay)
    unknown = (
        f"""
            unknown AS (
                SELECT 1 FROM items AS item WHERE NOT EXISTS (
                    SELECT 1 FROM {active_days} AS active
                    WHERE active.player_id = %(player)s AND active.day = {day})
                LIMIT 1
            ),"""  # noqa: S608 - the table name comes from the model
        if known_days_only
        else ""
    )
    return f"""
            WITH items AS (
                SELECT * FROM unnest(%(types)s::varchar[], %(metas)s::text[]::jsonb[],
                                     %(moments)s::timestamptz[], %(ids)s::uuid[])
                     WITH ORDINALITY AS item(event_type, meta, moment, event_id, position)
            ),{unknown} inserted AS (
                INSERT INTO {_table(Event)}
                    (player_id, event_type, meta, timestamp, received_at, event_id)
                SELECT %(player)s, item.event_type, item.meta, item.moment, %(received)s,
                       item.event_id
                FROM items AS item
                {"WHERE NOT EXISTS (SELECT 1 FROM unknown)" if known_days_only else ""}
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
                INSERT INTO {active_days} (player_id, day, previous_active_day)
                SELECT DISTINCT %(player)s, day, %(no_earlier_day)s::date FROM counts
                ORDER BY 2
                ON CONFLICT (player_id, day) DO NOTHING
                RETURNING day
            )
            SELECT (SELECT array_agg(id ORDER BY id) FROM inserted),
                   (SELECT array_agg(day) FROM new_days),
                   {"EXISTS (SELECT 1 FROM unknown)" if known_days_only else "false"}
            """  # noqa: S608 - table names come from the models


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _db_day(day: date) -> Any:
    return connection.ops.adapt_datefield_value(day)


def _counts_add(
    *,
    model: type[models.Model],
    key_columns: tuple[str, ...],
    rows: list[tuple[tuple[Any, ...], int]],
    value_column: str = "event_count",
) -> None:
    """`value += n` per key, inserting missing keys, in key order (see the lock order)."""
    rows = sorted(row for row in rows if row[1])
    if not rows:
        return
    quote = connection.ops.quote_name
    table = _table(model)
    value = quote(value_column)
    columns = ", ".join(quote(column) for column in (*key_columns, value_column))
    placeholders = ", ".join(["(" + ", ".join(["%s"] * (len(key_columns) + 1)) + ")"] * len(rows))
    params: list[Any] = []
    for key, n in rows:
        params.extend(_db_day(part) if isinstance(part, date) else part for part in key)
        params.append(n)
    target = ", ".join(quote(column) for column in key_columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {placeholders} "  # noqa: S608
            f"ON CONFLICT ({target}) DO UPDATE SET {value} = {table}.{value} + excluded.{value}",
            params,
        )


def _active_days_renumber(*, player_pk: int, new_days: Sequence[date]) -> None:
    """Set the true previous active day of the player's new days and of the days after them,
    and move the players of `ActiveDayPairCount` accordingly.

    New days were inserted with NO_EARLIER_DAY as a placeholder. Events mostly arrive in time
    order, so usually this reads two rows (the new day and the one before) and changes one.
    """
    table = _table(PlayerActiveDay)
    first_new = min(new_days)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, day, previous_active_day FROM {table} "  # noqa: S608
            f"WHERE player_id = %s AND day >= COALESCE("
            f"(SELECT MAX(day) FROM {table} WHERE player_id = %s AND day < %s), %s) "
            f"ORDER BY day",
            [player_pk, player_pk, _db_day(first_new), _db_day(first_new)],
        )
        rows = [(pk, _as_date(day), _as_date(stored)) for pk, day, stored in cursor.fetchall()]
    fresh = set(new_days)
    changed: list[PlayerActiveDay] = []
    pairs: Counter[tuple[date, date]] = Counter()
    previous = NO_EARLIER_DAY
    for pk, day, stored in rows:
        if day >= first_new:
            if day in fresh:
                pairs[(day, previous)] += 1
            elif stored != previous:
                pairs[(day, stored)] -= 1
                pairs[(day, previous)] += 1
            if stored != previous:
                changed.append(PlayerActiveDay(pk=pk, previous_active_day=previous))
        previous = day
    if changed:
        PlayerActiveDay.objects.bulk_update(changed, ["previous_active_day"])
    shard = player_pk % EVENT_COUNT_SHARDS
    deltas = sorted(((day, before, shard), n) for (day, before), n in pairs.items() if n)
    if all(n > 0 for _key, n in deltas):
        _counts_add(
            model=ActiveDayPairCount,
            key_columns=("day", "previous_active_day", "shard"),
            rows=deltas,
            value_column="players",
        )
        return
    # A day that arrived out of order moves the next day's player to another pair. An upsert
    # cannot subtract (the CHECK on its would-be inserted row fails first), so one statement
    # per pair, still in key order.
    for (day, before, _shard), n in deltas:
        if n > 0:
            _counts_add(
                model=ActiveDayPairCount,
                key_columns=("day", "previous_active_day", "shard"),
                rows=[((day, before, shard), n)],
                value_column="players",
            )
        else:
            ActiveDayPairCount.objects.filter(
                day=day, previous_active_day=before, shard=shard
            ).update(players=F("players") + n)


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
        parameter.field: parameters.get(name, "") for name, parameter in TRACK_PARAMETERS.items()
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
