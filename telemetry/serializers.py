"""Request parsing and response shapes of the telemetry endpoints.

Event items are checked by `telemetry.validation.event_input_parse`, used both by
`EventRequestSerializer` (POST /event) and per item of a batch (`event_batch_items_parse`). The
declared fields of `EventRequestSerializer` describe the same rules for the OpenAPI document.
The /track query fields are built from `telemetry.validation.TRACK_PARAMETERS`.
"""

import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from core.fields import StrictCharField
from telemetry.models import EVENT_TYPE_MAX_LENGTH
from telemetry.validation import (
    TRACK_LONG_TEXT_MAX_LENGTH,
    TRACK_PARAMETERS,
    TRACK_TEXT_MAX_LENGTH,
    event_input_parse,
)

BATCH_MAX_EVENTS = 500
EVENTS_LIMIT_MAX = 100
DAY_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LIMIT_PATTERN = re.compile(r"[0-9]{1,9}")


# --- POST /event -------------------------------------------------------------------------------


class EventRequestSerializer(serializers.Serializer):
    """One event. Checked by `event_input_parse`; the fields document the rules."""

    eventType = StrictCharField(
        min_length=1,
        max_length=EVENT_TYPE_MAX_LENGTH,
        help_text="1 to 64 characters of letters, digits and _ . : -",
    )
    meta = serializers.JSONField(
        required=False,
        help_text=(
            "A JSON object, or a string holding one; at most 8 KiB as compact UTF-8 JSON. "
            "Default {}."
        ),
    )
    timestampUtc = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=(
            "ISO 8601 with Z or an offset (converted to UTC); absent or null means now. Must not "
            "be before 2000-01-01 nor more than 24 h ahead of the server's clock (relative to "
            "now, so not expressible here): otherwise 400 validation_error with the field error "
            "code `too_old` or `too_far_ahead`."
        ),
    )
    eventId = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Optional client id; a second event with it is a duplicate (case-insensitive).",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        now = self.context.get("now") or datetime.now(UTC)
        return {"event": event_input_parse(data, now=now)}


class EventResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    eventId = serializers.UUIDField(allow_null=True)
    eventType = serializers.CharField()
    timestampUtc = serializers.CharField(help_text="ISO 8601 UTC with Z.")
    receivedAt = serializers.CharField(help_text="ISO 8601 UTC with Z.")
    duplicate = serializers.BooleanField(
        help_text="True when this eventId was already stored: the stored event is returned."
    )


# --- POST /events/batch ------------------------------------------------------------------------


