from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class PlayerAdmin(UserAdmin):
    list_display = ["username", "is_staff", "is_active", "banned_at", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_active", "groups"]
    search_fields = ["username__exact", "username__startswith", "email"]
    readonly_fields = ["banned_at", "ban_reason", "locked_until", "date_joined", "last_login"]
    fieldsets = [
        *(UserAdmin.fieldsets or ()),
        ("Ban and lockout", {"fields": ["banned_at", "ban_reason", "locked_until"]}),
    ]
    show_full_result_count = False
