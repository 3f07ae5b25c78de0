"""Delete throttle counters whose window ended long ago (safe for cron while the API serves)."""

import time

from django.core.management.base import BaseCommand

from core.models import ThrottleCounter


class Command(BaseCommand):
    help = "Delete throttle counters not used for --older-than-hours (default 24)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-hours", type=int, default=24)

    def handle(self, *args, older_than_hours: int, **options):
        cutoff = int(time.time()) - older_than_hours * 3600
        deleted, _ = ThrottleCounter.objects.filter(window_start__lt=cutoff).delete()
        self.stdout.write(f"deleted {deleted} throttle counters")
