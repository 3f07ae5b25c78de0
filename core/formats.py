"""How the admin prints numbers and days: one format for each kind of value, on every page.

Money has two decimals and thousands separators, ratios (ROAS) four significant decimals at
most, rates (match rate, retention) are percentages with one decimal, ARPDAU four decimals,
days are ISO dates and moments are UTC to the minute. A missing value prints as an empty string;
templates decide what stands in for it. Rounding is half-even, as Python's format() does.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

Number = Decimal | float | int


def money(value: Number | None) -> str:
    """1234.5 → "1,234.50" (USD amounts; the column header names the currency)."""
    return "" if value is None else f"{value:,.2f}"


def ratio(value: Number | None) -> str:
    """ROAS and other ratios: 1.23456 → "1.2346"."""
    return "" if value is None else f"{value:,.4f}"


def arpdau(value: Number | None) -> str:
    """Revenue per daily active user: 0.123456789 → "0.1235"."""
    return "" if value is None else f"{value:,.4f}"


def percent(value: Number | None) -> str:
    """A rate between 0 and 1: 0.9247 → "92.5%"."""
    return "" if value is None else f"{value * 100:,.1f}%"


def count(value: int | None) -> str:
    """201800 → "201,800"."""
    return "" if value is None else f"{value:,}"


def day(value: datetime.date | None) -> str:
    """A UTC day: "2026-12-03"."""
    return "" if value is None else value.isoformat()


def moment(value: datetime.datetime | None) -> str:
    """An instant, shown in UTC to the minute: "2026-12-03 08:20 UTC"."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")
