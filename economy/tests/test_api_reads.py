"""/balance and /transactions: the caller's own data only, exact shapes, cursor pagination."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from accounts.tests.factories import PlayerFactory, StaffFactory
from accounts.tests.helpers import client_for
from economy.models import LedgerEntry
from economy.selectors import LedgerCursor
from economy.services import wallet_adjust, wallet_earn, wallet_spend
from economy.tests.factories import CurrencyFactory

pytestmark = pytest.mark.django_db

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_balance_of_a_new_player_is_zero_in_every_currency(player_client, player, coins):
    CurrencyFactory(code="gems")

    response = player_client.get("/balance")

    assert response.status_code == 200
    assert response.json() == {
        "userId": player.username,
        "currency": "coins",
        "balance": 0,
        "balances": {"coins": 0, "gems": 0},
    }


def test_balance_in_a_chosen_currency(player_client, player, coins):
    gems = CurrencyFactory(code="gems")
    wallet_earn(player=player, currency=coins, amount=500, reason="q", request_id="")
    wallet_earn(player=player, currency=gems, amount=9, reason="q", request_id="")
    wallet_spend(player=player, currency=gems, amount=2, reason="q", request_id="")

    response = player_client.get("/balance", {"currency": "gems"})

    assert response.json() == {
        "userId": player.username,
        "currency": "gems",
        "balance": 7,
        "balances": {"coins": 500, "gems": 7},
    }


def test_balance_shows_only_the_callers_wallets(player_client, player, coins):
    wallet_earn(player=PlayerFactory(), currency=coins, amount=999, reason="q", request_id="")

    assert player_client.get("/balance").json()["balance"] == 0


@pytest.mark.parametrize("currency", ["doubloons", "COINS", " coins"])
def test_balance_of_an_unknown_currency_is_400(player_client, currency):
    response = player_client.get("/balance", {"currency": currency})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "currency"


def test_balance_needs_a_token(api_client):
    assert api_client.get("/balance").status_code == 401


def test_balance_query_count_is_pinned(player_client, player, coins, django_assert_num_queries):
    CurrencyFactory(code="gems")
    wallet_earn(player=player, currency=coins, amount=5, reason="q", request_id="")

    # One: the token's user (its ban state) with every balance (selectors.players_with_balances).
    with django_assert_num_queries(1):
        response = player_client.get("/balance")

    assert response.json()["balances"] == {"coins": 5, "gems": 0}


def test_transactions_lists_signed_entries_newest_first(player_client, player, coins):
    staff = StaffFactory()
    earn = wallet_earn(
        player=player, currency=coins, amount=500, reason="daily_login", request_id=""
    )
    spend = wallet_spend(player=player, currency=coins, amount=120, reason="shop", request_id="")
    adjust = wallet_adjust(
        player=player, currency=coins, amount=-30, note="fix", actor=staff, request_id=""
    )

    response = player_client.get("/transactions")

    assert response.status_code == 200
    body = response.json()
    assert body["nextCursor"] is None
    assert [
        (e["transactionId"], e["amount"], e["balanceAfter"], e["kind"], e["reason"])
        for e in body["entries"]
    ] == [
        (str(adjust.transaction_id), -30, 350, "adjustment", "staff_adjustment"),
        (str(spend.transaction_id), -120, 380, "spend", "shop"),
        (str(earn.transaction_id), 500, 500, "earn", "daily_login"),
    ]
    assert set(body["entries"][0]) == {
        "transactionId",
        "currency",
        "amount",
        "balanceAfter",
        "kind",
        "reason",
        "createdAt",
    }
    assert all(e["currency"] == "coins" for e in body["entries"])
    assert all(ISO_Z.match(e["createdAt"]) for e in body["entries"])


def test_transactions_created_at_is_utc_with_z(player_client, player, coins, monkeypatch):
    moment = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    wallet_earn(player=player, currency=coins, amount=1, reason="q", request_id="")

    entry = player_client.get("/transactions").json()["entries"][0]

    assert entry["createdAt"] == "2026-05-04T03:02:01.123456Z"


def test_transactions_filter_by_currency(player_client, player, coins):
    gems = CurrencyFactory(code="gems")
    wallet_earn(player=player, currency=coins, amount=1, reason="q", request_id="")
    wallet_earn(player=player, currency=gems, amount=2, reason="q", request_id="")

    body = player_client.get("/transactions", {"currency": "gems"}).json()

    assert [(e["currency"], e["amount"]) for e in body["entries"]] == [("gems", 2)]


def test_transactions_show_only_the_callers_entries(player_client, player, coins):
    wallet_earn(player=PlayerFactory(), currency=coins, amount=1, reason="q", request_id="")

    assert player_client.get("/transactions").json() == {"entries": [], "nextCursor": None}


def test_transactions_paginate_with_a_cursor(player_client, player, coins):
    amounts = list(range(1, 8))
    for amount in amounts:
        wallet_earn(player=player, currency=coins, amount=amount, reason="q", request_id="")
    seen = []
    cursor = None
    pages = 0

    while True:
        params = {"limit": 3} if cursor is None else {"limit": 3, "cursor": cursor}
        body = player_client.get("/transactions", params).json()
        seen.extend(e["amount"] for e in body["entries"])
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert seen == list(reversed(amounts))
    assert pages == 3


def test_a_page_that_exactly_fills_the_limit_has_no_next_cursor(player_client, player, coins):
    for _ in range(3):
        wallet_earn(player=player, currency=coins, amount=1, reason="q", request_id="")

    body = player_client.get("/transactions", {"limit": 3}).json()

    assert len(body["entries"]) == 3
    assert body["nextCursor"] is None


def test_entries_with_the_same_timestamp_page_by_id(player_client, player, coins, monkeypatch):
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    for amount in (1, 2, 3):
        wallet_earn(player=player, currency=coins, amount=amount, reason="q", request_id="")

    first = player_client.get("/transactions", {"limit": 2}).json()
    second = player_client.get("/transactions", {"limit": 2, "cursor": first["nextCursor"]}).json()

    assert [e["amount"] for e in first["entries"]] == [3, 2]
    assert [e["amount"] for e in second["entries"]] == [1]


def test_default_limit_is_50(player_client, player, coins):
    for _ in range(51):
        wallet_earn(player=player, currency=coins, amount=1, reason="q", request_id="")

    body = player_client.get("/transactions").json()

    assert len(body["entries"]) == 50
    assert body["nextCursor"] is not None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "1.5", "10.0", "abc", " 5", "1e2"])
def test_limit_outside_1_to_100_is_400(player_client, limit):
    response = player_client.get("/transactions", {"limit": limit})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "limit"


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_bounds_are_accepted(player_client, limit):
    assert player_client.get("/transactions", {"limit": limit}).status_code == 200


def _forged_cursor():
    import base64

    return base64.urlsafe_b64encode(b"1700000000000000.5:forgedsignature").decode()


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "AAAA", "x" * 600, "forged"])
def test_unknown_or_garbled_cursors_are_400(player_client, cursor):
    if cursor == "forged":
        cursor = _forged_cursor()

    response = player_client.get("/transactions", {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "cursor"


def test_empty_query_parameters_mean_not_given(player_client, player, coins):
    """DRF's query-string convention: `?limit=&cursor=&currency=` is the first default page."""
    wallet_earn(player=player, currency=coins, amount=1, reason="q", request_id="")

    reads = player_client.get("/transactions", {"limit": "", "cursor": "", "currency": ""})
    balance = player_client.get("/balance", {"currency": ""})

    assert reads.status_code == 200
    assert [e["amount"] for e in reads.json()["entries"]] == [1]
    assert balance.json()["currency"] == "coins"


