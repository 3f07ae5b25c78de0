from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from economy.services import idempotency_records_prune


class Command(BaseCommand):
    help = (
        "Delete stored idempotent responses older than IDEMPOTENCY_TTL_HOURS. "
        "Safe to run from cron while the API serves."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = idempotency_records_prune()
        self.stdout.write(
            f"deleted {deleted} idempotency record(s) older than {settings.IDEMPOTENCY_TTL_HOURS} h"
        )
