"""The player page and the wallet page of the live-ops admin, composed from the apps.

`PlayerAdmin` (accounts: list, filters, ban/unban) gets the game panels (balances, latest ledger
entries, latest events, attribution), the attribution columns and filter, and the balance
adjustment; `WalletAdmin` (economy) gets the same adjustment. Reads go through
`economy.selectors` and `telemetry.selectors`, the adjustment through `economy.services`
(`liveops.adjust`). Both replace the apps' registrations on the admin site.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.html import format_html

from accounts.admin import PlayerAdmin
from economy import selectors as economy_selectors
from economy.admin import WalletAdmin
from liveops.adjust import adjust_view
from telemetry import selectors as telemetry_selectors

if TYPE_CHECKING:
    from accounts.models import User
    from economy.models import Wallet

LATEST_ROWS = 20
MEDIA_SOURCE_CHOICES = 100
CAMPAIGN_CHOICES = 200


class MediaSourceFilter(admin.SimpleListFilter):
    """Attribution of the player's install; choices come from the (indexed) attribution table."""

    title = "attribution (media source)"
    parameter_name = "media_source"
    NONE = "__none__"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        sources = telemetry_selectors.attribution_media_sources(limit=MEDIA_SOURCE_CHOICES)
        return [*((source, source) for source in sources), (self.NONE, "not attributed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        value = self.value()
        if not value:
            return queryset
        return telemetry_selectors.players_by_media_source(
            players=queryset, media_source=None if value == self.NONE else value
        )


def campaign_key(media_source: str, campaign: str) -> str:
    """The players list's `?campaign=` value (the report pages' `media_source|campaign`)."""
    return f"{media_source}|{campaign}"


class CampaignFilter(admin.SimpleListFilter):
    """The campaign of the player's install (of the chosen media source, when one is)."""

    title = "attribution (campaign)"
    parameter_name = "campaign"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        source = request.GET.get(MediaSourceFilter.parameter_name)
        pairs = telemetry_selectors.attribution_campaigns(
            limit=CAMPAIGN_CHOICES,
            media_source=None if source in (None, "", MediaSourceFilter.NONE) else source,
        )
        return [
            (campaign_key(source, campaign), f"{source} / {campaign or '(none)'}")
            for source, campaign in pairs
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        value = self.value()
        if not value:
            return queryset
        media_source, _, campaign = value.partition("|")
        return telemetry_selectors.players_by_campaign(
            players=queryset, media_source=media_source, campaign=campaign
        )


class LiveOpsPlayerAdmin(PlayerAdmin):
    list_display = [
        "username",
        "status",
        "is_staff",
        "media_source",
        "campaign",
        "date_joined",
        "last_login",
        "banned_at",
    ]
    list_filter = [
        *PlayerAdmin.list_filter[:2],
        MediaSourceFilter,
        CampaignFilter,
        *PlayerAdmin.list_filter[2:],
    ]
    list_select_related = ["attribution"]

    @admin.display(description="media source")
    def media_source(self, user: User) -> str:
        attribution = telemetry_selectors.player_attribution(player=user)
        return attribution.media_source if attribution else "-"

    @admin.display(description="campaign")
    def campaign(self, user: User) -> str:
        """The campaign, linked to the list of its players."""
        attribution = telemetry_selectors.player_attribution(player=user)
        if attribution is None:
            return "-"
        key = campaign_key(attribution.media_source, attribution.campaign)
        return format_html(
            '<a href="?{}" title="players of this campaign">{}</a>',
            urlencode({CampaignFilter.parameter_name: key}),
            attribution.campaign or "(none)",
        )

    def _player_context(self, request: HttpRequest, player: User) -> dict[str, Any]:
        perms = request.user
        page = economy_selectors.ledger_entries_page(
            player=player, currency=None, limit=LATEST_ROWS, cursor=None
        )
        return {
            **super()._player_context(request, player),
            "balances": economy_selectors.currencies_with_balances(player=player),
            "ledger_entries": page.entries,
            "ledger_has_more": page.next_cursor is not None,
            "events": list(telemetry_selectors.events_recent(player=player, limit=LATEST_ROWS)),
            "attribution": telemetry_selectors.player_attribution(player=player),
            "can_adjust": perms.has_perm("economy.adjust_wallet"),
            "can_view_ledger": perms.has_perm("economy.view_ledgerentry"),
            "can_view_events": perms.has_perm("telemetry.view_event"),
        }

    def get_urls(self) -> list[URLPattern]:
        adjust = path(
            "<path:object_id>/adjust-balance/",
            self.admin_site.admin_view(self.adjust_view),
            name="accounts_user_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("economy.adjust_wallet"):
            raise PermissionDenied
        player = self.get_object(request, object_id)
        if player is None:
            raise Http404
        return adjust_view(self, request, player=player, target=player, currency_code="coins")


class LiveOpsWalletAdmin(WalletAdmin):
    def get_urls(self) -> list[URLPattern]:
        adjust = path(
            "<path:object_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="economy_wallet_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        wallet: Wallet | None = self.get_object(request, object_id)
        if wallet is None:
            raise Http404
        return adjust_view(
            self,
            request,
            player=wallet.player,
            target=wallet,
            currency_code=wallet.currency.code,
        )


def register(site: admin.AdminSite) -> None:
    """Put the composed pages in place of the apps' own registrations."""
    pages = (
        (get_user_model(), LiveOpsPlayerAdmin),
        (apps.get_model("economy", "Wallet"), LiveOpsWalletAdmin),
    )
    for model, model_admin in pages:
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
