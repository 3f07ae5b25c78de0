"""gunicorn settings; every value can be overridden from the environment (see README)."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("WEB_THREADS", 4))
# Each thread holds at most one pooled database connection (DB_POOL_MAX must be >= threads).
timeout = int(os.environ.get("WEB_TIMEOUT", 30))
graceful_timeout = 30
keepalive = int(os.environ.get("WEB_KEEPALIVE", 5))
backlog = int(os.environ.get("WEB_BACKLOG", 2048))
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", 0))
max_requests_jitter = 100
accesslog = None  # the request log comes from RequestIdMiddleware, as JSON with request ids
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
