"""gunicorn settings; every value can be overridden from the environment (see README, "Serving").

The defaults were chosen by measurement on a 2-core machine (docs/benchmarks.md, "API").
"""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("BIND", "127.0.0.1:8000")
# gunicorn's gthread worker, stamping each request with the time it entered the queue so that
# LoadSheddingMiddleware can answer 503 instead of letting latency grow without bound.
worker_class = "gamebackend.workers.QueueTimedThreadWorker"
# One process per core, 32 threads each: API requests spend most of their time waiting for
# PostgreSQL (which shares the cores), so threads overlap those waits; with 64 client
# connections, 4 threads per process left requests waiting in gunicorn's queue (and shed as 503
# under load) while the database had idle capacity. More processes only add context switches
# and database backends (measured: docs/benchmarks.md, "API", "Threads and pool").
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", 32))
# Threads share a pool of DB_POOL_MAX (16) connections per process: a thread that finds none
# free waits up to DB_POOL_TIMEOUT for one, so PostgreSQL sees at most workers x 16 (32 on 2
# cores) connections, far below max_connections (100), whatever the thread count.
timeout = int(os.environ.get("WEB_TIMEOUT", 30))
graceful_timeout = 30
keepalive = int(os.environ.get("WEB_KEEPALIVE", 5))
backlog = int(os.environ.get("WEB_BACKLOG", 2048))
worker_connections = int(os.environ.get("WEB_WORKER_CONNECTIONS", 1000))
# /track takes a redirect URL of up to 2048 characters plus campaign parameters; gunicorn's
# default request-line limit (4094) would answer such a request 414 before Django sees it.
limit_request_line = 8190
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", 0))
max_requests_jitter = 100
accesslog = None  # the request log comes from RequestIdMiddleware, as JSON with request ids
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus multiprocess mode: each worker writes its metrics to files in this directory and
# /metrics adds them up. Set before any worker imports prometheus_client.
_metrics_dir_owned = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _metrics_dir_owned:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gamebackend-metrics-")
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    # A directory given by the operator may be shared with the task worker (`db_worker`, whose
    # pipeline-run metrics /metrics then includes): clearing it is the deployment's job, before
    # both start. Our own temporary directory starts empty.
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    # The dead worker's gauges leave the sums; its counters are kept.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_dir_owned:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
