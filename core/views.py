"""The base class of every API view, `/health`, `/metrics`, and problem responses for Django-level
errors."""

import hmac
import ipaddress
import logging
import os
import sys
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularRedocView
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.middleware import is_browser_path
from core.problems import (
    DATABASE_RETRY_AFTER_SECONDS,
    database_unavailable_count,
    is_database_unavailable,
    problem_response,
)

logger = logging.getLogger(__name__)

BODY_METHODS = {"POST", "PUT", "PATCH"}


class ApiView(APIView):
    # The base of every API view: decides 405 and 415 before authentication, as the contract
    # orders them. (A comment, not a docstring: drf-spectacular would show it on every operation.)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method or "")
        if request.method in BODY_METHODS and _has_body(request):
            content_type = (request.content_type or "").split(";")[0].strip().lower()
            if content_type != "application/json" and not content_type.endswith("+json"):
                raise exceptions.UnsupportedMediaType(content_type or "(none)")
        super().initial(request, *args, **kwargs)


def _has_body(request: Request) -> bool:
    meta = request.META
    return (meta.get("CONTENT_LENGTH") or "0") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in meta


HealthResponseSerializer = inline_serializer(
    "HealthResponse",
    {
        "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
        "checks": serializers.DictField(child=serializers.CharField()),
        "version": serializers.CharField(),
    },
)


class HealthView(ApiView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health",
        summary="Health: the database check",
        responses={200: HealthResponseSerializer, 503: HealthResponseSerializer},
        tags=["operations"],
    )
    def get(self, request: Request) -> Response:
        status, body, headers = _health()
        return Response(body, status=status, headers=headers)


def _health() -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and extra headers of `/health`: 503 with `Retry-After` when a check fails."""
    checks = {"database": _check_database()}
    healthy = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": checks,
        "version": settings.VERSION,
    }
    if not healthy:
        return 503, body, {"Retry-After": "5"}
    return 200, body, {}


_health_drf = HealthView.as_view()
_HEALTH_ACCEPT = {"", "*/*", "application/json"}
_HEALTH_HEADERS = {"Allow": "GET, HEAD, OPTIONS", "Content-Type": "application/json"}
_JSON = JSONRenderer()


def health_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """`/health`: the plain GET that probes and load balancers send (no query, JSON or any
    type accepted) answered without DRF's request cycle, with the same status, headers and
    bytes as `HealthView` (`test_health_s_plain_get_answers_as_drf_does`); every other request
    goes to `HealthView`. Load balancers poll it often, and at 64 connections DRF's dispatch
    was about half of the view's own CPU time."""
    if (
        request.method != "GET"
        or request.META.get("QUERY_STRING")
        or request.META.get("HTTP_ACCEPT", "") not in _HEALTH_ACCEPT
    ):
        return _health_drf(request, *args, **kwargs)
    status, body, headers = _health()
    return HttpResponse(_JSON.render(body), status=status, headers={**_HEALTH_HEADERS, **headers})


# drf-spectacular and the CSRF middleware read the view's attributes (`cls`, `initkwargs`,
# `csrf_exempt`): the schema of /health stays HealthView's.
health_view.__dict__.update(_health_drf.__dict__)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver or pool error means the database is unreachable
        logger.warning("health: database check failed", extra={"error": str(exc)})
        # A broken connection must not be reused by the next request of this thread.
        connection.close_if_unusable_or_obsolete()
        return "unavailable"
    return "ok"


# --- /metrics --------------------------------------------------------------------------------


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: HttpRequest) -> bool:
    """A bearer token equal to METRICS_TOKEN when one is set. Without one, loopback clients, and
    outside DEBUG only when the operator opted in with METRICS_ALLOW_LOOPBACK: behind a reverse
    proxy on the same host every request comes from loopback."""
    token: str = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    if not (settings.DEBUG or settings.METRICS_ALLOW_LOOPBACK):
        return False
    return _is_loopback(request.META.get("REMOTE_ADDR", ""))


def metrics_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    if request.method != "GET":
        return problem_response(
            request, status=405, code="method_not_allowed", detail="Use GET for /metrics."
        )
    if not metrics_allowed(request):
        return problem_response(
            request,
            status=403,
            code="permission_denied",
            detail=(
                "Metrics need the METRICS_TOKEN bearer (or, with METRICS_ALLOW_LOOPBACK or "
                "DEBUG, a loopback client)."
            ),
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _is_html_path(request: HttpRequest) -> bool:
    # Not /static: a file whitenoise does not have falls through to here, and is a JSON 404.
    return is_browser_path(request.path)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_html_path(request):
        return defaults.bad_request(request, exception)
    return problem_response(
        request, status=400, code="bad_request", detail="The request cannot be processed."
    )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_html_path(request):
        return defaults.permission_denied(request, exception)
    return problem_response(
        request, status=403, code="permission_denied", detail="You may not do this."
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_html_path(request):
        return defaults.page_not_found(request, exception)
    return problem_response(
        request, status=404, code="not_found", detail=f"No resource at {request.path}."
    )


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception, so sys.exc_info() still holds it.
    if is_database_unavailable(sys.exc_info()[1]):
        database_unavailable_count()
        response = problem_response(
            request,
            status=503,
            code="database_unavailable",
            detail="The database cannot be reached; try again shortly.",
        )
        response["Retry-After"] = DATABASE_RETRY_AFTER_SECONDS
        return response
    if _is_html_path(request):
        return defaults.server_error(request)
    return problem_response(
        request,
        status=500,
        code="internal_error",
        detail="The server failed to handle this request; it has been logged.",
    )


# ReDoc needs its inline start script, inline styles and a blob: worker (search); everything
# else only from this origin. This also stops the bundle's hard-wired Redocly logo
# (cdn.redoc.ly), which no ReDoc option turns off: the browser never requests it.
REDOC_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
    ]
)


class RedocView(SpectacularRedocView):
    """/redoc from local files only: no web fonts, and a CSP that keeps the page on this host."""

    template_name = "core/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = REDOC_CONTENT_SECURITY_POLICY
        return response
