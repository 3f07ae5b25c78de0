"""The all-staff audit log: Django's admin log (`LogEntry`), read-only, for every active staff
member. Every staff action of the admin is in it: changes made with forms, bans and unbans with
their reason, balance adjustments with their note and transaction."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.http import HttpRequest
from django.utils.html import format_html

from core.admin_readonly import ReadOnlyAdmin

ACTIONS = {1: "added", 2: "changed", 3: "deleted"}


def is_active_staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


class LogEntryAdmin(ReadOnlyAdmin):
    list_display = ["action_time", "user", "content_type", "changed_object", "action", "message"]
    list_filter = [
        ("user", admin.RelatedOnlyFieldListFilter),
        ("content_type", admin.RelatedOnlyFieldListFilter),
        "action_flag",
    ]
    list_select_related = ["user", "content_type"]
    search_fields = ["object_repr", "change_message"]
    search_help_text = "Object or message text."
    ordering = ["-action_time", "-id"]
    date_hierarchy = "action_time"
    show_full_result_count = False
    list_per_page = 50

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_active_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_active_staff(request)

    @admin.display(description="action", ordering="action_flag")
    def action(self, entry: LogEntry) -> str:
        return ACTIONS.get(entry.action_flag, str(entry.action_flag))

    @admin.display(description="object")
    def changed_object(self, entry: LogEntry) -> str:
        url = entry.get_admin_url() if not entry.is_deletion() else ""
        if url:
            return format_html('<a href="{}">{}</a>', url, entry.object_repr)
        return entry.object_repr

    @admin.display(description="message")
    def message(self, entry: LogEntry) -> str:
        return entry.get_change_message()


def register(site: admin.AdminSite) -> None:
    if site.is_registered(LogEntry):
        site.unregister(LogEntry)
    site.register(LogEntry, LogEntryAdmin)
