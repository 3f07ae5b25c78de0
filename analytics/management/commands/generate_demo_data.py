"""`manage.py generate_demo_data`: synthetic pipeline inputs (see analytics.demo)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.demo import generate_demo_data


class Command(BaseCommand):
    help = "Write realistic synthetic pipeline inputs (AppsFlyer, gateway, costs, sessions)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--purchases", type=int, required=True, help="AppsFlyer purchases")
        parser.add_argument("--days", type=int, required=True, help="days of data")
        parser.add_argument("--seed", type=int, required=True, help="random seed")
        parser.add_argument(
            "--end-date", type=date.fromisoformat, help="last day (default: yesterday UTC)"
        )
        parser.add_argument("--campaigns", type=int, default=200)
        parser.add_argument("--out", type=Path, help="output dir (default: DATA_DIR)")
        parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
        parser.add_argument(
            "--users", type=int, help="distinct players (default: a third of the purchases)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = options["out"] or Path(settings.DATA_DIR)
        try:
            counts = generate_demo_data(
                out,
                purchases=options["purchases"],
                days=options["days"],
                seed=options["seed"],
                end_date=options["end_date"],
                campaigns=options["campaigns"],
                fmt=options["format"],
                users=options["users"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        for name, rows in counts.items():
            self.stdout.write(f"{name}: {rows} rows")
        self.stdout.write(self.style.SUCCESS(f"demo data written to {out}"))
