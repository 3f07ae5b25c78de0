"""Changelist columns: numbers printed with `core.formats`, and the player as a link.

`number_column("cost_usd", formats.money)` is a ModelAdmin display function for the field
`cost_usd`: "1,234.50" in a right-aligned, tabular-figure cell, sorted by the field.

`PlayerLinks` makes a list's `player` column a link to the player page, for staff who may open
that page (others see the userId as text, not a link to a 403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.urls import reverse
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


class PlayerLinks:
    """ModelAdmin mixin for a model with a `player` foreign key shown in its list: the column
    links to the player's page when the staff member may view players. Put `player` in
    `list_select_related`; a list whose first column is `player` names its row link in
    `list_display_links`."""

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))  # type: ignore[misc]
        opts = get_user_model()._meta
        may_view = request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}")
        if "player" in columns and may_view:
            columns[columns.index("player")] = "player_link"
        return columns

    def get_list_display_links(self, request: HttpRequest, list_display: Any) -> Any:
        links = super().get_list_display_links(request, list_display)  # type: ignore[misc]
        return [link for link in links if link != "player_link"] if links else links

    @admin.display(description="player", ordering="player__username")
    def player_link(self, obj: Any) -> SafeString:
        opts = get_user_model()._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.player_id])
        return format_html('<a href="{}">{}</a>', url, obj.player)
