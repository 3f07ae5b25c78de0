"""Prometheus metrics: the objects and the helpers apps call (`/metrics` is in core.views).

This module imports nothing of the project, so every module (core.problems included) may import
it.

Under gunicorn every worker is a process, so gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR
at a fresh directory before the workers import this module; prometheus_client then keeps each
process's values in a memory-mapped file there and `/metrics` adds them up. Without the
variable (tests, `runserver`) the values live in the process.

Apps record what they did after it committed, for example in `economy.services`:

    transaction.on_commit(lambda: metrics.ledger_entries_record(kind="earn"))
"""

import logging
import threading
import time

from django.db import connections
from django.http import HttpRequest
from prometheus_client import Counter, Gauge, Histogram

logger = logging.getLogger(__name__)

# Latency buckets around the targets (p99 50 ms for reads, 100 ms for writes).
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

http_requests = Counter(
    "gamebackend_http_requests",
    "HTTP requests answered, by route name, method and status.",
    ["route", "method", "status"],
)
http_request_duration_seconds = Histogram(
    "gamebackend_http_request_duration_seconds",
    "Time from the request entering Django to the response leaving it, by route name.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
http_requests_shed = Counter(
    "gamebackend_http_requests_shed",
    "Requests refused with 503 because they waited in the worker's queue too long.",
)
db_unavailable = Counter(
    "gamebackend_db_unavailable",
    "Requests answered 503 because the database could not be reached.",
)
db_pool_connections = Gauge(
    "gamebackend_db_pool_connections",
    "psycopg pool connections of live workers: size (open), available (idle), "
    "waiting (requests waiting for a connection), max (configured ceiling).",
    ["state"],
    multiprocess_mode="livesum",
)
db_pool_requests = Counter(
    "gamebackend_db_pool_requests",
    "Connection requests to the psycopg pool: all of them (requested), those that had to wait "
    "(queued), and those that gave up after DB_POOL_TIMEOUT (timed_out).",
    ["outcome"],
)
db_pool_connection_errors = Counter(
    "gamebackend_db_pool_connection_errors",
    "Failed attempts of the psycopg pool to open a connection (database down or refusing).",
)
db_pool_wait_seconds = Counter(
    "gamebackend_db_pool_wait_seconds",
    "Total time requests waited for a pooled connection.",
)
ledger_entries_written = Counter(
    "gamebackend_ledger_entries_written",
    "Ledger entries committed, by kind (earn, spend, adjust).",
    ["kind"],
)
events_ingested = Counter(
    "gamebackend_events_ingested",
    "Game events stored, by source (single for /event, batch for /events/batch).",
    ["source"],
)
pipeline_runs = Counter(
    "gamebackend_pipeline_runs",
    "Analytics pipeline runs finished, by status (succeeded, failed).",
    ["status"],
)
pipeline_run_duration_seconds = Histogram(
    "gamebackend_pipeline_run_duration_seconds",
    "Wall time of finished analytics pipeline runs, by status.",
    ["status"],
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)


# --- Helpers the apps call (one line each, after the write committed) ------------------------


def ledger_entries_record(*, kind: str, count: int = 1) -> None:
    ledger_entries_written.labels(kind=kind).inc(count)


def events_ingested_record(*, source: str, count: int) -> None:
    if count:
        events_ingested.labels(source=source).inc(count)


def pipeline_run_record(*, status: str, seconds: float) -> None:
    pipeline_runs.labels(status=status).inc()
    pipeline_run_duration_seconds.labels(status=status).observe(seconds)


# --- Request metrics -------------------------------------------------------------------------


def route_name(request: HttpRequest) -> str:
    """The URL pattern's name (never the raw path, whose ids would explode the label set)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


# The methods a client of this API or a browser sends; any other (a client may send any token)
# is counted as "other", so no request can add a label value.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(request: HttpRequest) -> str:
    method = request.method or ""
    return method if method in KNOWN_METHODS else "other"


class PoolStatsSampler:
    """Copies the psycopg pool's statistics into the metrics at most once a second per process."""

    interval = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0.0

    def maybe_sample(self) -> None:
        now = time.monotonic()
        if now - self._last < self.interval or not self._lock.acquire(blocking=False):
            return
        try:
            self._last = now
            self.sample()
        except Exception:  # metrics must never fail the request they are sampled after
            logger.warning("metrics: sampling the database pool failed", exc_info=True)
        finally:
            self._lock.release()

    def sample(self) -> None:
        connection = connections["default"]
        if connection.vendor != "postgresql":
            return
        pool = connection.pool  # type: ignore[attr-defined]
        if pool is None:
            return
        stats: dict[str, int] = pool.pop_stats()
        db_pool_connections.labels(state="size").set(stats.get("pool_size", 0))
        db_pool_connections.labels(state="available").set(stats.get("pool_available", 0))
        db_pool_connections.labels(state="waiting").set(stats.get("requests_waiting", 0))
        db_pool_connections.labels(state="max").set(stats.get("pool_max", 0))
        db_pool_requests.labels(outcome="requested").inc(max(0, stats.get("requests_num", 0)))
        db_pool_requests.labels(outcome="queued").inc(max(0, stats.get("requests_queued", 0)))
        db_pool_requests.labels(outcome="timed_out").inc(max(0, stats.get("requests_errors", 0)))
        db_pool_connection_errors.inc(max(0, stats.get("connections_errors", 0)))
        db_pool_wait_seconds.inc(max(0, stats.get("requests_wait_ms", 0)) / 1000)


pool_stats_sampler = PoolStatsSampler()
