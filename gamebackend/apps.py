from django.apps import AppConfig


class GamebackendConfig(AppConfig):
    """The project package as an app: cross-cutting models (throttle counters) and commands."""

    name = "gamebackend"
