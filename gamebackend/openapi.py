"""OpenAPI post-processing: every error response is documented as what it is, a problem.

Views document their own outcomes (a 409 insufficient_funds, a 422 idempotency_key_reused);
the errors that can come from the stack around any view are added here once: 400 for
operations that take input, 401 for those that take a token, 413 and 415 for those with a
body, 429 (throttles) and 503 (database unreachable, load shed). Error responses that a view
documented with another media type are moved to application/problem+json, which is what the
exception handler sends.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers


class QueryAutoSchema(AutoSchema):
    """DRF reads an optional query parameter sent empty (`?limit=`) as not given: say so."""

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_parameters()
        for parameter in parameters:
            if parameter.get("in") == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return parameters


def problem_serializer(name: str, **members: serializers.Field) -> Any:
    """The problem body as a view documents it, with the members it adds (`balance`, `runId`).

    Inline, because a declared field named `errors` would shadow `Serializer.errors`.
    """
    return inline_serializer(
        name,
        {
            "type": serializers.CharField(),
            "title": serializers.CharField(),
            "status": serializers.IntegerField(),
            "code": serializers.CharField(help_text="Stable machine-readable code to switch on."),
            "detail": serializers.CharField(),
            "errors": serializers.ListField(
                child=serializers.DictField(), required=False, help_text="validation_error only."
            ),
            **members,
        },
    )


PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable for clients to switch on. "
    "Some problems carry more members (`errors`, `balance`, `runId`).",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "example": "urn:gamebackend:problem:validation_error"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "example": "validation_error"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

COMMON = {
    "400": "Invalid input (`validation_error`) or a body that is not JSON (`malformed_json`).",
    "401": "Missing, malformed, expired or revoked token (`not_authenticated`, `token_invalid`).",
    "413": "Body larger than 1 MiB (`payload_too_large`).",
    "415": "Body that is not JSON (`unsupported_media_type`).",
    "429": "Throttled (`throttled`); see `Retry-After`.",
    "503": "Database unreachable (`database_unavailable`) or server overloaded (`overloaded`); "
    "see `Retry-After`.",
}
# /health documents its own 503 body (the failing check), and takes no input.
OWN_ERROR_BODIES = {"/health"}


def _needs_token(operation: dict[str, Any]) -> bool:
    return any(requirement for requirement in operation.get("security", []))


def _takes_input(operation: dict[str, Any]) -> bool:
    return bool(operation.get("parameters") or operation.get("requestBody"))


def problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        if path in OWN_ERROR_BODIES:
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if not status.startswith(("4", "5")):
                    continue
                content = response.get("content") or {}
                schema = next((m["schema"] for m in content.values() if m.get("schema")), None)
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": schema or PROBLEM_REF}}
            wanted = ["429", "503"]
            if _takes_input(operation):
                wanted.append("400")
            if _needs_token(operation):
                wanted.append("401")
            if operation.get("requestBody"):
                wanted += ["413", "415"]
            for status in sorted(wanted):
                responses.setdefault(
                    status,
                    {
                        "description": COMMON[status],
                        "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
                    },
                )
    return result
