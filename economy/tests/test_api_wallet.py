"""/earn and /spend over HTTP: shapes, strict types, error codes, nothing written on refusal."""

import json
import uuid

import pytest
from django.db import connection

from accounts.tests.helpers import client_for
from economy.models import IdempotencyRecord, LedgerEntry
from economy.services import wallet_earn
from economy.tests.factories import CurrencyFactory, EarnRuleFactory
from economy.tests.helpers import balance_of, nothing_written

pytestmark = pytest.mark.django_db

EARN_9 = {"amount": 9, "reason": "quest"}
SPEND_4 = {"amount": 4, "reason": "shop"}


def post(client, path, body, **headers):
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data=raw, content_type="application/json", headers=headers)


def test_earn_answers_the_contract_shape(player_client, player):
    response = post(player_client, "/earn", {"amount": 500, "reason": "daily_login"})

    assert response.status_code == 200
    body = response.json()
    entry = LedgerEntry.objects.get()
    assert body == {
        "userId": player.username,
        "currency": "coins",
        "amount": 500,
        "reason": "daily_login",
        "balance": 500,
        "transactionId": str(entry.transaction_id),
    }
    assert uuid.UUID(body["transactionId"]).version == 4
    assert "Idempotent-Replayed" not in response.headers


def test_spend_answers_the_same_shape_with_a_positive_amount(player_client, player, coins):
    wallet_earn(player=player, currency=coins, amount=500, reason="daily_login", request_id="")

    response = post(player_client, "/spend", {"amount": 200, "reason": "shop", "currency": "coins"})

    assert response.status_code == 200
    body = response.json()
    assert body["amount"] == 200
    assert body["balance"] == 300
    assert body["currency"] == "coins"
    assert body["transactionId"] == str(LedgerEntry.objects.get(kind="spend").transaction_id)
    assert balance_of(player) == 300


def headers_with(request_id, key):
    return {"X-Request-ID": request_id, **({} if key is None else {"Idempotency-Key": key})}


@pytest.mark.parametrize("keyed", [False, True])
def test_the_ledger_entry_stores_the_request_id_the_view_received(player_client, keyed):
    earn_key, spend_key = ("e1", "s1") if keyed else (None, None)

    earn = post(player_client, "/earn", EARN_9, **headers_with("req-earn-1", earn_key))
    spend = post(player_client, "/spend", SPEND_4, **headers_with("req-spend-1", spend_key))
    generated = post(player_client, "/earn", EARN_9)

    assert (earn.status_code, spend.status_code, generated.status_code) == (200, 200, 200)
    assert len(generated["X-Request-ID"]) == 32
    assert list(LedgerEntry.objects.order_by("pk").values_list("kind", "request_id")) == [
        ("earn", "req-earn-1"),
        ("spend", "req-spend-1"),
        ("earn", generated["X-Request-ID"]),
    ]


def test_earn_in_another_currency(player_client, player):
    CurrencyFactory(code="gems")

    response = post(player_client, "/earn", {"amount": 7, "reason": "quest", "currency": "gems"})

    assert response.status_code == 200
    assert response.json()["currency"] == "gems"
    assert balance_of(player, "gems") == 7
    assert balance_of(player, "coins") is None


def test_insufficient_funds_is_409_with_the_balance(player_client, player, coins):
    wallet_earn(player=player, currency=coins, amount=50, reason="quest", request_id="")

    response = post(player_client, "/spend", {"amount": 51, "reason": "shop"})

    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "insufficient_funds"
    assert body["balance"] == 50
    assert body["status"] == 409
    assert nothing_written(player, balance=50, entries=1)


def test_balance_limit_is_422(player_client, player):
    CurrencyFactory(code="gems", max_balance=100)

    response = post(player_client, "/earn", {"amount": 101, "reason": "quest", "currency": "gems"})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "balance_limit"
    assert (body["balance"], body["maxBalance"]) == (0, 100)
    assert nothing_written(player, balance=None, entries=0, code="gems")


def test_earn_limit_is_403(player_client, player, coins):
    EarnRuleFactory(reason="daily_login", currency=coins, max_per_grant=100)

    response = post(player_client, "/earn", {"amount": 500, "reason": "daily_login"})

    assert response.status_code == 403
    assert response.json()["code"] == "earn_limit_exceeded"
    assert response.json()["maxPerGrant"] == 100
    assert nothing_written(player, balance=None, entries=0)


def test_required_earn_rule_is_403_with_the_reason_why(player_client, player, settings):
    settings.ECONOMY_REQUIRE_EARN_RULE = True

    response = post(player_client, "/earn", {"amount": 5, "reason": "free_money"})

    assert response.status_code == 403
    assert response.json()["code"] == "earn_limit_exceeded"
    assert "ECONOMY_REQUIRE_EARN_RULE" in response.json()["detail"]
    assert nothing_written(player, balance=None, entries=0)


