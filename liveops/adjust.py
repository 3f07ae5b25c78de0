"""The balance-adjust flow of the live-ops admin, written once: one form and one view, used from
the player page (`admin:accounts_user_adjust`) and from the wallet page
(`admin:economy_wallet_adjust`). The adjustment itself is `economy.services.wallet_adjust` (one
ledger entry of kind adjustment, with the staff member as actor and their note).

One rendered form makes at most one adjustment. Each render carries a hidden `form_token`: a
random nonce with the staff member and the player it was rendered for, signed with a timestamp
(django.core.signing). The form accepts only a token signed here for this staff member and player
and at most the economy's adjust-form age old; `wallet_adjust` then records the nonce in the
adjustment's own transaction, under a primary key, so a double click or a resent POST of the same
form makes no second adjustment.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.middleware import request_id_of
from core.problems import Problem, problem_message
from economy import selectors as economy_selectors
from economy import services as economy_services

if TYPE_CHECKING:
    from accounts.models import User

MAX_BALANCE, ADJUST_FORM_MAX_AGE_SECONDS = economy_selectors.adjust_limits()
SALT = "economy.adjust-form"
STALE_FORM_MESSAGE = (
    "This form has no valid one-time token (it is older than 12 hours, or was not made by this "
    "page); nothing was changed. Open the adjust form again."
)


def adjust_token_issue(*, actor_pk: int | None, player_pk: int) -> str:
    payload = {"n": secrets.token_urlsafe(24), "a": actor_pk, "p": player_pk}
    return signing.dumps(payload, salt=SALT)


def adjust_token_nonce(token: str, *, actor_pk: int | None, player_pk: int) -> str | None:
    """The nonce of a valid token for this staff member and player, else None."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=ADJUST_FORM_MAX_AGE_SECONDS)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if not isinstance(payload, dict) or (payload.get("a"), payload.get("p")) != (
        actor_pk,
        player_pk,
    ):
        return None
    nonce = payload.get("n")
    return nonce if isinstance(nonce, str) and nonce else None


class OneTimeAdjustForm(forms.Form):
    """Base of the adjust forms: a fresh token on every unbound render, checked on submit."""

    form_token = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, actor_pk: int | None, player_pk: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._actor_pk = actor_pk
        self._player_pk = player_pk
        if not self.is_bound:
            self.initial["form_token"] = adjust_token_issue(actor_pk=actor_pk, player_pk=player_pk)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        nonce = adjust_token_nonce(
            cleaned.get("form_token") or "", actor_pk=self._actor_pk, player_pk=self._player_pk
        )
        if nonce is None:
            raise forms.ValidationError(STALE_FORM_MESSAGE, code="form_token")
        cleaned["form_nonce"] = nonce
        return cleaned


class AdjustForm(OneTimeAdjustForm):
    currency = forms.ModelChoiceField(queryset=economy_selectors.currencies(), to_field_name="code")
    amount = forms.IntegerField(
        min_value=-MAX_BALANCE,
        max_value=MAX_BALANCE,
        help_text="Signed: negative takes away. Refused, never clamped, when it does not fit.",
    )
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required: why. Kept on the ledger entry and in the admin log.",
    )

    def clean_amount(self) -> int:
        amount = int(self.cleaned_data["amount"])
        if amount == 0:
            raise forms.ValidationError("An adjustment of 0 changes nothing.")
        return amount


def adjust_view(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    player: User,
    target: Model,
    currency_code: str,
) -> HttpResponse:
    """The adjust page of `target` (the player, or one of their wallets): on success the change is
    logged on `target` and the staff member goes back to its change page."""
    if not request.user.has_perm("economy.adjust_wallet"):
        raise PermissionDenied
    form = AdjustForm(
        request.POST or None,
        initial={"currency": currency_code},
        actor_pk=request.user.pk,
        player_pk=player.pk,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = economy_services.wallet_adjust(
                player=player,
                currency=data["currency"],
                amount=data["amount"],
                note=data["note"],
                actor=request.user,  # type: ignore[arg-type]
                request_id=request_id_of(request),
                form_nonce=data["form_nonce"],
            )
        except Problem as exc:
            form.add_error(None, problem_message(exc))
        else:
            message = (
                f"Adjusted {data['currency'].code} by {entry.amount:+d} to "
                f"{entry.balance_after} (transaction {entry.transaction_id}): {entry.note}"
            )
            model_admin.log_change(request, target, message)
            model_admin.message_user(request, message, messages.SUCCESS)
            opts = model_admin.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[target.pk])
            )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Adjust a balance of {player}",
        "player": player,
        "target": target,
        "balances": economy_selectors.currencies_with_balances(player=player),
        "form": form,
    }
    return TemplateResponse(request, "admin/liveops/adjust_balance.html", context)
