"""A hand-worked retention fixture: players joined on known UTC days with events on known days.

Activity counts up to LAST_DAY (2025-03-10). Cohorts from 2025-01-01:

- 2025-01-01: p1 organic (joined 23:59:59; events 01-02 00:00:00 = D1, 01-08 = D7, none D30);
  p2 fb/spring (joined 00:00:00; 01-02 23:59:59 = D1, 01-07 23:59:59 = day 6 not D7,
  01-31 00:00:00 = D30); p3 fb/spring (events on day 0 at 23:59:59 and day 2 only: nothing);
  p4 google/"" (D1 only: active on day 1, not 7).
  All: 4 players, D1 3, D7 1, D30 1.
- 2024-12-31: p0 joined 23:59:59, event 2025-01-01 00:00:00: outside a range from 2025-01-01.
- 2025-03-05: p5, event 03-06 = D1; D7 (03-12) and D30 too young.
- 2025-03-09: p6, event 03-10 = D1 (the last day counted).
- 2025-03-10: p7, event 03-11: D1 is after the last day, so too young.
- A staff member joined 2025-01-01 with events: not a player, not counted.
"""

from datetime import UTC, date, datetime

from accounts.tests.factories import PlayerFactory, StaffFactory
from telemetry.models import PlayerAttribution
from telemetry.services import events_record_batch
from telemetry.validation import EventInput

LAST_DAY = date(2025, 3, 10)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _player(username: str, joined: str, events: list[str], source: tuple[str, str] | None = None):
    player = PlayerFactory(username=username, date_joined=at(joined))
    if source is not None:
        PlayerAttribution.objects.create(
            player=player, media_source=source[0], campaign=source[1], attributed_at=at(joined)
        )
    events_record_batch(
        player=player,
        events=[
            EventInput(event_type="session_start", meta={}, timestamp=at(moment), event_id=None)
            for moment in events
        ],
    )
    return player


def retention_players() -> None:
    _player("p0", "2024-12-31 23:59:59", ["2025-01-01 00:00:00"])
    _player("p1", "2025-01-01 23:59:59", ["2025-01-02 00:00:00", "2025-01-08 12:00:00"])
    _player(
        "p2",
        "2025-01-01 00:00:00",
        ["2025-01-02 23:59:59", "2025-01-07 23:59:59", "2025-01-31 00:00:00"],
        ("fb", "spring"),
    )
    _player(
        "p3",
        "2025-01-01 10:00:00",
        ["2025-01-01 23:59:59", "2025-01-03 00:00:00"],
        ("fb", "spring"),
    )
    _player("p4", "2025-01-01 12:00:00", ["2025-01-02 08:00:00"], ("google", ""))
    _player("p5", "2025-03-05 00:00:00", ["2025-03-06 00:00:00"])
    _player("p6", "2025-03-09 00:00:00", ["2025-03-10 23:59:59"])
    _player("p7", "2025-03-10 00:00:00", ["2025-03-11 00:00:00"])
    staff = StaffFactory(username="ops", date_joined=at("2025-01-01 08:00:00"))
    events_record_batch(
        player=staff,
        events=[
            EventInput(
                event_type="session_start",
                meta={},
                timestamp=at("2025-01-02 08:00:00"),
                event_id=None,
            )
        ],
    )
