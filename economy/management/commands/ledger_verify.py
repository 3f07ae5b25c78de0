from typing import Any

from django.core.management.base import BaseCommand, CommandError

from economy.selectors import ledger_audit


class Command(BaseCommand):
    help = (
        "Check every wallet: balance == sum of its ledger entries == newest balance_after, "
        "never negative. Exits non-zero on any violation (for cron and CI)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        audit = ledger_audit()
        for violation in audit.violations:
            self.stderr.write(
                f"wallet {violation.wallet_id} ({violation.player}/{violation.currency}): "
                f"{violation.problem}"
            )
        self.stdout.write(
            f"wallets: {audit.wallets}, entries: {audit.entries}, "
            f"violations: {len(audit.violations)}"
        )
        if audit.violations:
            raise CommandError(f"{len(audit.violations)} ledger violation(s)")
