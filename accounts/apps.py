from django.apps import AppConfig

# The module, not the class: an AppConfig class in this module's namespace would count as one
# more candidate for the "accounts" entry of INSTALLED_APPS.
from gamebackend import admin_app


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        if not admin_app.lean_process():
            from accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)


class StaffAdminConfig(admin_app.AdminConfig):
    """Installed instead of django.contrib.admin, so `admin.site` is the StaffAdminSite
    (login form under the account lockout and a per-IP throttle); its autodiscovery is skipped
    in a lean process like the project's admin app."""

    default = False  # "accounts" in INSTALLED_APPS still means AccountsConfig
    default_site = "accounts.admin_site.StaffAdminSite"
