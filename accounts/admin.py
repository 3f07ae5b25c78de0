"""Players in the admin, as far as the accounts app goes: find a player, ban or unban with a
reason.

Bans go through the services (`player_ban`, `player_unban`), never through a model form, so a ban
always revokes refresh tokens. Every action is recorded in Django's admin log. The player page's
game panels (balances, ledger, events, attribution) and the balance adjustment are added by
`liveops.players`, which subclasses `PlayerAdmin` and registers it in its place. A ban or unban
also writes a BanRecord in the service's transaction, listed read-only on the player page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from accounts import services
from accounts.models import BanRecord, User
from core.admin_pagination import CappedCountPaginator


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required. Kept on the player and in the admin log.",
    )


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("banned", "banned")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() == "active":
            return queryset.filter(is_active=True)
        if self.value() == "banned":
            return queryset.filter(is_active=False)
        return queryset


class BanRecordInline(admin.TabularInline):
    """The player's bans and unbans, newest first: written only by the services, read-only here."""

    model = BanRecord
    fk_name = "player"
    fields = ["created_at", "action", "reason", "actor"]
    readonly_fields = ["created_at", "action", "reason", "actor"]
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[BanRecord]:
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class PlayerAdmin(UserAdmin):
    inlines = [BanRecordInline]
    list_display = [
        "username",
        "status",
        "is_staff",
        "date_joined",
        "last_login",
        "banned_at",
    ]
    list_filter = [StatusFilter, "is_staff", "groups"]
    search_fields = ["username__exact", "username__startswith", "email__iexact"]
    search_help_text = "userId (exact or prefix) or e-mail."
    # The ban fields change only through the ban/unban actions (which revoke tokens).
    readonly_fields = [
        "is_active",
        "banned_at",
        "ban_reason",
        "locked_until",
        "date_joined",
        "last_login",
    ]
    fieldsets = [
        *(UserAdmin.fieldsets or ()),
        ("Ban and lockout", {"fields": ["banned_at", "ban_reason", "locked_until"]}),
    ]
    ordering = ["-date_joined", "-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    actions = ["ban_players", "unban_players"]
    change_form_template = "admin/accounts/user/change_form.html"

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # View only: the password's "Set password" button leads to a page this staff member
        # may not open (403), so the field is not shown at all.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return list(self.inlines) if obj is not None else []  # no ban records on the add page

    # --- list columns -------------------------------------------------------------------------

    @admin.display(description="status", ordering="is_active")
    def status(self, user: User) -> str:
        return "active" if user.is_active else "banned"

    # --- permissions --------------------------------------------------------------------------

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.ban_player")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # Deleting an account would delete its ledger history; banning is the way out.
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # --- the detail page ----------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        player = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if player is not None and self.has_view_or_change_permission(request, player):
            context.update(self._player_context(request, player))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _player_context(self, request: HttpRequest, player: User) -> dict[str, Any]:
        return {"player": player, "can_ban": self.has_ban_permission(request)}

    # --- ban and unban ------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/ban/", wrap(self.ban_view), name="accounts_user_ban"),
            path("<path:object_id>/unban/", wrap(self.unban_view), name="accounts_user_unban"),
            *super().get_urls(),
        ]

    @admin.action(description="Ban selected players (asks for a reason)")
    def ban_players(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._bulk_ban(request, queryset, ban=True)

    @admin.action(description="Unban selected players (asks for a reason)")
    def unban_players(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._bulk_ban(request, queryset, ban=False)

    def _bulk_ban(
        self, request: HttpRequest, queryset: QuerySet[User], *, ban: bool
    ) -> HttpResponse | None:
        if not self.has_ban_permission(request):
            raise PermissionDenied
        players = list(queryset.filter(is_active=ban).order_by("username")[:500])
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for player in players:
                self._apply_ban(request, player, ban=ban, reason=form.cleaned_data["reason"])
            verb = "Banned" if ban else "Unbanned"
            self.message_user(request, f"{verb} {len(players)} player(s).", messages.SUCCESS)
            return None  # back to the list
        return self._reason_page(request, players=players, form=form, ban=ban, bulk=True)

    def ban_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._single_ban(request, object_id, ban=True)

    def unban_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._single_ban(request, object_id, ban=False)

    def _single_ban(self, request: HttpRequest, object_id: str, *, ban: bool) -> HttpResponse:
        if not self.has_ban_permission(request):
            raise PermissionDenied
        player = get_object_or_404(User, pk=object_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if player.is_active == ban:
                self._apply_ban(request, player, ban=ban, reason=form.cleaned_data["reason"])
                verb = "Banned" if ban else "Unbanned"
                self.message_user(request, f"{verb} {player}.", messages.SUCCESS)
            else:
                state = "banned" if ban else "active"
                self.message_user(request, f"{player} is already {state}.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[player.pk]))
        return self._reason_page(request, players=[player], form=form, ban=ban, bulk=False)

    def _apply_ban(self, request: HttpRequest, player: User, *, ban: bool, reason: str) -> None:
        actor: User = request.user  # type: ignore[assignment]  # only staff reach the admin
        if ban:
            services.player_ban(player=player, reason=reason, actor=actor)
            self.log_change(request, player, f"Banned: {reason}")
        else:
            services.player_unban(player=player, reason=reason, actor=actor)
            self.log_change(request, player, f"Unbanned: {reason}")

    def _reason_page(
        self,
        request: HttpRequest,
        *,
        players: list[User],
        form: ReasonForm,
        ban: bool,
        bulk: bool,
    ) -> HttpResponse:
        verb = "Ban" if ban else "Unban"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{verb} {players[0] if len(players) == 1 else f'{len(players)} players'}",
            "verb": verb,
            "players": players,
            "form": form,
            "bulk": bulk,
            "action": "ban_players" if ban else "unban_players",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/user/ban_reason.html", context)
