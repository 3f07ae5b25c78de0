"""RFC 9457 problem details: the one place where exceptions become HTTP error responses.

Domain errors subclass `Problem` (in each app's `errors.py`) and are raised from services;
views never build error responses themselves.
"""

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from core import metrics

logger = logging.getLogger("gamebackend.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"
WWW_AUTHENTICATE = 'Bearer realm="api"'


class Problem(exceptions.APIException):
    """An error with a stable machine-readable `code`, rendered as a problem response.

    `extra` members are added to the problem body (for example `balance` or `runId`).
    """

    status_code = 400
    default_code = "bad_request"
    default_detail = "The request cannot be processed."
    title: str | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.extra = extra or {}
        self.headers = headers or {}


class InvalidInput(Problem):
    """Input a service refuses, field by field: rendered exactly as DRF's ValidationError is
    (`validation_error` with `errors: [{"field", "code", "message"}]`), without services
    depending on DRF's serializer errors. `errors` maps each field ("" for the input as a
    whole) to its messages; `code` is the code of every message."""

    status_code = 400
    default_code = "validation_error"
    default_detail = "The request is not valid; see errors."

    def __init__(self, errors: Mapping[str, Sequence[str]], *, code: str = "invalid") -> None:
        self.errors = {field: list(messages) for field, messages in errors.items()}
        self.code = code
        super().__init__(
            extra={
                "errors": [
                    {"field": field or None, "code": code, "message": message}
                    for field, messages in self.errors.items()
                    for message in messages
                ]
            }
        )

    def messages(self) -> list[str]:
        return [message for messages in self.errors.values() for message in messages]


class PayloadTooLarge(Problem):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "The request body is larger than 1 MiB."


DATABASE_RETRY_AFTER_SECONDS = "5"


class DatabaseUnavailable(Problem):
    status_code = 503
    default_code = "database_unavailable"
    default_detail = "The database cannot be reached; try again shortly."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": DATABASE_RETRY_AFTER_SECONDS})


# psycopg: SQLSTATE class 08 (connection exception), the server shutting down or starting up,
# too many connections. Client-side failures (connect refused, pool timeout) carry no SQLSTATE.
_POSTGRES_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# SQLite: the file cannot be opened or read, or its lock was not obtained within the timeout.
_SQLITE_UNAVAILABLE_CODES = ("SQLITE_CANTOPEN", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR")


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Connection-level database failures (server down, pool timeout), which retrying fixes.

    Django wraps psycopg's OperationalError (psycopg_pool's PoolTimeout is one) and
    InterfaceError (a connection closed under us) in its own classes of the same names, with
    the driver's error as `__cause__`. Many other errors are OperationalErrors too (SQLite's
    "integer overflow", a PostgreSQL statement timeout, a deadlock): those are not an outage.
    An OperationalError without a driver cause is taken for an outage.
    """
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if cause is None:
        return True
    sqlite_code = getattr(cause, "sqlite_errorname", None)
    if isinstance(sqlite_code, str):
        return sqlite_code.startswith(_SQLITE_UNAVAILABLE_CODES)
    if hasattr(cause, "sqlstate"):  # psycopg
        state = cause.sqlstate
        return state is None or state.startswith("08") or state in _POSTGRES_UNAVAILABLE_STATES
    return True


class InternalError(Problem):
    status_code = 500
    default_code = "internal_error"
    default_detail = "The server failed to handle this request; it has been logged."


# DRF's own exceptions, by class, to the codes of the contract.
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "malformed_json"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "token_invalid"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]


def problem_code(exc: exceptions.APIException) -> str:
    if isinstance(exc, Problem):
        return str(exc.default_code)
    for exc_class, code in _DRF_CODES:
        if isinstance(exc, exc_class):
            return code
    return "error"


def problem_body(
    *, status: int, code: str, detail: str, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:gamebackend:problem:{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
    }
    body.update(extra)
    return body


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """Turn DRF's nested ValidationError detail into `[{"field", "code", "message"}]`."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            field = str(key) if not path else f"{path}.{key}"
            if key in ("non_field_errors", "__all__"):
                field = path
            errors.extend(flatten_errors(value, field))
        return errors
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            return [_error_entry(path, item) for item in detail]
        errors = []
        for index, item in enumerate(detail):
            if item:
                errors.extend(flatten_errors(item, f"{path}.{index}" if path else str(index)))
        return errors
    return [_error_entry(path, detail)]


def problem_message(exc: exceptions.APIException) -> str:
    """One line for a person (an admin form error): every field message, or the detail."""
    if isinstance(exc, exceptions.ValidationError):
        return "; ".join(error["message"] for error in flatten_errors(exc.detail))
    if isinstance(exc, InvalidInput):
        return "; ".join(exc.messages())
    return str(exc.detail)


def _error_entry(field: str, item: Any) -> dict[str, Any]:
    return {
        "field": field or None,
        "code": getattr(item, "code", None) or "invalid",
        "message": str(item),
    }


def _detail_text(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        return InvalidInput.default_detail
    if isinstance(detail, dict):
        # simplejwt's InvalidToken carries {"detail": ..., "messages": [...]}.
        return str(detail.get("detail", "The request cannot be processed."))
    if isinstance(detail, list):
        return "; ".join(str(item) for item in detail)
    return str(detail)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif is_database_unavailable(exc):
        logger.warning("database unavailable", extra={"error": str(exc)})
        database_unavailable_count()
        exc = DatabaseUnavailable()
    elif not isinstance(exc, exceptions.APIException):
        logger.exception("unhandled error", exc_info=exc)
        exc = InternalError()

    # DRF's handler adds WWW-Authenticate and Retry-After and rolls back a failed atomic block.
    # (Imported here: rest_framework.views imports the parser classes, which import this module.)
    from rest_framework.views import exception_handler as drf_exception_handler

    drf_response = drf_exception_handler(exc, context)
    headers = dict(drf_response.headers.items()) if drf_response is not None else {}
    headers.pop("Content-Type", None)
    status = exc.status_code
    code = problem_code(exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        extra["errors"] = flatten_errors(exc.detail)
    if isinstance(exc, Problem):
        extra.update(exc.extra)
        headers.update(exc.headers)
    if status == 401:
        headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    if status == 429 and "Retry-After" not in headers:
        headers["Retry-After"] = "60"
    body = problem_body(
        status=status,
        code=code,
        detail=_detail_text(exc),
        title=getattr(exc, "title", None),
        **extra,
    )
    return Response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def database_unavailable_count() -> None:
    metrics.db_unavailable.inc()


def problem_response(
    request: HttpRequest | None, *, status: int, code: str, detail: str, **extra: Any
) -> JsonResponse:
    """A problem response for code paths outside DRF views (middleware, Django handlers)."""
    response = JsonResponse(
        problem_body(status=status, code=code, detail=detail, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    if status == 401:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response
