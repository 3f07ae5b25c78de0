from django.db import models


class ThrottleCounter(models.Model):
    """Requests counted for one throttle key (scope + player or IP) in its current window.

    One row per key, reused from window to window, updated by a single upsert statement, so every
    gunicorn worker and every server sees the same count.
    """

    scope_key = models.CharField(max_length=200, primary_key=True)
    window_start = models.BigIntegerField(help_text="Start of the current window, epoch seconds.")
    hits = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["window_start"], name="throttle_window_start_idx")]

    def __str__(self) -> str:
        return f"{self.scope_key}: {self.hits} since {self.window_start}"
