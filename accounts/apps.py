from django.apps import AppConfig

from core import admin_app


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        if not admin_app.lean_process():
            from accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)
