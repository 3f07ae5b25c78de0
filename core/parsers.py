"""The only request body format: strict JSON, bounded in size and depth."""

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from core.problems import PayloadTooLarge

MAX_JSON_DEPTH = 32


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when containers nest deeper than `limit` (the outermost container is level 1)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def invalid_text_paths(value: Any, path: str = "") -> list[str]:
    """Paths of strings (keys or values) holding NUL or an unpaired surrogate."""
    bad: list[str] = []
    stack = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if not is_clean_text(node):
                bad.append(where)
        elif isinstance(node, dict):
            for key, child in node.items():
                child_path = f"{where}.{key}" if where else str(key)
                if not is_clean_text(key):
                    bad.append(where or "body")
                stack.append((child, child_path))
        elif isinstance(node, list):
            stack.extend(
                (child, f"{where}.{i}" if where else str(i)) for i, child in enumerate(node)
            )
    return sorted(set(bad))


def is_clean_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # unpaired surrogate
        return False
    return True


class StrictJSONParser(JSONParser):
    """JSON only; refuses NaN/Infinity, nesting over 32 levels, NUL and lone surrogates."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        limit = settings.MAX_REQUEST_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError("The body is not valid UTF-8.") from None
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON nested deeper than {MAX_JSON_DEPTH} levels."
            ) from None
        except ValueError as exc:
            raise exceptions.ParseError(f"Malformed JSON: {exc}") from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        bad = invalid_text_paths(data)
        if bad:
            raise exceptions.ValidationError(
                {
                    path or "body": [
                        exceptions.ErrorDetail(
                            "Text must not contain NUL or unpaired surrogates.",
                            code="invalid_text",
                        )
                    ]
                    for path in bad
                }
            )
        return data
