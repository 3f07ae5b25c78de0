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
from dataclasses import dataclass
from typing import Any

from django.db import connection
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from core.db import prepared_cursor
from core.models import ThrottleCounter

_TABLE = ThrottleCounter._meta.db_table
_INSERT = f"INSERT INTO {_TABLE} AS counter (scope_key, window_start, hits)"
# The count of one key in one window: a new window starts again at 1.
_COUNT_ONE = """
    ON CONFLICT (scope_key) DO UPDATE SET
        hits = CASE WHEN counter.window_start = excluded.window_start
                    THEN counter.hits + 1 ELSE 1 END,
        window_start = excluded.window_start
    RETURNING hits
"""
_UPSERT = f"{_INSERT} VALUES (%s, %s, 1) {_COUNT_ONE}"
# On PostgreSQL, outside a transaction, the upsert is its own transaction, and it commits without
# waiting for the WAL flush: `set_config(..., true)` sets synchronous_commit off for that one
# transaction (measured in docs/benchmarks.md: each count then skips its fdatasync). A database
# crash may forget the last fraction of a second of counts, which lets a client exceed its limit
# by that much once; nothing else is committed this way. It is one statement, so PostgreSQL
# prepares it like the other hot statements (core.db.prepared_cursor).
_NO_FLUSH = "(SELECT set_config('synchronous_commit', 'off', true)) AS no_flush"
_UPSERT_NO_FLUSH = f"{_INSERT} SELECT %s, %s, 1 FROM {_NO_FLUSH} {_COUNT_ONE}"  # noqa: S608


def _no_flush() -> bool:
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def throttle_hit(*, key: str, window_start: int) -> int:
    """Count one request for `key` in the window starting at `window_start`; returns the count."""
    with prepared_cursor() as cursor:
        cursor.execute(_UPSERT_NO_FLUSH if _no_flush() else _UPSERT, [key, window_start])
        row = cursor.fetchone()
    return int(row[0])


@dataclass(frozen=True)
class UserHit:
    """One request of the token's user, to count with the read of that user
    (accounts.authentication): the throttle key without the user's pk, and the window."""

    prefix: str
    window_start: int

    def statement(self, *, pk_column: str) -> tuple[str, list[Any]]:
        """A data-modifying CTE, `counted`, that counts the request for the user row of a CTE
        named `found` (only an active user) and returns `hits`; and its parameters."""
        sources = f"found, {_NO_FLUSH}" if _no_flush() else "found"
        # The table and column are ours; values are parameters.
        sql = (
            f"counted AS ({_INSERT} SELECT %s || found.{pk_column}::text, %s, 1 "  # noqa: S608
            f"FROM {sources} WHERE found.is_active {_COUNT_ONE})"
        )
        return sql, [self.prefix, self.window_start]


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
        window_start = self.window_start(now)
        counted: dict[str, tuple[int, int]] = getattr(request, "throttle_counted", {})
        if counted.get(self.key, (None,))[0] == window_start:
            hits = counted[self.key][1]  # counted with the token user's read
        else:
            hits = throttle_hit(key=self.key, window_start=window_start)
        self.retry_after = max(1, math.ceil(window_start + self.duration - now))
        return hits <= self.num_requests

    def window_start(self, now: float) -> int:
        return int(now // self.duration) * self.duration

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
    """Writes (earn, spend, events), per authenticated player.

    The token's authentication counts the request in the statement that reads the player
    (`user_hit`), so a write costs no round trip of its own for the throttle; `allow_request`
    then finds the count on the request (`throttle_counted`). Its key is DRF's for a user,
    `throttle_writes_<pk>`.
    """

    scope = "writes"

    def user_hit(self) -> UserHit | None:
        """What to count with the read of the token's user; None when the scope has no rate."""
        if self.rate is None:
            return None
        prefix = self.cache_format % {"scope": self.scope, "ident": ""}
        return UserHit(prefix=prefix, window_start=self.window_start(self.timer()))
