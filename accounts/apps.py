from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)


class StaffAdminConfig(admin_apps.AdminConfig):
    """Installed instead of django.contrib.admin, so `admin.site` is the StaffAdminSite
    (login form under the account lockout and a per-IP throttle)."""

    default = False  # "accounts" in INSTALLED_APPS still means AccountsConfig
    default_site = "accounts.admin_site.StaffAdminSite"
