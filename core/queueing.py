"""How long the current request waited in gunicorn's queue before a thread picked it up.

`gamebackend.workers.QueueTimedThreadWorker` stamps each connection when it is queued for the
thread pool (on accept, or when a kept-alive connection sends its next request) and records the
stamp for the thread that handles it; `LoadSheddingMiddleware` reads it. Under another server
(runserver, tests) nothing is recorded and nothing is shed.
"""

import threading
import time

_current = threading.local()


def queue_entered_set(entered_at: float | None) -> None:
    """Record the `time.monotonic()` at which this thread's request entered the queue."""
    _current.entered_at = entered_at


def queue_wait_seconds() -> float | None:
    entered_at: float | None = getattr(_current, "entered_at", None)
    if entered_at is None:
        return None
    return time.monotonic() - entered_at
