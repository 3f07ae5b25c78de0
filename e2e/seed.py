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

# --- Retention and home page figures known exactly (e2e/liveops.spec.mjs) ---------------------
# Players created (first login) on known past UTC days, with events on known days. Cohort C is
# 40 days ago: ret_01 (organic, joined 23:59:59) is active on C+1 at 00:00:00 and C+7; ret_02
# (facebook/spring_sale, joined 00:00:00) on C+1 at 23:59:59, C+6 (not D7) and C+30; ret_03
# (organic) only on C itself. Cohort C: 3 players, D1 2, D7 1, D30 1. Cohort Y-2: ret_05, active
# on Y-1: D1 1, D7 and D30 too young. ret_06 joins yesterday (Y) with 2 events that day.
today = now.date()
cohort = today - timedelta(days=40)
yesterday = today - timedelta(days=1)


def moment(day, clock):
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, seconds, tzinfo=UTC)


def retention_player(user_id, joined, active, source=None):
    if User.objects.filter(username=user_id).exists():
        return
    with mock.patch("django.utils.timezone.now", return_value=joined):
        player, _ = player_get_or_create(user_id=user_id)
        # date_joined's default is bound to the real clock: the account's creation day is set.
        User.objects.filter(pk=player.pk).update(date_joined=joined)
        if source is not None:
            click = click_record(
                parameters={"pid": source[0], "c": source[1]},
                redirect_url=None,
                user_agent="e2e",
                ip="192.0.2.99",
            )
            player_attribute_from_click(player=player, click_id=str(click.click_id))
    for timestamp in active:
        event_record(
            player=player,
            event=EventInput(
                event_type="session_start", meta={}, timestamp=timestamp, event_id=None
            ),
        )


def after(days, clock="12:00:00"):
    return moment(cohort + timedelta(days=days), clock)


retention_player("ret_01", after(0, "23:59:59"), [after(1, "00:00:00"), after(7)])
retention_player(
    "ret_02",
    after(0, "00:00:00"),
    [after(1, "23:59:59"), after(6, "23:59:59"), after(30, "00:00:00")],
    ("facebook", "spring_sale"),
)
retention_player("ret_03", after(0, "10:00:00"), [after(0, "23:59:59")])
young = yesterday - timedelta(days=2)
retention_player(
    "ret_05", moment(young, "08:00:00"), [moment(young + timedelta(days=1), "09:00:00")]
)
retention_player(
    "ret_06",
    moment(yesterday, "00:00:00"),
    [moment(yesterday, "06:00:00"), moment(yesterday, "07:00:00")],
)
print(
    f"e2e seed: retention cohorts {cohort} (ret_01..03) and {young} (ret_05); "
    f"ret_06 joined {yesterday}"
)

# --- Long values (e2e/admin.spec.mjs: every list's columns fit at 1440 px) --------------------
# A device-id userId, a long campaign name, a banned account and an adjustment with a long note,
# all today (the home page and retention count up to yesterday, so their figures stay as above).
LONG_ID = "device-7f3e9a2c-41b8-4d0e-9c61-2b5f8e0d1a47-ios"
if not User.objects.filter(username=LONG_ID).exists():
    from accounts.services import player_ban
    from economy.services import wallet_adjust

    long_player, _ = player_get_or_create(user_id=LONG_ID)
    click = click_record(
        parameters={
            "pid": "googleadwords_int",
            "c": "summer_sale_2026_tier1_lookalike_ios_purchasers",
        },
        redirect_url=None,
        user_agent="e2e",
        ip="192.0.2.77",
    )
    player_attribute_from_click(player=long_player, click_id=str(click.click_id))
    economy_staff = User.objects.get(username="e2e_economy")
    wallet_adjust(
        player=long_player,
        currency=coins,
        amount=2500,
        note=(
            "Compensation for the failed purchase of the Starter Pack on 2026-11-30: the store "
            "charged the card twice and the client never granted the coins (ticket 48213)"
        ),
        actor=economy_staff,
        request_id="",
    )
    player_ban(
        player=long_player,
        reason="Chargeback fraud across three cards, confirmed by the payment provider",
        actor=User.objects.get(username="e2e_support"),
    )
print(f"e2e seed: {LONG_ID} (long values, banned)")
