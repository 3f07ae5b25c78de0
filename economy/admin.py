"""Live-ops admin: currencies and earn rules are editable; wallets change only through the
"Adjust balance" form (a ledger entry of kind adjustment; the form is `liveops.adjust`, added to
the wallet page by `liveops.players`); the ledger is read-only for all."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin_columns import PlayerLinks
from core.admin_readonly import ReadOnlyAdmin, SaveOnlyWhatCanChange
from economy.models import Currency, EarnRule, LedgerEntry, Wallet


@admin.register(Currency)
class CurrencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "max_balance", "created_at"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Clients send the code: renaming it would break every client that knows it.
        return ["code", "created_at"] if obj is not None else ["created_at"]


@admin.register(EarnRule)
class EarnRuleAdmin(admin.ModelAdmin):
    list_display = ["reason", "currency", "max_per_grant", "max_per_day"]
    list_editable = ["max_per_grant", "max_per_day"]
    list_filter = ["currency"]
    search_fields = ["reason"]


@admin.register(Wallet)
class WalletAdmin(PlayerLinks, SaveOnlyWhatCanChange):
    list_display = ["player", "currency", "balance", "updated_at"]
    list_display_links = ["balance"]  # the player column links to the player
    list_filter = ["currency"]
    list_select_related = ["player", "currency"]
    search_fields = ["player__username__exact"]
    readonly_fields = ["player", "currency", "balance", "created_at", "updated_at", "ledger"]
    show_full_result_count = False
    change_form_template = "admin/economy/wallet/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # wallets are created by the first grant

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Ledger")
    def ledger(self, wallet: Wallet) -> str:
        url = reverse("admin:economy_ledgerentry_changelist") + f"?wallet__id__exact={wallet.pk}"
        return format_html('<a href="{}">Ledger entries of this wallet</a>', url)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(PlayerLinks, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "transaction_id",
        "player",
        "currency",
        "kind",
        "amount",
        "balance_after",
        "reason",
        "actor",
        "note",
    ]
    list_filter = ["kind", "wallet__currency"]
    list_select_related = ["player", "wallet__currency", "actor"]
    search_fields = ["transaction_id__exact", "player__username__exact", "idempotency_key__exact"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # counting per choice scans the ledger
    ordering = ["-created_at", "-id"]

    @admin.display(description="currency")
    def currency(self, entry: LedgerEntry) -> str:
        return entry.wallet.currency.code
