from django.apps import AppConfig

# The module, not the class: an AppConfig class in this module's namespace would count as one
# more candidate for the "liveops" entry of INSTALLED_APPS.
from core import admin_app


class LiveOpsConfig(AppConfig):
    """The live-ops pages that compose the apps: the admin's home, the reports, the player page
    and the balance-adjust flow. It owns no models; it reads through the apps' selectors and
    writes through their services."""

    name = "liveops"
    verbose_name = "Live-ops"


class LiveOpsAdminConfig(admin_app.AdminConfig):
    """Installed instead of django.contrib.admin, so `admin.site` is the LiveOpsAdminSite
    (login form under the account lockout and a per-IP throttle); its autodiscovery is skipped
    in a lean process like the project's admin app."""

    default = False  # "liveops" in INSTALLED_APPS still means LiveOpsConfig
    default_site = "liveops.site.LiveOpsAdminSite"
