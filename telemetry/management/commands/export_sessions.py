"""Write the analytics pipeline's `sessions` input from `session_start` events of one UTC day."""

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telemetry.exports import sessions_csv_write


class Command(BaseCommand):
    help = (
        "Export session_start events of a UTC day, with each player's attribution, as the "
        "pipeline's sessions CSV (user_id, session_start, session_end, media_source, campaign)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="UTC day, YYYY-MM-DD.")
        parser.add_argument("--out", help="Output file (written atomically); default stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = date.fromisoformat(options["date"])
        except ValueError:
            raise CommandError(f"--date must be YYYY-MM-DD, got {options['date']!r}") from None
        if options["out"]:
            rows = sessions_csv_write(day=day, path=Path(options["out"]))
            self.stderr.write(f"wrote {rows} sessions of {day} to {options['out']}")
        else:
            # csv writes whole lines, so the wrapper's line ending never adds one.
            sessions_csv_write(day=day, stream=self.stdout)  # type: ignore[arg-type]
