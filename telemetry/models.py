"""Telemetry data: raw game events, the daily aggregates `/stats` reads, clicks and attribution.

The aggregates are written by `telemetry.services` in the same transaction as the events they
count; nothing here computes anything (no signals, no `save()` logic).
"""

import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q

# `PlayerActiveDay.previous_active_day` of a player's first active day. Events are never older
# than 2000-01-01, so no real day can be this old.
NO_EARLIER_DAY = date(1970, 1, 1)

# Global daily counts are split into this many rows per (day, event type), chosen by player, so
# concurrent batches of different players rarely wait on the same counter row.
EVENT_COUNT_SHARDS = 16

EVENT_TYPE_MAX_LENGTH = 64
USER_AGENT_MAX_LENGTH = 512


class Event(models.Model):
    """One game event as the client sent it. Append-only."""

    id = models.BigAutoField(primary_key=True)
    player = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="events",
        # Covered by the (player, -timestamp, -id) index below.
        db_index=False,
    )
    event_type = models.CharField(max_length=EVENT_TYPE_MAX_LENGTH)
    meta = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField(help_text="Client time of the event, UTC.")
    received_at = models.DateTimeField(help_text="When the server stored it.")
    event_id = models.UUIDField(
        null=True, blank=True, help_text="Client-chosen id; unique per player."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["player", "event_id"],
                condition=Q(event_id__isnull=False),
                name="telemetry_event_player_event_id_uniq",
            ),
            models.CheckConstraint(
                condition=~Q(event_type=""), name="telemetry_event_event_type_not_empty"
            ),
        ]
        indexes = [
            # GET /events: a player's newest events by client time, ties by id.
            models.Index(
                fields=["player", "-timestamp", "-id"], name="telemetry_event_player_recent"
            ),
            # export_sessions (session_start events of one day) and the admin's type/day filters.
            models.Index(fields=["event_type", "timestamp"], name="telemetry_event_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk}"


class EventDayCount(models.Model):
    """Events per (UTC day of the client timestamp, event type), in `EVENT_COUNT_SHARDS` rows.

    The sum over shards is the count; `/stats` totals and byType read only this table.
    """

    day = models.DateField()
    event_type = models.CharField(max_length=EVENT_TYPE_MAX_LENGTH)
    shard = models.PositiveSmallIntegerField()
    event_count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "event_type", "shard"], name="telemetry_eventdaycount_uniq"
            ),
            models.CheckConstraint(
                condition=Q(event_count__gte=0), name="telemetry_eventdaycount_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.event_type}[{self.shard}] = {self.event_count}"


class PlayerEventDayCount(models.Model):
    """Events per (player, UTC day, event type): the `mine` part of `/stats`."""

    player = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique index starts with player
    )
    day = models.DateField()
    event_type = models.CharField(max_length=EVENT_TYPE_MAX_LENGTH)
    event_count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["player", "day", "event_type"], name="telemetry_playereventdaycount_uniq"
            ),
            models.CheckConstraint(
                condition=Q(event_count__gte=0),
                name="telemetry_playereventdaycount_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.player_id} {self.day} {self.event_type} = {self.event_count}"


class PlayerActiveDay(models.Model):
    """A UTC day on which a player has at least one event, with the player's previous such day.

    The per-player truth behind `ActiveDayPairCount`; `/stats` does not read it.
    """

    player = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique index starts with player
    )
    day = models.DateField()
    previous_active_day = models.DateField(
        help_text=f"The player's latest active day before `day`; {NO_EARLIER_DAY} if none."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["player", "day"], name="telemetry_playeractiveday_uniq"
            ),
            models.CheckConstraint(
                condition=Q(previous_active_day__lt=models.F("day")),
                name="telemetry_playeractiveday_previous_before_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.player_id} active {self.day} (previous {self.previous_active_day})"


class ActiveDayPairCount(models.Model):
    """How many players have an active day `day` whose previous active day is
    `previous_active_day` (NO_EARLIER_DAY: none), in `EVENT_COUNT_SHARDS` rows by player.

    Distinct players over [from, to] = the sum over day in [from, to] and previous < from:
    a player active in the range is counted once, at its first active day there. The table has
    at most (days x days / 2) x shards rows, however many players there are, so the sum stays
    small and needs no scan of per-player rows.
    """

    day = models.DateField()
    previous_active_day = models.DateField()
    shard = models.PositiveSmallIntegerField()
    players = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "previous_active_day", "shard"],
                name="telemetry_activedaypaircount_uniq",
            ),
            models.CheckConstraint(
                condition=Q(players__gte=0), name="telemetry_activedaypaircount_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} after {self.previous_active_day}[{self.shard}] = {self.players}"


class Click(models.Model):
    """A deeplink click recorded by `/track` (AppsFlyer OneLink-style parameters)."""

    id = models.BigAutoField(primary_key=True)
    click_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField()
    media_source = models.CharField("media source (pid)", max_length=256)
    campaign = models.CharField("campaign (c)", max_length=256, blank=True)
    adset = models.CharField("ad set (af_adset)", max_length=256, blank=True)
    ad = models.CharField("ad (af_ad)", max_length=256, blank=True)
    network_click_id = models.CharField("network click id (clickid)", max_length=256, blank=True)
    deep_link_value = models.CharField(max_length=2048, blank=True)
    sub1 = models.CharField("af_sub1", max_length=256, blank=True)
    sub2 = models.CharField("af_sub2", max_length=256, blank=True)
    sub3 = models.CharField("af_sub3", max_length=256, blank=True)
    sub4 = models.CharField("af_sub4", max_length=256, blank=True)
    sub5 = models.CharField("af_sub5", max_length=256, blank=True)
    redirect_url = models.CharField(max_length=2048, blank=True)
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True)
    ip_hash = models.CharField(
        max_length=64, help_text="HMAC-SHA-256 of the client IP keyed with TRACK_IP_SALT."
    )

    class Meta:
        indexes = [
            models.Index(fields=["media_source", "campaign"], name="telemetry_click_source"),
            models.Index(fields=["created_at"], name="telemetry_click_created"),
        ]

    def __str__(self) -> str:
        return f"click {self.click_id} ({self.media_source})"


class PlayerAttribution(models.Model):
    """The click a player installed from; set once at the first login and never overwritten."""

    player = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attribution"
    )
    click = models.ForeignKey(
        Click, on_delete=models.SET_NULL, null=True, blank=True, related_name="attributions"
    )
    media_source = models.CharField(max_length=256)
    campaign = models.CharField(max_length=256, blank=True)
    attributed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["media_source", "campaign"], name="telemetry_attribution_source"),
        ]

    def __str__(self) -> str:
        return f"{self.player_id} from {self.media_source}/{self.campaign}"
