"""DRF throttles by scope; rates come from settings (THROTTLE_* environment variables).

DRF's own store is the cache: a list of request times per key, read and rewritten on every
request. With Django's database cache that is several statements and a commit per request, and
the cache culls entries once it holds 300 keys, so limits stop holding exactly when many players
are active. These throttles keep DRF's scopes, rates, `wait()` and 429 handling, and count in a
fixed window with one upsert statement on `ThrottleCounter`, shared by every worker and server.
A fixed window lets a client send up to twice the rate across a window boundary; that bound is
the price of one statement per request.
"""

import math
from typing import Any

from django.db import connection
from psycopg import sql
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from core.models import ThrottleCounter

_TABLE = ThrottleCounter._meta.db_table
_UPSERT = f"""
    INSERT INTO {_TABLE} (scope_key, window_start, hits) VALUES (%s, %s, 1)
    ON CONFLICT (scope_key) DO UPDATE SET
        hits = CASE WHEN {_TABLE}.window_start = excluded.window_start
                    THEN {_TABLE}.hits + 1 ELSE 1 END,
        window_start = excluded.window_start
    RETURNING hits
"""  # noqa: S608  (the table name is ours; values are parameters)


# On PostgreSQL, outside a transaction: the upsert in its own transaction that commits without
# waiting for the WAL flush (synchronous_commit off for this transaction only), sent as one
# string so it is still one round trip. A database crash may forget the last fraction of a
# second of counts, which lets a client exceed its limit by that much once; nothing else is
# committed this way. Values are quoted by psycopg (sql.Literal), never pasted.
_UPSERT_NO_FLUSH = sql.SQL(
    "BEGIN; SET LOCAL synchronous_commit TO off; " + _UPSERT.replace("%s", "{}", 2) + "; COMMIT"
)


def throttle_hit(*, key: str, window_start: int) -> int:
    """Count one request for `key` in the window starting at `window_start`; returns the count."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _throttle_hit_no_flush(key=key, window_start=window_start)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, window_start])
        row = cursor.fetchone()
    return int(row[0])


def _throttle_hit_no_flush(*, key: str, window_start: int) -> int:
    connection.ensure_connection()
    raw = connection.connection
    statement = _UPSERT_NO_FLUSH.format(sql.Literal(key), sql.Literal(window_start))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(raw))
        raw_cursor = cursor.cursor
        while raw_cursor.description is None and raw_cursor.nextset():
            pass  # past BEGIN and SET to the upsert's RETURNING
        row = raw_cursor.fetchone()
        while raw_cursor.nextset():
            pass  # and past COMMIT
    return int(row[0])


class WindowCounterThrottle(SimpleRateThrottle):
    num_requests: int  # set from the rate by SimpleRateThrottle.__init__
    duration: int
    retry_after: int

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window_start = int(now // self.duration) * self.duration
        hits = throttle_hit(key=self.key, window_start=window_start)
        self.retry_after = max(1, math.ceil(window_start + self.duration - now))
        return hits <= self.num_requests

    def wait(self) -> float | None:
        return self.retry_after


class LoginRateThrottle(WindowCounterThrottle, AnonRateThrottle):
    """`/login` and `/token/refresh`, per client IP."""

    scope = "login"


class TrackRateThrottle(WindowCounterThrottle, AnonRateThrottle):
    """`/track`, per client IP."""

    scope = "track"


class AdminLoginRateThrottle(WindowCounterThrottle, AnonRateThrottle):
    """Sign-in attempts on the admin login form, per client IP (also for a signed-in session)."""

    scope = "admin_login"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PlayerWriteRateThrottle(WindowCounterThrottle, UserRateThrottle):
    """Writes (earn, spend, events), per authenticated player."""

    scope = "writes"
