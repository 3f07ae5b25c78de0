"""Changelist columns for numbers: printed with `core.formats`, right-aligned, sortable.

`number_column("cost_usd", formats.money)` is a ModelAdmin display function for the field
`cost_usd`: "1,234.50" in a right-aligned, tabular-figure cell, sorted by the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

NUMBER_STYLE = "display:block;text-align:right;font-variant-numeric:tabular-nums"


def number_cell(text: str) -> SafeString:
    return format_html('<span class="num" style="{}">{}</span>', NUMBER_STYLE, text)


def number_column(
    field: str, formatter: Callable[[Any], str], *, description: str | None = None
) -> Callable[[Any, Any], SafeString]:
    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(model_admin: Any, obj: Any) -> SafeString:
        value = getattr(obj, field)
        return number_cell(formatter(value) if value is not None else "-")

    column.__name__ = f"{field}_column"
    return column
