"""Threads racing on one wallet in a file-based SQLite database (run by test_sqlite_race.py).

pytest-django's SQLite test database lives in memory with a shared cache, whose locking is
not the one production uses; so this runs in its own process on a real database file, with
the project's settings (WAL, BEGIN IMMEDIATE). Prints `balance expected entries spent`.
"""

import os
import sys
import threading

import django


def main(threads: int, earns: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gamebackend.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from economy.errors import InsufficientFunds
    from economy.models import Currency, LedgerEntry, Wallet
    from economy.services import wallet_earn, wallet_spend

    call_command("migrate", verbosity=0)
    player = User.objects.create(username="sqlite_race")
    coins = Currency.objects.get(code="coins")
    barrier = threading.Barrier(threads)
    errors: list[str] = []
    spends: list[int] = []

    def work() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(earns):
                wallet_earn(player=player, currency=coins, amount=7, reason="race", request_id="")
            try:
                wallet_spend(
                    player=player, currency=coins, amount=100, reason="race", request_id=""
                )
                spends.append(1)
            except InsufficientFunds:
                pass
        except Exception as exc:  # reported to the test through the exit status
            errors.append(repr(exc))
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        sys.exit(f"errors: {errors[:3]}")
    balance = Wallet.objects.get(player=player).balance
    expected = threads * earns * 7 - 100 * len(spends)
    print(balance, expected, LedgerEntry.objects.count(), len(spends))
    call_command("ledger_verify")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