BAD_BODIES = [
    ('{"amount": "10", "reason": "quest"}', "amount"),
    ('{"amount": 10.0, "reason": "quest"}', "amount"),
    ('{"amount": 1.5, "reason": "quest"}', "amount"),
    ('{"amount": true, "reason": "quest"}', "amount"),
    ('{"amount": null, "reason": "quest"}', "amount"),
    ('{"amount": 1e2, "reason": "quest"}', "amount"),
    ('{"amount": 0, "reason": "quest"}', "amount"),
    ('{"amount": -5, "reason": "quest"}', "amount"),
    ('{"amount": 1000000001, "reason": "quest"}', "amount"),
    ('{"reason": "quest"}', "amount"),
    ('{"amount": 10}', "reason"),
    ('{"amount": 10, "reason": ""}', "reason"),
    ('{"amount": 10, "reason": 5}', "reason"),
    ('{"amount": 10, "reason": "' + "r" * 65 + '"}', "reason"),
    ('{"amount": 10, "reason": "quest", "currency": "doubloons"}', "currency"),
    ('{"amount": 10, "reason": "quest", "currency": 1}', "currency"),
    ('{"amount": 10, "reason": "quest", "currency": ""}', "currency"),
    ('{"amount": 10, "reason": "quest", "currency": null}', "currency"),
]


@pytest.mark.parametrize("path", ["/earn", "/spend"])
@pytest.mark.parametrize(("raw", "field"), BAD_BODIES)
def test_invalid_bodies_are_400_and_write_nothing(player_client, player, path, raw, field):
    response = post(player_client, path, raw, **{"Idempotency-Key": "k-1"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert [error["field"] for error in body["errors"]] == [field]
    assert nothing_written(player, balance=None, entries=0)
    assert IdempotencyRecord.objects.count() == 0


def test_largest_allowed_amount_is_accepted(player_client, player):
    response = post(player_client, "/earn", {"amount": 1_000_000_000, "reason": "quest"})

    assert response.status_code == 200
    assert balance_of(player) == 1_000_000_000


def test_reason_is_kept_verbatim(player_client, player):
    response = post(player_client, "/earn", {"amount": 1, "reason": " spaced "})

    assert response.json()["reason"] == " spaced "
    assert LedgerEntry.objects.get().reason == " spaced "


def test_unknown_fields_are_ignored(player_client, player):
    response = post(player_client, "/earn", {"amount": 1, "reason": "q", "userId": "someone_else"})

    assert response.status_code == 200
    assert response.json()["userId"] == player.username


@pytest.mark.parametrize("path", ["/earn", "/spend"])
def test_writes_need_a_token(api_client, path):
    response = post(api_client, path, {"amount": 1, "reason": "q"})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert LedgerEntry.objects.count() == 0


@pytest.mark.parametrize("path", ["/earn", "/spend"])
def test_writes_are_post_only(player_client, path):
    response = player_client.get(path)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_writes_are_json_only(player_client, player):
    response = player_client.post("/earn", data="amount=1&reason=q", content_type="text/plain")

    assert response.status_code == 415
    assert nothing_written(player, balance=None, entries=0)


def test_earn_is_throttled_per_player(player_client, player, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "writes", "2/min")

    statuses = [
        post(player_client, "/earn", {"amount": 1, "reason": "q"}).status_code for _ in "abc"
    ]

    assert statuses == [200, 200, 429]
    assert balance_of(player) == 2


def test_one_player_cannot_touch_another_players_wallet(player, coins):
    from accounts.tests.factories import PlayerFactory

    other = PlayerFactory()
    wallet_earn(player=other, currency=coins, amount=100, reason="quest", request_id="")

    response = post(client_for(player), "/spend", {"amount": 100, "reason": "steal"})

    assert response.status_code == 409
    assert balance_of(other) == 100


def test_earn_query_count_is_pinned(player_client, player, coins, django_assert_num_queries):
    wallet_earn(player=player, currency=coins, amount=1, reason="warm_up", request_id="")

    # PostgreSQL: the user with the throttle counter (one statement), currency, then the earn
    # in one statement (the wallet update and the ledger insert, economy.services._ONE_STATEMENT).
    # Elsewhere: user, throttle counter, currency, SAVEPOINT, lock wallet, earn rule, update
    # wallet, insert entry, RELEASE.
    with django_assert_num_queries(3 if connection.vendor == "postgresql" else 9):
        response = post(player_client, "/earn", {"amount": 500, "reason": "daily_login"})

    assert response.status_code == 200
    assert balance_of(player) == 501