@extend_schema_field(
    {
        "description": (
            "An event as for POST /event (EventRequest). Not constrained here: each item is "
            "checked on its own, and an invalid one (of any JSON type) is listed in `rejected` "
            "by index while the valid ones are stored."
        )
    }
)
class EventBatchItemField(serializers.Field):
    """Passes each item through untouched: items are checked one by one, errors by index."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class EventBatchRequestSerializer(serializers.Serializer):
    events = serializers.ListField(
        child=EventBatchItemField(allow_null=True),
        min_length=1,
        max_length=BATCH_MAX_EVENTS,
        help_text=f"1 to {BATCH_MAX_EVENTS} events.",
    )


class EventErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class EventRejectedSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="0-based position in `events`.")
    errors = EventErrorSerializer(many=True)  # type: ignore[assignment]


class EventBatchResponseSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored by this request.")
    duplicates = serializers.IntegerField(
        help_text="Valid events whose eventId was already stored or repeated in the batch."
    )
    rejected = EventRejectedSerializer(many=True)


# --- GET /events -------------------------------------------------------------------------------


@extend_schema_field(
    {"type": "integer", "minimum": 1, "maximum": EVENTS_LIMIT_MAX, "default": EVENTS_LIMIT_MAX}
)
class EventsLimitField(serializers.Field):
    """A query-string integer in decimal digits, checked by `validate_limit`.

    Not a CharField, whose schema would add `minLength` to this integer; DRF never passes an
    empty query value on (it means not given)."""

    default_error_messages = {"invalid": "Must be a string of decimal digits."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class EventListQuerySerializer(serializers.Serializer):
    limit = EventsLimitField(
        required=False, help_text="1..100 in decimal digits, default 100; empty means not given."
    )

    def validate_limit(self, value: str) -> int:
        if not LIMIT_PATTERN.fullmatch(value) or not 1 <= int(value) <= EVENTS_LIMIT_MAX:
            raise serializers.ValidationError(
                f"Must be an integer from 1 to {EVENTS_LIMIT_MAX}.", code="invalid_limit"
            )
        return int(value)


class EventListItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    eventId = serializers.UUIDField(allow_null=True)
    eventType = serializers.CharField()
    meta = serializers.DictField(help_text="Always a JSON object.")
    timestampUtc = serializers.CharField()
    receivedAt = serializers.CharField()


class EventListResponseSerializer(serializers.Serializer):
    events = EventListItemSerializer(many=True)


# --- GET /stats --------------------------------------------------------------------------------


def _day_parse(value: str) -> date:
    if not DAY_PATTERN.fullmatch(value):
        raise serializers.ValidationError("Must be a date YYYY-MM-DD.", code="invalid_date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError(
            "Must be a date YYYY-MM-DD.", code="invalid_date"
        ) from None


@extend_schema_field(OpenApiTypes.DATE)
class DayField(StrictCharField):
    """A UTC day YYYY-MM-DD in the query string, checked by `_day_parse`."""


class StatsQuerySerializer(serializers.Serializer):
    """`from`/`to` are inclusive UTC days; an absent or empty value is the open end."""

    from_ = DayField(
        required=False,
        allow_blank=True,
        help_text=(
            "First UTC day, inclusive; absent or empty: no lower bound. After `to`: 400 "
            "validation_error (field error code `from_after_to`)."
        ),
    )
    to = DayField(
        required=False,
        allow_blank=True,
        help_text="Last UTC day, inclusive; absent or empty: no upper bound.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate_from(self, value: str) -> date | None:
        return _day_parse(value) if value else None

    def validate_to(self, value: str) -> date | None:
        return _day_parse(value) if value else None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        day_from, day_to = attrs.get("from"), attrs.get("to")
        if day_from is not None and day_to is not None and day_from > day_to:
            raise serializers.ValidationError(
                {"from": [ErrorDetail("Must not be after `to`.", code="from_after_to")]}
            )
        return {"day_from": day_from, "day_to": day_to}


class StatsTypeCountSerializer(serializers.Serializer):
    eventType = serializers.CharField()
    count = serializers.IntegerField()


class StatsMineSerializer(serializers.Serializer):
    totalEvents = serializers.IntegerField()
    byType = StatsTypeCountSerializer(many=True)


class StatsResponseSerializer(serializers.Serializer):
    totalEvents = serializers.IntegerField()
    uniquePlayers = serializers.IntegerField()
    byType = StatsTypeCountSerializer(
        many=True, help_text="Sorted by count, highest first, then by eventType (code point)."
    )
    mine = StatsMineSerializer(
        required=False, help_text="The caller's own counts; only when a valid token is sent."
    )


# --- GET /track --------------------------------------------------------------------------------

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@")
# What the OpenAPI document can say of the rules below: no ASCII control characters, and for
# the report keys no formula prefix first. The checks themselves are stricter (str.isprintable
# also refuses other control, format and separator characters, unassigned code points and
# lone surrogates), which a schema pattern cannot express.
# Non-empty: drf-spectacular documents an allowed empty value as a oneOf branch of its own.
_PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f]+$"
_REPORT_KEY_PATTERN = r"^[^=+\-@\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


class TrackTextField(StrictCharField):
    """A /track parameter: printable text (`str.isprintable`: no control characters, NUL, line
    breaks, tabs, format characters or lone surrogates; spaces are fine).

    `report_key` marks the parameters that become campaign keys in report files (`pid`, `c`,
    `af_adset`, `af_ad`): they must not start with a formula prefix (`= + - @`).
    """

    default_error_messages = {
        "invalid_text": "Printable text only: no control, format or line-break characters.",
        "formula_prefix": "Must not start with =, +, - or @.",
    }

    def __init__(self, *, report_key: bool = False, **kwargs: Any) -> None:
        self.report_key = report_key
        pattern = _REPORT_KEY_PATTERN if report_key else _PRINTABLE_PATTERN
        # The pattern goes into the OpenAPI document; the checks below are the rule.
        kwargs["validators"] = [RegexValidator(pattern, code="invalid_text")]
        kwargs.setdefault("max_length", TRACK_TEXT_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value.isprintable():
            self.fail("invalid_text")
        if self.report_key and value.startswith(FORMULA_PREFIXES):
            self.fail("formula_prefix")
        return value


REDIRECT_MAX_LENGTH = TRACK_LONG_TEXT_MAX_LENGTH
# A redirect URL is printable ASCII without spaces or backslashes (anything else percent-encoded,
# an IDN host in its xn-- form): browsers read whitespace, backslashes and Unicode look-alikes of
# / ? # @ . in ways urlsplit does not, and a Location header is ASCII anyway.
_URL_CHARACTERS = re.compile(r"[!-\[\]-~]+")


def redirect_host_allowed(url: str) -> bool:
    """An absolute http(s) URL, no userinfo, whose host is in TRACK_REDIRECT_ALLOWED_HOSTS.

    Hosts compare case-insensitively and exactly (no subdomains); ports are ignored. A URL that
    urlsplit cannot take apart (an unclosed or non-address `[...]` host, a bad port) is refused.
    Django's `url_has_allowed_host_and_scheme` then checks the URL with its own parsing (the
    http(s) scheme, backslashes, a missing or doubled `//`), given as its only allowed host the
    URL's own host and port once the host name matched: ports are ignored here, which Django's
    exact `host:port` comparison cannot express.
    """
    if not _URL_CHARACTERS.fullmatch(url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed or out-of-range port
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or "@" in parts.netloc or not host:
        return False
    if host not in allowed_redirect_hosts():
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts={parts.netloc}, require_https=False)


def allowed_redirect_hosts() -> set[str]:
    hosts = set()
    for entry in settings.TRACK_REDIRECT_ALLOWED_HOSTS:
        entry = entry.strip().lower()
        if entry.startswith("[") and "]" in entry:  # [::1]:8000
            entry = entry[1 : entry.index("]")]
        elif entry.count(":") == 1:  # host:port
            entry = entry.split(":", 1)[0]
        if entry:
            hosts.add(entry)
    return hosts


@extend_schema_field(
    {
        "type": "string",
        "format": "uri",
        "minLength": 1,
        "maxLength": REDIRECT_MAX_LENGTH,
        "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[!-\\[\\]-~]+$",
    }
)
class RedirectField(StrictCharField):
    """The /track redirect URL, checked by `redirect_host_allowed`."""


class TrackQuerySerializer(serializers.Serializer):
    """The /track query: a `TrackTextField` per entry of `TRACK_PARAMETERS` (in its order),
    then `redirect`."""

    redirect = RedirectField(
        required=False,
        max_length=REDIRECT_MAX_LENGTH,
        help_text=(
            "Absolute http(s) URL, without user info, whose host is in the server's "
            "TRACK_REDIRECT_ALLOWED_HOSTS (compared case-insensitively, ports ignored): answered "
            "with 302 to it, unchanged. Another URL, or a host outside that setting, is 400 "
            "validation_error with the field error code `redirect_not_allowed`; empty means not "
            "given."
        ),
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = {
            name: TrackTextField(
                report_key=parameter.report_key,
                required=parameter.required,
                allow_blank=not parameter.required,
                max_length=parameter.max_length,
                help_text=parameter.help_text,
            )
            for name, parameter in TRACK_PARAMETERS.items()
        }
        fields.update(super().get_fields())
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        redirect = attrs.get("redirect")
        if redirect is not None and not redirect_host_allowed(redirect):
            raise serializers.ValidationError(
                {
                    "redirect": [
                        ErrorDetail(
                            "Must be an absolute http(s) URL, without user info, to an allowed "
                            "host.",
                            code="redirect_not_allowed",
                        )
                    ]
                }
            )
        return attrs


class TrackResponseSerializer(serializers.Serializer):
    clickId = serializers.UUIDField(
        help_text="Send it as `clickId` with the player's first /login."
    )
