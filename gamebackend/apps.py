from django.apps import AppConfig


class GamebackendConfig(AppConfig):
    """The project package as an app: cross-cutting models (throttle counters) and commands."""

    name = "gamebackend"

    def ready(self) -> None:
        from gamebackend import checks  # noqa: F401 (registers the system checks)
