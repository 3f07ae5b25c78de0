"""Validation of telemetry input that is not a request shape: event items and /track parameters.

Event items are checked by one plain function, `event_input_parse`, used both by
`EventRequestSerializer` (POST /event) and per item of a batch (`event_batch_items_parse`, where
each item's errors are reported by index instead of failing the whole request). The services
store what it returns (`EventInput`). `TRACK_PARAMETERS` declares the /track query parameters
once: the query serializer (and with it the OpenAPI parameter list) and the stored click are
built from it.
"""

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rest_framework.exceptions import ErrorDetail, ValidationError

from core.parsers import (
    MAX_JSON_DEPTH,
    invalid_text_paths,
    json_depth_exceeds,
)
from core.problems import flatten_errors
from telemetry.models import EVENT_TYPE_MAX_LENGTH

EVENT_TYPE_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
META_MAX_BYTES = 8 * 1024
TIMESTAMP_MAX_AHEAD = timedelta(hours=24)
TIMESTAMP_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EventInput:
    """A validated event, ready to store."""

    event_type: str
    meta: dict[str, Any]
    timestamp: datetime  # aware, UTC
    event_id: uuid.UUID | None


def _error(field: str, code: str, message: str) -> dict[str, list[ErrorDetail]]:
    return {field: [ErrorDetail(message, code=code)]}


def event_input_parse(data: Any, *, now: datetime) -> EventInput:
    """Validate one event object of a request; raises ValidationError listing every problem."""
    if not isinstance(data, dict):
        raise ValidationError(
            {"non_field_errors": [ErrorDetail("Must be a JSON object.", code="invalid")]}
        )
    errors: dict[str, list[ErrorDetail]] = {}
    event_type = _event_type_parse(data, errors)
    meta = _meta_parse(data, errors)
    timestamp = _timestamp_parse(data, errors, now=now)
    event_id = _event_id_parse(data, errors)
    if errors:
        raise ValidationError(errors)
    assert event_type is not None and meta is not None and timestamp is not None
    return EventInput(event_type=event_type, meta=meta, timestamp=timestamp, event_id=event_id)


def _event_type_parse(data: dict[str, Any], errors: dict[str, list[ErrorDetail]]) -> str | None:
    if "eventType" not in data:
        errors.update(_error("eventType", "required", "This field is required."))
        return None
    value = data["eventType"]
    if not isinstance(value, str):
        errors.update(_error("eventType", "invalid", "Must be a JSON string."))
        return None
    if not EVENT_TYPE_PATTERN.fullmatch(value):
        errors.update(
            _error(
                "eventType",
                "invalid_event_type",
                f"1 to {EVENT_TYPE_MAX_LENGTH} characters of letters, digits and _ . : -",
            )
        )
        return None
    return value


def _meta_parse(
    data: dict[str, Any], errors: dict[str, list[ErrorDetail]]
) -> dict[str, Any] | None:
    value = data.get("meta")
    if value is None:  # absent or null: no metadata
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_reject_json_constant)
        except (ValueError, RecursionError):
            errors.update(_error("meta", "invalid", "The string does not hold valid JSON."))
            return None
        if not isinstance(value, dict):
            errors.update(_error("meta", "invalid", "The string must hold a JSON object."))
            return None
        if json_depth_exceeds(value, MAX_JSON_DEPTH) or invalid_text_paths(value):
            errors.update(
                _error(
                    "meta",
                    "invalid",
                    f"JSON nested deeper than {MAX_JSON_DEPTH} levels, or text with NUL or "
                    "unpaired surrogates.",
                )
            )
            return None
    elif not isinstance(value, dict):
        errors.update(_error("meta", "invalid", "Must be a JSON object or a string holding one."))
        return None
    if _has_non_finite_number(value):
        errors.update(_error("meta", "invalid", "Numbers must be finite."))
        return None
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    if len(encoded) > META_MAX_BYTES:
        errors.update(
            _error(
                "meta",
                "max_size",
                f"At most {META_MAX_BYTES} bytes as compact UTF-8 JSON ({len(encoded)} given).",
            )
        )
        return None
    return value


