"""Serializer fields with the contract's strict JSON typing (no coercion of strings or floats)."""

from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`; fractional seconds (6 digits) only when there are any."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class StrictCharField(serializers.CharField):
    """A JSON string only (numbers are not turned into text), never trimmed."""

    default_error_messages = {"invalid": "Must be a JSON string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: `"10"`, `10.0`, `1.5` and booleans are refused."""

    default_error_messages = {"invalid": "Must be a JSON integer."}

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            self.fail("invalid")
        return int(super().to_internal_value(data))
