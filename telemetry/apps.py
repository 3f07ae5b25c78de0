from django.apps import AppConfig

from core import admin_app


class TelemetryConfig(AppConfig):
    name = "telemetry"

    def ready(self) -> None:
        # A lean process (run_pipeline) signs no one in, and must not import the services.
        if not admin_app.lean_process():
            from accounts.services import player_created
            from telemetry.receivers import player_created_attribute

            player_created.connect(player_created_attribute, dispatch_uid="telemetry.attribution")
