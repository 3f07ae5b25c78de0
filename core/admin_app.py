"""The admin app, with its autodiscovery skipped in processes that serve no HTTP."""

import os

from django.contrib.admin import apps


def lean_process() -> bool:
    """True in a process that serves no HTTP (``GAMEBACKEND_LEAN=1``; manage.py sets it for
    ``run_pipeline``, which starts on every cron run): it skips what only the web app needs at
    start-up, the admin's autodiscovery (every app's admin module, and through them the
    services, DRF and the charts) and the OpenAPI extensions (drf-spectacular)."""
    return os.environ.get("GAMEBACKEND_LEAN") == "1"


class AdminConfig(apps.AdminConfig):
    """``django.contrib.admin``, without autodiscovery in a `lean_process`."""

    def ready(self) -> None:
        if lean_process():
            apps.SimpleAdminConfig.ready(self)
        else:
            super().ready()
