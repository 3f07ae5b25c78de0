from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from gamebackend.admin_app import lean_process

        if not lean_process():
            from accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)
