"""gunicorn's threaded worker, stamping each request with the time it entered the queue.

Between gunicorn accepting a connection and a thread running Django, a request waits in the
worker's thread-pool queue; under overload that wait grows without bound. The stamp lets
`LoadSheddingMiddleware` answer 503 to a request that already waited too long, in microseconds,
so the queue drains instead of every client timing out.
"""

import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from core.queueing import queue_entered_set


class QueueTimedThreadWorker(ThreadWorker):
    def enqueue_req(self, conn: Any) -> None:
        conn.queue_entered_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        queue_entered_set(getattr(conn, "queue_entered_at", None))
        try:
            return super().handle(conn)
        finally:
            queue_entered_set(None)
