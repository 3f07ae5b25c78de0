"""The admin base for rows only the application writes (ledger, events, pipeline reports)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable with the view permission; no one adds, changes or deletes, superusers included."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SaveOnlyWhatCanChange(admin.ModelAdmin):
    """A change page whose every field is read-only (for this staff member) shows no Save
    buttons: there would be nothing to save."""

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        adminform = context.get("adminform")
        if change and adminform is not None and not adminform.form.fields:
            context.update(
                show_save=False, show_save_and_continue=False, show_save_and_add_another=False
            )
        return super().render_change_form(request, context, add, change, form_url, obj)
