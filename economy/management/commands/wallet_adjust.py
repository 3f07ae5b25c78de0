from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.problems import InvalidInput, Problem
from economy import services
from economy.models import DEFAULT_CURRENCY_CODE, Currency


class Command(BaseCommand):
    help = "Adjust a player's balance as a staff member; written to the ledger as an adjustment."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The player's userId.")
        parser.add_argument(
            "--amount", required=True, type=int, help="Signed; negative takes away."
        )
        parser.add_argument("--note", required=True, help="Why (kept in the ledger).")
        parser.add_argument("--currency", default=DEFAULT_CURRENCY_CODE)
        parser.add_argument("--actor", required=True, help="userId of the staff member.")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        player = users.filter(username=options["user"]).first()
        if player is None:
            raise CommandError(f"No user {options['user']!r}.")
        actor = users.filter(username=options["actor"]).first()
        if actor is None:
            raise CommandError(f"No user {options['actor']!r}.")
        currency = Currency.objects.filter(code=options["currency"]).first()
        if currency is None:
            raise CommandError(f"Unknown currency {options['currency']!r}.")
        try:
            entry = services.wallet_adjust(
                player=player,
                currency=currency,
                amount=options["amount"],
                note=options["note"],
                actor=actor,
                request_id="",  # a command serves no request
            )
        except InvalidInput as exc:
            raise CommandError(
                "; ".join(
                    f"{field}: {message}"
                    for field, messages in exc.errors.items()
                    for message in messages
                )
            ) from None
        except Problem as exc:
            raise CommandError(f"{exc.default_code}: {exc.detail}") from None
        self.stdout.write(
            f"{player.username} {currency.code} {entry.amount:+d} -> {entry.balance_after} "
            f"(transaction {entry.transaction_id})"
        )