def test_unknown_currency_filter_is_400(player_client):
    response = player_client.get("/transactions", {"currency": "doubloons"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "currency"


def test_cursor_round_trips_to_the_microsecond():
    moment = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

    cursor = LedgerCursor.decode(LedgerCursor(created_at=moment, entry_id=42).encode())

    assert cursor == LedgerCursor(created_at=moment, entry_id=42)
    assert LedgerCursor.decode(
        LedgerCursor(created_at=moment - timedelta(days=20000), entry_id=1).encode()
    ).created_at == moment - timedelta(days=20000)


def test_transactions_query_count_is_constant(
    player_client, player, coins, django_assert_num_queries
):
    for _ in range(10):
        wallet_earn(player=player, currency=coins, amount=1, reason="q", request_id="")

    with django_assert_num_queries(2):  # the user, then one page with wallets and currencies
        response = player_client.get("/transactions", {"limit": 5})

    assert len(response.json()["entries"]) == 5
    assert LedgerEntry.objects.count() == 10


def test_another_players_cursor_shows_only_the_callers_entries(player, coins):
    """A cursor is only a position in time: the page after it holds the caller's entries alone."""
    other = PlayerFactory()
    wallet_earn(player=player, currency=coins, amount=5, reason="mine", request_id="")
    for _ in range(3):
        wallet_earn(player=other, currency=coins, amount=1, reason="theirs", request_id="")
    # their newest entry, written after "mine": their next page would hold their two older ones
    their_cursor = client_for(other).get("/transactions", {"limit": 1}).json()["nextCursor"]

    body = client_for(player).get("/transactions", {"cursor": their_cursor}).json()

    assert [e["reason"] for e in body["entries"]] == ["mine"]
    assert body["nextCursor"] is None


def test_a_cursor_with_characters_outside_base64url_is_400(player_client, player, coins):
    """base64 decoding skips such characters: the cursor's shape is checked before decoding."""
    for amount in (1, 2):
        wallet_earn(player=player, currency=coins, amount=amount, reason="q", request_id="")
    cursor = player_client.get("/transactions", {"limit": 1}).json()["nextCursor"]

    response = player_client.get("/transactions", {"limit": 1, "cursor": f"{cursor}!"})

    assert player_client.get("/transactions", {"limit": 1, "cursor": cursor}).status_code == 200
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("cursor", "invalid_cursor")


@pytest.mark.parametrize("path", ["/balance", "/transactions"])
def test_a_currency_code_of_another_shape_is_unknown(player_client, path):
    response = player_client.get(path, {"currency": "Coins"})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("currency", "unknown_currency")
