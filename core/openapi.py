"""OpenAPI post-processing: every error response is documented as what it is, a problem.

Views document their own outcomes (a 409 insufficient_funds, a 422 idempotency_key_reused);
the errors that can come from the stack around any view are added here once: 400 for
operations that take input, 401 for those that take a token, 413 and 415 for those with a
body, 429 (throttles) and 503 (database unreachable, load shed). Error responses that a view
documented with another media type are moved to application/problem+json, which is what the
exception handler sends.

Each error response names its codes in backticks in its description (`insufficient_funds`);
every code named gets an example body with its real status, code and detail, so Swagger UI
and ReDoc never show a made-up `validation_error` with status 0. A description that names no
code, or a code whose status differs from the response's, stops the schema generation.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from core.problems import _DRF_CODES, Problem, problem_body


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
COMMON_400_WITHOUT_BODY = "Invalid input (`validation_error`)."
# /health documents its own 503 body (the failing check), and takes no input.
OWN_ERROR_BODIES = {"/health"}
# Refused by gunicorn before the application, with its own HTML body: not a problem.
HTTP_SERVER_ERRORS = {"414"}
CODE_MARK = re.compile(r"`([a-z_]+)`")


@dataclass(frozen=True)
class ProblemExample:
    status: int
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self, code: str) -> dict[str, Any]:
        return problem_body(status=self.status, code=code, detail=self.detail, **self.extra)


# Problems sent by middleware, outside any view or exception class.
MIDDLEWARE_PROBLEMS = {
    "malformed_request": ProblemExample(400, "Content-Length is not a number."),
    "overloaded": ProblemExample(503, "The server is overloaded; try again shortly."),
}
# Members some problems carry besides the standard ones, as the services send them.
EXAMPLE_MEMBERS: dict[str, dict[str, Any]] = {
    "validation_error": {
        "errors": [
            {
                "field": "amount",
                "code": "min_value",
                "message": "Ensure this value is greater than or equal to 1.",
            }
        ]
    },
    "insufficient_funds": {"balance": 20},
    "balance_limit": {"balance": 999_999_950, "maxBalance": 1_000_000_000},
    "pipeline_busy": {"runId": 42},
}
# Details as sent where the class's default is a template or the sender adds to it.
EXAMPLE_DETAILS = {
    # The handler replaces DRF's "Invalid input." (problems._detail_text).
    "validation_error": "The request is not valid; see errors.",
    "unsupported_media_type": 'Unsupported media type "text/plain" in request.',
    "method_not_allowed": 'Method "DELETE" not allowed.',
    "throttled": "Request was throttled. Expected available in 60 seconds.",
    "insufficient_funds": "The coins balance is 20; 50 are needed.",
    "balance_limit": (
        "The coins balance is 999999950; adding 100 would pass the maximum of 1000000000."
    ),
    "pipeline_busy": "Pipeline run 42 is already queued or running.",
}


def _problem_classes(root: type[Problem]) -> list[type[Problem]]:
    classes = []
    for subclass in root.__subclasses__():
        classes += [subclass, *_problem_classes(subclass)]
    return classes


def problem_catalog() -> dict[str, ProblemExample]:
    """Every problem code the API sends, with its status and detail.

    DRF's exceptions first (a project class reusing one of their codes, such as the staff-only
    adjustment's `permission_denied`, is a narrower case of it), then the project's `Problem`
    classes (all imported once the URLconf is), then the middleware's problems.
    """
    found: dict[str, tuple[int, str]] = {}
    for exc_class, code in _DRF_CODES:
        found[code] = (exc_class.status_code, str(exc_class.default_detail))
    problem_classes: list[type[Problem]] = [Problem, *_problem_classes(Problem)]
    for problem_class in problem_classes:
        code = str(problem_class.default_code)
        status = problem_class.status_code
        if code in found and found[code][0] != status:
            raise ValueError(f"problem code {code} is sent with {found[code][0]} and {status}")
        found.setdefault(code, (status, str(problem_class.default_detail)))
    catalog = {
        code: ProblemExample(
            status, EXAMPLE_DETAILS.get(code, detail), EXAMPLE_MEMBERS.get(code, {})
        )
        for code, (status, detail) in found.items()
    }
    return {**catalog, **MIDDLEWARE_PROBLEMS}


def problem_examples(
    catalog: dict[str, ProblemExample], where: str, status: str, description: str
) -> dict[str, Any]:
    """OpenAPI `examples` for an error response, one per code its description names."""
    codes = [code for code in CODE_MARK.findall(description) if code in catalog]
    if not codes:
        raise ValueError(f"{where} {status}: the description names no problem code in backticks")
    examples = {}
    for code in dict.fromkeys(codes):
        if catalog[code].status != int(status):
            raise ValueError(
                f"{where} {status}: `{code}` is sent with status {catalog[code].status}"
            )
        examples[code] = {"summary": code, "value": catalog[code].body(code)}
    return examples


def _needs_token(operation: dict[str, Any]) -> bool:
    return any(requirement for requirement in operation.get("security", []))


def _takes_input(operation: dict[str, Any]) -> bool:
    return bool(operation.get("parameters") or operation.get("requestBody"))


def problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    catalog = problem_catalog()
    for path, operations in result.get("paths", {}).items():
        if path in OWN_ERROR_BODIES:
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            wanted = ["429", "503"]
            if _takes_input(operation):
                wanted.append("400")
            if _needs_token(operation):
                wanted.append("401")
            if operation.get("requestBody"):
                wanted += ["413", "415"]
            for status in sorted(wanted):
                description = COMMON[status]
                if status == "400" and not operation.get("requestBody"):
                    description = COMMON_400_WITHOUT_BODY
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if not status.startswith(("4", "5")):
                    continue
                if status in HTTP_SERVER_ERRORS:
                    response["content"] = {"text/html": {"schema": {"type": "string"}}}
                    continue
                content = response.get("content") or {}
                schema = next((m["schema"] for m in content.values() if m.get("schema")), None)
                examples = problem_examples(
                    catalog, f"{method.upper()} {path}", status, response["description"]
                )
                response["content"] = {
                    PROBLEM_MEDIA_TYPE: {"schema": schema or PROBLEM_REF, "examples": examples}
                }
            operation["responses"] = dict(sorted(responses.items()))
    return result
