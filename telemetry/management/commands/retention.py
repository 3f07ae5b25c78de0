"""Print D1/D7/D30 retention per install cohort, for all players or per campaign."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import formats
from core.csv_export import csv_lines
from telemetry import selectors

EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)


def _day(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{option} must be a day YYYY-MM-DD, got {value!r}", returncode=2
        ) from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise CommandError(
            f"{option} must be from {EARLIEST_DAY} to {LATEST_DAY}, got {value}", returncode=2
        )
    return day


class Command(BaseCommand):
    help = (
        "D1, D7 and D30 retention per install cohort (the UTC day of the first login): the share "
        "of the cohort's players with an event on UTC day cohort + N. Empty when cohort + N is "
        "after yesterday (UTC) or --to."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="day_from", help="First cohort, YYYY-MM-DD.")
        parser.add_argument(
            "--to", dest="day_to", help="Last cohort and last day counted; default yesterday."
        )
        parser.add_argument("--by-campaign", action="store_true", help="One row per campaign.")
        parser.add_argument("--format", choices=["table", "csv"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        day_from = _day("--from", options["day_from"])
        day_to = _day("--to", options["day_to"])
        low, high, last_day = selectors.retention_window(day_from=day_from, day_to=day_to)
        if low > high:
            raise CommandError(f"--from {low} is after --to {high}", returncode=2)
        if (high - low).days >= selectors.RETENTION_MAX_DAYS:
            raise CommandError(
                f"at most {selectors.RETENTION_MAX_DAYS} cohorts at a time", returncode=2
            )
        by_campaign = options["by_campaign"]
        rows = selectors.retention(low=low, high=high, last_day=last_day, by_campaign=by_campaign)
        if options["format"] == "csv":
            lines = csv_lines(
                selectors.retention_csv_header(by_campaign=by_campaign),
                (selectors.retention_csv_row(row, by_campaign=by_campaign) for row in rows),
            )
            for line in lines:
                self.stdout.write(line, ending="")
            return
        self._table(rows, by_campaign=by_campaign, last_day=last_day)

    def _table(
        self, rows: list[selectors.RetentionRow], *, by_campaign: bool, last_day: date
    ) -> None:
        header = ["cohort", *(["media source", "campaign"] if by_campaign else []), "players"]
        header += [f"D{n}" for n in selectors.RETENTION_DAYS]
        lines = [header]
        for row in rows:
            campaign = [row.media_source, row.campaign or "(none)"] if by_campaign else []
            lines.append(
                [
                    formats.day(row.cohort),
                    *campaign,
                    formats.count(row.players),
                    *(formats.percent(row.rate(n)) for n in selectors.RETENTION_DAYS),
                ]
            )
        left = 1 + (2 if by_campaign else 0)
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            cells = [
                cell.ljust(width) if i < left else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(line, widths, strict=True))
            ]
            self.stdout.write("  ".join(cells).rstrip())
        if not rows:
            self.stdout.write("(no players joined in this range)")
        self.stdout.write(f"activity counted up to {formats.day(last_day)} (UTC)")
