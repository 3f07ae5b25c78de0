"""Services: exact balances and ledger rows; every refusal writes nothing."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from accounts.tests.factories import PlayerFactory, StaffFactory
from core.problems import InvalidInput
from economy.errors import (
    AdjustmentNotAllowed,
    BalanceLimit,
    EarnLimitExceeded,
    InsufficientFunds,
)
from economy.locks import TransactionRequired, wallet_lock
from economy.models import MAX_BALANCE, LedgerEntry, Wallet
from economy.services import wallet_adjust, wallet_earn, wallet_spend
from economy.tests.factories import CurrencyFactory, EarnRuleFactory
from economy.tests.helpers import balance_of, ledger_amounts, nothing_written

pytestmark = pytest.mark.django_db


def test_earn_creates_the_wallet_and_one_entry(player, coins):
    entry = wallet_earn(
        player=player, currency=coins, amount=500, reason="daily_login", request_id=""
    )

    assert balance_of(player) == 500
    assert entry.amount == 500
    assert entry.balance_after == 500
    assert entry.kind == "earn"
    assert entry.reason == "daily_login"
    assert entry.actor is None
    assert entry.idempotency_key is None
    assert entry.player == player
    assert ledger_amounts(player) == [500]


def test_spend_takes_from_the_balance(player, coins):
    wallet_earn(player=player, currency=coins, amount=500, reason="daily_login", request_id="")

    entry = wallet_spend(player=player, currency=coins, amount=120, reason="shop", request_id="")

    assert entry.amount == -120
    assert entry.balance_after == 380
    assert entry.kind == "spend"
    assert balance_of(player) == 380
    assert ledger_amounts(player) == [500, -120]


def test_spend_of_the_whole_balance_leaves_zero(player, coins):
    wallet_earn(player=player, currency=coins, amount=70, reason="quest", request_id="")

    wallet_spend(player=player, currency=coins, amount=70, reason="shop", request_id="")

    assert balance_of(player) == 0


def test_spend_over_the_balance_is_refused_with_the_balance(player, coins):
    wallet_earn(player=player, currency=coins, amount=100, reason="quest", request_id="")

    with pytest.raises(InsufficientFunds) as raised:
        wallet_spend(player=player, currency=coins, amount=101, reason="shop", request_id="")

    assert raised.value.extra == {"balance": 100}
    assert raised.value.status_code == 409
    assert nothing_written(player, balance=100, entries=1)


def test_spend_without_a_wallet_is_refused_and_creates_no_wallet(player, coins):
    with pytest.raises(InsufficientFunds) as raised:
        wallet_spend(player=player, currency=coins, amount=1, reason="shop", request_id="")

    assert raised.value.extra == {"balance": 0}
    assert nothing_written(player, balance=None, entries=0)
    assert Wallet.objects.filter(player=player).count() == 0


def test_wallets_are_per_currency(player, coins):
    gems = CurrencyFactory(code="gems")

    wallet_earn(player=player, currency=coins, amount=10, reason="quest", request_id="")
    wallet_earn(player=player, currency=gems, amount=3, reason="quest", request_id="")
    wallet_spend(player=player, currency=gems, amount=2, reason="shop", request_id="")

    assert balance_of(player, "coins") == 10
    assert balance_of(player, "gems") == 1
    assert ledger_amounts(player, "gems") == [3, -2]


def test_earn_up_to_the_currency_maximum_is_allowed(player):
    gems = CurrencyFactory(code="gems", max_balance=1000)
    wallet_earn(player=player, currency=gems, amount=600, reason="quest", request_id="")

    entry = wallet_earn(player=player, currency=gems, amount=400, reason="quest", request_id="")

    assert entry.balance_after == 1000


def test_earn_past_the_currency_maximum_is_refused_not_clamped(player):
    gems = CurrencyFactory(code="gems", max_balance=1000)
    wallet_earn(player=player, currency=gems, amount=600, reason="quest", request_id="")

    with pytest.raises(BalanceLimit) as raised:
        wallet_earn(player=player, currency=gems, amount=401, reason="quest", request_id="")

    assert raised.value.status_code == 422
    assert raised.value.extra == {"balance": 600, "maxBalance": 1000}
    assert nothing_written(player, balance=600, entries=1, code="gems")


def test_earn_past_2_63_minus_1_is_refused(player, coins):
    # Reaching the 64-bit ceiling takes an adjustment (grants are capped at 1e9 by the API).
    staff = StaffFactory()
    wallet_adjust(
        player=player,
        currency=coins,
        amount=MAX_BALANCE - 5,
        note="test",
        actor=staff,
        request_id="",
    )

    wallet_earn(player=player, currency=coins, amount=5, reason="quest", request_id="")
    with pytest.raises(BalanceLimit) as raised:
        wallet_earn(player=player, currency=coins, amount=1, reason="quest", request_id="")

    assert raised.value.extra == {"balance": MAX_BALANCE, "maxBalance": MAX_BALANCE}
    assert nothing_written(player, balance=MAX_BALANCE, entries=2)


def test_earn_rule_caps_a_single_grant(player, coins):
    EarnRuleFactory(reason="daily_login", currency=coins, max_per_grant=100)

    wallet_earn(player=player, currency=coins, amount=100, reason="daily_login", request_id="")
    with pytest.raises(EarnLimitExceeded) as raised:
        wallet_earn(player=player, currency=coins, amount=101, reason="daily_login", request_id="")

    assert raised.value.status_code == 403
    assert raised.value.extra == {"reason": "daily_login", "maxPerGrant": 100}
    assert nothing_written(player, balance=100, entries=1)


def test_earn_rule_caps_the_utc_day_per_player(player, coins, monkeypatch):
    EarnRuleFactory(reason="ad_reward", currency=coins, max_per_day=250)
    other = PlayerFactory()
    day_one = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    day_two = datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: day_one)

    wallet_earn(player=player, currency=coins, amount=200, reason="ad_reward", request_id="")
    wallet_earn(player=player, currency=coins, amount=50, reason="ad_reward", request_id="")
    wallet_earn(player=player, currency=coins, amount=999, reason="other_reason", request_id="")
    wallet_earn(player=other, currency=coins, amount=250, reason="ad_reward", request_id="")
    with pytest.raises(EarnLimitExceeded) as raised:
        wallet_earn(player=player, currency=coins, amount=1, reason="ad_reward", request_id="")

    assert raised.value.extra == {"reason": "ad_reward", "maxPerDay": 250, "earnedToday": 250}
    assert nothing_written(player, balance=1249, entries=3)

    monkeypatch.setattr("django.utils.timezone.now", lambda: day_two)
    entry = wallet_earn(
        player=player, currency=coins, amount=250, reason="ad_reward", request_id=""
    )
    assert entry.balance_after == 1499


def test_spends_do_not_count_against_the_daily_cap(player, coins, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 3, 1, 12, tzinfo=UTC))
    EarnRuleFactory(reason="ad_reward", currency=coins, max_per_day=100)
    wallet_earn(player=player, currency=coins, amount=100, reason="ad_reward", request_id="")
    wallet_spend(player=player, currency=coins, amount=100, reason="ad_reward", request_id="")

    with pytest.raises(EarnLimitExceeded):
        wallet_earn(player=player, currency=coins, amount=1, reason="ad_reward", request_id="")

    assert nothing_written(player, balance=0, entries=2)


def test_earn_rule_of_another_currency_does_not_apply(player, coins):
    gems = CurrencyFactory(code="gems")
    EarnRuleFactory(reason="daily_login", currency=gems, max_per_grant=1)

    entry = wallet_earn(
        player=player, currency=coins, amount=500, reason="daily_login", request_id=""
    )

    assert entry.balance_after == 500


def test_required_earn_rule_refuses_reasons_without_one(player, coins, settings):
    settings.ECONOMY_REQUIRE_EARN_RULE = True
    EarnRuleFactory(reason="daily_login", currency=coins)

    wallet_earn(player=player, currency=coins, amount=10, reason="daily_login", request_id="")
    with pytest.raises(EarnLimitExceeded) as raised:
        wallet_earn(player=player, currency=coins, amount=10, reason="free_money", request_id="")

    assert "ECONOMY_REQUIRE_EARN_RULE" in str(raised.value.detail)
    assert "'free_money'" in str(raised.value.detail)
    assert nothing_written(player, balance=10, entries=1)


def test_required_earn_rule_refusal_creates_no_wallet(player, coins, settings):
    settings.ECONOMY_REQUIRE_EARN_RULE = True

    with pytest.raises(EarnLimitExceeded):
        wallet_earn(player=player, currency=coins, amount=10, reason="daily_login", request_id="")

    assert nothing_written(player, balance=None, entries=0)


@pytest.mark.parametrize("amount", [0, -1, MAX_BALANCE + 1, True])
def test_services_refuse_non_positive_amounts(player, coins, amount):
    with pytest.raises(ValueError, match="positive integer"):
        wallet_earn(player=player, currency=coins, amount=amount, reason="quest", request_id="")
    with pytest.raises(ValueError, match="positive integer"):
        wallet_spend(player=player, currency=coins, amount=amount, reason="quest", request_id="")

    assert nothing_written(player, balance=None, entries=0)


def test_adjust_records_the_staff_member_and_note(player, coins):
    staff = StaffFactory()
    wallet_earn(player=player, currency=coins, amount=100, reason="quest", request_id="")

    credit = wallet_adjust(
        player=player, currency=coins, amount=50, note=" refund #12 ", actor=staff, request_id=""
    )
    debit = wallet_adjust(
        player=player, currency=coins, amount=-30, note="chargeback", actor=staff, request_id=""
    )

    assert (credit.kind, credit.amount, credit.balance_after) == ("adjustment", 50, 150)
    assert (debit.kind, debit.amount, debit.balance_after) == ("adjustment", -30, 120)
    assert credit.actor == staff
    assert credit.note == "refund #12"
    assert credit.reason == "staff_adjustment"
    assert balance_of(player) == 120


def test_adjust_below_zero_is_refused_not_clamped(player, coins):
    staff = StaffFactory()
    wallet_earn(player=player, currency=coins, amount=100, reason="quest", request_id="")

    with pytest.raises(InsufficientFunds) as raised:
        wallet_adjust(
            player=player, currency=coins, amount=-101, note="fraud", actor=staff, request_id=""
        )

    assert raised.value.extra == {"balance": 100}
    assert nothing_written(player, balance=100, entries=1)


def test_adjust_past_the_maximum_is_refused(player):
    gems = CurrencyFactory(code="gems", max_balance=10)
    staff = StaffFactory()

    with pytest.raises(BalanceLimit):
        wallet_adjust(
            player=player, currency=gems, amount=11, note="gift", actor=staff, request_id=""
        )

    assert nothing_written(player, balance=None, entries=0, code="gems")


def test_adjust_ignores_earn_rules(player, coins, settings):
    settings.ECONOMY_REQUIRE_EARN_RULE = True
    EarnRuleFactory(reason="staff_adjustment", currency=coins, max_per_grant=1)

    entry = wallet_adjust(
        player=player,
        currency=coins,
        amount=1000,
        note="compensation",
        actor=StaffFactory(),
        request_id="",
    )

    assert entry.balance_after == 1000


AMOUNT_MESSAGE = f"A non-zero integer between -{MAX_BALANCE} and {MAX_BALANCE}."
NOTE_MESSAGE = "An adjustment needs a note saying why."


@pytest.mark.parametrize(
    ("amount", "note", "errors"),
    [
        (0, "why", {"amount": [AMOUNT_MESSAGE]}),
        (MAX_BALANCE + 1, "why", {"amount": [AMOUNT_MESSAGE]}),
        (5, "", {"note": [NOTE_MESSAGE]}),
        (5, "  ", {"note": [NOTE_MESSAGE]}),
        (0, " ", {"amount": [AMOUNT_MESSAGE], "note": [NOTE_MESSAGE]}),
    ],
)
def test_adjust_needs_a_non_zero_amount_and_a_note(player, coins, amount, note, errors):
    with pytest.raises(InvalidInput) as raised:
        wallet_adjust(
            player=player,
            currency=coins,
            amount=amount,
            note=note,
            actor=StaffFactory(),
            request_id="",
        )

    assert raised.value.errors == errors
    assert raised.value.code == "invalid"
    assert nothing_written(player, balance=None, entries=0)


def test_adjust_by_a_non_staff_user_is_refused(player, coins):
    with pytest.raises(AdjustmentNotAllowed):
        wallet_adjust(
            player=player,
            currency=coins,
            amount=5,
            note="self-service",
            actor=player,
            request_id="",
        )

    assert nothing_written(player, balance=None, entries=0)


def test_adjust_by_an_inactive_staff_member_is_refused(player, coins):
    staff = StaffFactory(is_active=False)

    with pytest.raises(AdjustmentNotAllowed):
        wallet_adjust(
            player=player, currency=coins, amount=5, note="gift", actor=staff, request_id=""
        )

    assert LedgerEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_wallet_lock_refuses_to_run_outside_a_transaction(player, coins):
    with pytest.raises(TransactionRequired):
        wallet_lock(player=player, currency=coins)


def test_wallet_lock_creates_the_wallet_inside_a_transaction(player, coins):
    with transaction.atomic():
        wallet = wallet_lock(player=player, currency=coins)

    assert wallet.balance == 0
    assert wallet.currency == coins
    assert Wallet.objects.filter(player=player).count() == 1


def test_entries_store_the_request_id_they_are_given_not_the_logging_context(player, coins):
    from core.logging import request_id_var

    token = request_id_var.set("req-of-the-log-context")
    try:
        earn = wallet_earn(player=player, currency=coins, amount=5, reason="quest", request_id="r1")
        spend = wallet_spend(
            player=player, currency=coins, amount=2, reason="shop", request_id="r2"
        )
        adjust = wallet_adjust(
            player=player, currency=coins, amount=1, note="fix", actor=StaffFactory(), request_id=""
        )
    finally:
        request_id_var.reset(token)

    assert (earn.request_id, spend.request_id, adjust.request_id) == ("r1", "r2", "")
    assert list(LedgerEntry.objects.order_by("pk").values_list("kind", "request_id")) == [
        ("earn", "r1"),
        ("spend", "r2"),
        ("adjustment", ""),
    ]


def test_wallets_lock_takes_several_wallets_in_primary_key_order(player, coins):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from economy.locks import wallets_lock

    gems = CurrencyFactory(code="gems")
    wallet_earn(
        player=player, currency=gems, amount=1, reason="q", request_id=""
    )  # gems gets the lower pk
    wallet_earn(player=player, currency=coins, amount=2, reason="q", request_id="")

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        wallets = wallets_lock(player=player, currencies=[coins, gems])

    balances = {wallet.currency.code: wallet.balance for wallet in wallets.values()}
    assert balances == {"coins": 2, "gems": 1}
    assert list(wallets) == [gems.pk, coins.pk]
    [select] = [q["sql"] for q in captured.captured_queries if 'FROM "economy_wallet"' in q["sql"]]
    assert 'ORDER BY "economy_wallet"."id" ASC' in select
    if connection.vendor == "postgresql":
        assert select.endswith("FOR UPDATE")
