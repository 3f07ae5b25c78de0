"""Middleware every request passes: request ids with an access log line, metrics, load
shedding and the body limit; and Django's session, auth and messages middleware, run for the
browser pages only."""

import io
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework.request import Request

from core import metrics
from core.logging import request_id_var, user_id_var
from core.problems import problem_response
from core.queueing import queue_wait_seconds

access_logger = logging.getLogger("gamebackend.access")
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIdMiddleware:
    """Takes `X-Request-ID` from the client when it is well-formed, else makes one; echoes it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get("X-Request-ID", "")
        request_id = sent if REQUEST_ID_PATTERN.fullmatch(sent) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        request_token = request_id_var.set(request_id)
        user_token = user_id_var.set(None)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            access_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            request_id_var.reset(request_token)
            user_id_var.reset(user_token)


def request_id_of(request: HttpRequest | Request) -> str:
    """The id RequestIdMiddleware gave this request; "" for a request it did not see."""
    request_id = getattr(request, "request_id", None)
    return request_id if isinstance(request_id, str) else ""


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413 before routing, auth or parsing.

    A declared body (Content-Length) is judged by its header. A chunked body has none, and
    Django reads a request without Content-Length as empty; when the server has de-chunked it
    (`wsgi.input_terminated`, as gunicorn sets), it is read here, at most the limit plus one
    byte, and handed on as a body of known length.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(
                request,
                status=400,
                code="malformed_request",
                detail="Content-Length is not a number.",
            )
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return self._too_large(request)
        if not request.META.get("CONTENT_LENGTH") and _is_chunked(request):
            try:
                body = request.META["wsgi.input"].read(settings.MAX_REQUEST_BODY_BYTES + 1)
            except Exception:  # the server's de-chunking: bad chunk sizes, a body cut short
                return problem_response(
                    request,
                    status=400,
                    code="malformed_request",
                    detail="The chunked request body cannot be read.",
                )
            if len(body) > settings.MAX_REQUEST_BODY_BYTES:
                return self._too_large(request)
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]
        return self.get_response(request)

    @staticmethod
    def _too_large(request: HttpRequest) -> HttpResponse:
        return problem_response(
            request,
            status=413,
            code="payload_too_large",
            detail="The request body is larger than 1 MiB.",
        )


def _is_chunked(request: HttpRequest) -> bool:
    encoding = request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding and bool(request.META.get("wsgi.input_terminated"))


class MetricsMiddleware:
    """Counts and times every request by route name (see core.metrics)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = metrics.route_name(request)
        method = metrics.method_label(request)
        metrics.http_request_duration_seconds.labels(route=route, method=method).observe(
            time.perf_counter() - started
        )
        metrics.http_requests.labels(
            route=route, method=method, status=str(response.status_code)
        ).inc()
        metrics.pool_stats_sampler.maybe_sample()
        return response


class LoadSheddingMiddleware:
    """Answers 503 with Retry-After to a request that waited in gunicorn's queue too long.

    Under overload, serving requests whose clients have probably given up only makes every
    later request wait longer; refusing them costs microseconds, so the queue drains and the
    latency of the requests that are served stays bounded by about QUEUE_TIMEOUT_MS plus one
    service time. The wait is measured by gamebackend.workers.QueueTimedThreadWorker.
    """

    exempt_paths = frozenset({"/metrics"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit_ms: int = settings.QUEUE_TIMEOUT_MS
        waited = queue_wait_seconds()
        if (
            limit_ms > 0
            and waited is not None
            and waited * 1000 > limit_ms
            and request.path not in self.exempt_paths
        ):
            metrics.http_requests_shed.inc()
            response = problem_response(
                request,
                status=503,
                code="overloaded",
                detail="The server is overloaded; try again shortly.",
            )
            response["Retry-After"] = str(settings.QUEUE_SHED_RETRY_AFTER_SECONDS)
            return response
        return self.get_response(request)


# The pages a browser opens with a session: the admin (and the live-ops pages under it) and
# the interactive API documentation. Everything else is the bearer-token API, which reads no
# cookie, so Django's session, authentication and messages middleware are skipped there.
# (CsrfViewMiddleware stays on every path: DRF views are exempt from it, so it costs little, and
# a plain view such as /metrics keeps Django's CSRF answer.)
BROWSER_PATH_PREFIXES = ("/admin", "/docs", "/redoc")
# Django's middleware answers a coroutine when the handler chain runs async (ASGI).
AnyResponse = HttpResponseBase | Awaitable[HttpResponseBase]


def is_browser_path(path: str) -> bool:
    return path.startswith(BROWSER_PATH_PREFIXES)


class _OnBrowserPaths:
    """Runs the Django middleware it is mixed into on browser paths only; API requests pass
    straight through to the next one."""

    get_response: Callable[[HttpRequest], AnyResponse]

    def __call__(self, request: HttpRequest) -> AnyResponse:
        if is_browser_path(request.path):
            return super().__call__(request)  # type: ignore[misc]
        return self.get_response(request)


class BrowserSessionMiddleware(_OnBrowserPaths, SessionMiddleware):
    """Django's SessionMiddleware on browser paths."""


class BrowserAuthenticationMiddleware(_OnBrowserPaths, AuthenticationMiddleware):
    """Django's AuthenticationMiddleware (`request.user` from the session) on browser paths;
    the API's user comes from the bearer token (DRF's `request.user`)."""


class BrowserMessageMiddleware(_OnBrowserPaths, MessageMiddleware):
    """Django's MessageMiddleware (the admin's flash messages) on browser paths."""
