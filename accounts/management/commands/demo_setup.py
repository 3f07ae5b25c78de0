"""Create the demo accounts (a player and a staff member); for the demo and laptops only."""

import secrets

from django.core.management.base import BaseCommand, CommandError

from accounts import services


class Command(BaseCommand):
    help = "Create the demo player and a staff superuser with a fresh password (printed)."

    def add_arguments(self, parser):
        parser.add_argument("--player", default="player_001")
        parser.add_argument("--staff", default="admin")

    def handle(self, *args, player: str, staff: str, **options):
        from django.conf import settings

        if not settings.DEBUG:
            raise CommandError("demo_setup prints a password and is for DEBUG (demo) setups only")
        password = secrets.token_urlsafe(12)
        summary = services.demo_accounts_create(
            player_id=player, staff_username=staff, staff_password=password
        )
        self.stdout.write(f"demo player: {summary.player_id} (login with just the userId)")
        self.stdout.write(f"staff:       {summary.staff_username} / {password}  (admin at /admin/)")
