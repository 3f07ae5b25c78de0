"""Live-ops admin: currencies and earn rules are editable; wallets change only through the
"Adjust balance" form (a ledger entry of kind adjustment); the ledger is read-only for all."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from core.admin_readonly import ReadOnlyAdmin
from core.middleware import request_id_of
from core.problems import Problem, problem_message
from economy import services
from economy.adjust_forms import OneTimeAdjustForm
from economy.models import MAX_BALANCE, Currency, EarnRule, LedgerEntry, Wallet


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


class WalletAdjustForm(OneTimeAdjustForm):
    amount = forms.IntegerField(
        min_value=-MAX_BALANCE,
        max_value=MAX_BALANCE,
        help_text="Signed: negative takes away. Refused, never clamped, when it does not fit.",
    )
    currency = forms.ModelChoiceField(queryset=Currency.objects.all(), to_field_name="code")
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Why: shown in the audit trail.",
    )

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("An adjustment of 0 changes nothing.")
        return int(amount)


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ["player", "currency", "balance", "updated_at"]
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

    def get_urls(self) -> list[URLPattern]:
        adjust = path(
            "<path:object_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="economy_wallet_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        wallet = get_object_or_404(
            Wallet.objects.select_related("player", "currency"), pk=object_id
        )
        if not request.user.has_perm("economy.adjust_wallet"):
            raise PermissionDenied
        form = WalletAdjustForm(
            request.POST or None,
            initial={"currency": wallet.currency.code},
            actor_pk=request.user.pk,
            player_pk=wallet.player_id,
        )
        if request.method == "POST" and form.is_valid():
            adjusted = self._adjust(request, wallet, form)
            if adjusted is not None:
                return HttpResponseRedirect(
                    reverse("admin:economy_wallet_change", args=[adjusted.wallet_id])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Adjust the balance of {wallet.player}",
            "wallet": wallet,
            "form": form,
        }
        return TemplateResponse(request, "admin/economy/wallet/adjust.html", context)

    def _adjust(
        self, request: HttpRequest, wallet: Wallet, form: WalletAdjustForm
    ) -> LedgerEntry | None:
        data = form.cleaned_data
        try:
            entry = services.wallet_adjust(
                player=wallet.player,
                currency=data["currency"],
                amount=data["amount"],
                note=data["note"],
                actor=request.user,  # type: ignore[arg-type]
                request_id=request_id_of(request),
                form_nonce=data["form_nonce"],
            )
        except Problem as exc:
            form.add_error(None, problem_message(exc))
            return None
        message = (
            f"Adjusted {entry.wallet.currency.code} by {entry.amount:+d} to {entry.balance_after} "
            f"(transaction {entry.transaction_id}): {entry.note}"
        )
        self.log_change(request, entry.wallet, message)
        self.message_user(request, message, messages.SUCCESS)
        return entry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
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
    ]
    list_filter = ["kind", "wallet__currency"]
    list_select_related = ["player", "wallet__currency", "actor"]
    search_fields = ["transaction_id__exact", "player__username__exact", "idempotency_key__exact"]
    show_full_result_count = False
    ordering = ["-created_at", "-id"]

    @admin.display(description="currency")
    def currency(self, entry: LedgerEntry) -> str:
        return entry.wallet.currency.code
