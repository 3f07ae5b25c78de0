"""The admin adjust forms' one-time token: one rendered form makes at most one adjustment.

Each render carries a hidden `form_token`: a random nonce with the staff member and the player
it was rendered for, signed with a timestamp (django.core.signing). The form accepts only a
token signed here for this staff member and player and at most ADJUST_FORM_MAX_AGE_SECONDS old;
`wallet_adjust` then records the nonce in the adjustment's own transaction, under a primary key,
so a double click or a resent POST of the same form makes no second adjustment.
"""

import secrets
from typing import Any

from django import forms
from django.core import signing

from economy.models import ADJUST_FORM_MAX_AGE_SECONDS

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
