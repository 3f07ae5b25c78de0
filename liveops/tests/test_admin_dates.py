"""One date format in the whole admin: days "2026-12-03", moments "2026-12-03 08:20" (UTC)."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.tests.admin_factories import admin_client
from accounts.tests.factories import PlayerFactory, StaffFactory
from economy.models import LedgerEntry
from economy.services import wallet_earn

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coins")]

JOINED = datetime(2026, 12, 3, 8, 20, 41, tzinfo=UTC)


def test_changelists_and_change_pages_print_moments_as_iso_minutes(coins):
    player = PlayerFactory(username="p_dates", date_joined=JOINED, last_login=None)
    wallet_earn(player=player, currency=coins, amount=5, reason="quest", request_id="")
    created = LedgerEntry.objects.get().created_at.astimezone(UTC)  # the ledger is append-only
    client = admin_client(StaffFactory(is_superuser=True))

    players = client.get(reverse("admin:accounts_user_changelist"), {"q": "p_dates"})
    change = client.get(reverse("admin:accounts_user_change", args=[player.pk]))
    ledger = client.get(reverse("admin:economy_ledgerentry_changelist"))

    assert '<td class="field-date_joined nowrap">2026-12-03 08:20</td>' in players.content.decode()
    assert '<div class="readonly">2026-12-03 08:20</div>' in change.content.decode()
    ledger_page = ledger.content.decode()
    assert f'/change/">{created:%Y-%m-%d %H:%M}</a></th>' in ledger_page
    for page in (players, change, ledger):
        assert "a.m." not in page.content.decode() and "p.m." not in page.content.decode()
        assert "Dec." not in page.content.decode()


def test_the_player_panels_print_moments_the_same_way(coins):
    player = PlayerFactory(username="p_panel")
    wallet_earn(player=player, currency=coins, amount=5, reason="quest", request_id="")
    created = LedgerEntry.objects.get().created_at.astimezone(UTC)
    client = admin_client(StaffFactory(is_superuser=True))

    page = client.get(reverse("admin:accounts_user_change", args=[player.pk])).content.decode()

    assert f"<td>{created:%Y-%m-%d %H:%M}</td>" in page
    assert f"{created:%Y-%m-%d %H:%M:%S}" not in page
