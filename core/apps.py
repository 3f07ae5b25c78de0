from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel as an app: the throttle counters' model and its prune command, the system
    checks and the ReDoc template.

    Its label stays ``gamebackend``, the label it had before the kernel moved out of the config
    package, so existing databases keep their table (``gamebackend_throttlecounter``) and their
    migration history.
    """

    name = "core"
    label = "gamebackend"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import checks  # noqa: F401 (registers the system checks)
