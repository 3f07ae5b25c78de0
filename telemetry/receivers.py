"""Telemetry's receivers of other apps' signals, connected in TelemetryConfig.ready()."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telemetry.services import player_attribute_from_click

if TYPE_CHECKING:
    from accounts.models import User


def player_created_attribute(
    sender: Any, *, player: User, click_id: str | None, **kwargs: Any
) -> None:
    """A player's first login came with a clickId: attribute the install to that click."""
    if click_id:
        player_attribute_from_click(player=player, click_id=click_id)
