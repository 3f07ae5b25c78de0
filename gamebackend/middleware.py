"""Middleware every request passes: request ids with an access log line, and the body limit."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from gamebackend.logging import request_id_var, user_id_var
from gamebackend.problems import problem_response

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


class BodySizeLimitMiddleware:
    """Refuses declared bodies over the limit with 413 before routing, auth or parsing.

    Chunked bodies without Content-Length are bounded by the JSON parser's read limit.
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
            return problem_response(
                request,
                status=413,
                code="payload_too_large",
                detail="The request body is larger than 1 MiB.",
            )
        return self.get_response(request)
