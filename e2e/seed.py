"""Seed the throwaway e2e database: one staff member per role (known passwords) and a few
players with wallets, events, clicks and attribution, written through the services.

Run with `manage.py shell < e2e/seed.py` by e2e/run; passwords come from the environment.
"""

import os
from datetime import UTC, datetime, timedelta
from unittest import mock

from django.contrib.auth.models import Group

from accounts.models import User
from accounts.services import player_get_or_create
from economy.models import Currency
from economy.services import wallet_earn, wallet_spend
from telemetry.services import click_record, event_record, player_attribute_from_click
from telemetry.validation import EventInput

for role in ("support", "economy", "analyst"):
    staff, _ = User.objects.get_or_create(username=f"e2e_{role}")
    staff.is_staff = True
    staff.set_password(os.environ[f"E2E_PASSWORD_{role.upper()}"])
    staff.save()
    staff.groups.set([Group.objects.get(name=role)])

coins = Currency.objects.get(code="coins")
gems, _ = Currency.objects.get_or_create(code="gems", defaults={"name": "Gems"})
now = datetime.now(UTC)
sources = [("facebook", "spring_sale"), ("google", "brand_search"), ("tiktok", "launch")]
for number in range(1, 7):
    media_source, campaign = sources[number % len(sources)]
    click = click_record(
        parameters={"pid": media_source, "c": campaign},
        redirect_url=None,
        user_agent="e2e",
        ip=f"192.0.2.{number}",
    )
    player, created = player_get_or_create(user_id=f"player_{number:03d}")
    if number != 1:
        player_attribute_from_click(player=player, click_id=str(click.click_id))
    if player.ledger_entries.exists():
        continue
    # Each player's wallet history happens on its own past day, so the economy report has days.
    with mock.patch("django.utils.timezone.now", return_value=now - timedelta(days=number)):
        wallet_earn(
            player=player, currency=coins, amount=500 * number, reason="daily_login", request_id=""
        )
        wallet_earn(player=player, currency=coins, amount=120, reason="level_reward", request_id="")
        wallet_spend(
            player=player, currency=coins, amount=80 * number, reason="shop_sword", request_id=""
        )
        wallet_earn(
            player=player, currency=gems, amount=5 * number, reason="quest_reward", request_id=""
        )
    for minutes, event_type in enumerate(["session_start", "level_start", "level_complete"]):
        event_record(
            player=player,
            event=EventInput(
                event_type=event_type,
                meta={"level": number, "score": 100 * number},
                timestamp=now - timedelta(hours=number, minutes=-minutes),
                event_id=None,
            ),
        )
print("e2e seed: staff e2e_support, e2e_economy, e2e_analyst; players player_001..player_006")