def _reject_json_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _has_non_finite_number(value: Any) -> bool:
    """1e999 parses to infinity, which no JSON column can store."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float):
            if not math.isfinite(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


# (code, message) of a timestamp outside [TIMESTAMP_EARLIEST, now + TIMESTAMP_MAX_AHEAD].
_TOO_OLD = ("too_old", "Must not be before 2000-01-01.")
_TOO_FAR_AHEAD = ("too_far_ahead", "Must not be more than 24 h in the future.")


def _timestamp_parse(
    data: dict[str, Any], errors: dict[str, list[ErrorDetail]], *, now: datetime
) -> datetime | None:
    value = data.get("timestampUtc")
    if value is None:
        return now
    if not isinstance(value, str):
        errors.update(_error("timestampUtc", "invalid", "Must be a JSON string."))
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors.update(
            _error("timestampUtc", "invalid", "Must be ISO 8601, e.g. 2025-10-25T10:30:00Z.")
        )
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        errors.update(
            _error("timestampUtc", "timezone_required", "Needs a zone: Z or an offset like +02:00.")
        )
        return None
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-23:59 is in year 10000 in UTC, 0001-01-01T00:00:00+23:59 in
        # year 0: past either end of the calendar, so far too late or far too early.
        late = moment.utcoffset() < timedelta(0)  # type: ignore[operator]
        errors.update(_error("timestampUtc", *(_TOO_FAR_AHEAD if late else _TOO_OLD)))
        return None
    if moment < TIMESTAMP_EARLIEST:
        errors.update(_error("timestampUtc", *_TOO_OLD))
        return None
    if moment > now + TIMESTAMP_MAX_AHEAD:
        errors.update(_error("timestampUtc", *_TOO_FAR_AHEAD))
        return None
    return moment


def _event_id_parse(data: dict[str, Any], errors: dict[str, list[ErrorDetail]]) -> uuid.UUID | None:
    value = data.get("eventId")
    if value is None:
        return None
    if not isinstance(value, str):
        errors.update(_error("eventId", "invalid", "Must be a JSON string holding a UUID."))
        return None
    try:
        # Hyphenated or not, any case; stored normalised so comparison is case-insensitive.
        if len(value) not in (32, 36):
            raise ValueError
        return uuid.UUID(value)
    except ValueError:
        errors.update(_error("eventId", "invalid", "Must be a UUID."))
        return None


@dataclass(frozen=True)
class EventBatchParsed:
    valid: list[EventInput]
    rejected: list[dict[str, Any]]


def event_batch_items_parse(items: list[Any], *, now: datetime) -> EventBatchParsed:
    valid: list[EventInput] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            valid.append(event_input_parse(item, now=now))
        except ValidationError as exc:
            rejected.append({"index": index, "errors": flatten_errors(exc.detail)})
    return EventBatchParsed(valid=valid, rejected=rejected)


# --- GET /track --------------------------------------------------------------------------------

TRACK_TEXT_MAX_LENGTH = 256
TRACK_LONG_TEXT_MAX_LENGTH = 2048  # deep_link_value (and redirect)


@dataclass(frozen=True)
class TrackParameter:
    """A /track query parameter: the Click field it is stored in, its length cap, whether it
    becomes a campaign key in report files (`report_key`: no formula prefix first), whether it
    is required (the others may be absent or empty) and its OpenAPI description."""

    field: str
    max_length: int = TRACK_TEXT_MAX_LENGTH
    report_key: bool = False
    required: bool = False
    help_text: str | None = None


TRACK_PARAMETERS = {
    "pid": TrackParameter(
        "media_source",
        report_key=True,
        required=True,
        help_text="Media source; required, not empty.",
    ),
    "c": TrackParameter("campaign", report_key=True, help_text="Campaign."),
    "af_adset": TrackParameter("adset", report_key=True),
    "af_ad": TrackParameter("ad", report_key=True),
    "clickid": TrackParameter("network_click_id", help_text="The ad network's click id."),
    "deep_link_value": TrackParameter("deep_link_value", max_length=TRACK_LONG_TEXT_MAX_LENGTH),
    "af_sub1": TrackParameter("sub1"),
    "af_sub2": TrackParameter("sub2"),
    "af_sub3": TrackParameter("sub3"),
    "af_sub4": TrackParameter("sub4"),
    "af_sub5": TrackParameter("sub5"),
}
