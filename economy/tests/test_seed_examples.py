"""The seed README's curl examples, verbatim."""

import json

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_seed_login_earn_then_balance():
    client = APIClient()
    login = client.post(
        "/login", data=json.dumps({"userId": "player_001"}), content_type="application/json"
    )
    token = login.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    earned = client.post(
        "/earn",
        data='{"amount":500,"reason":"daily_login"}',
        content_type="application/json",
    )
    balance = client.get("/balance")

    assert earned.status_code == 200
    body = earned.json()
    assert set(body) == {"userId", "currency", "amount", "reason", "balance", "transactionId"}
    assert body["userId"] == "player_001"
    assert body["currency"] == "coins"
    assert body["amount"] == 500
    assert body["reason"] == "daily_login"
    assert body["balance"] == 500
    assert balance.status_code == 200
    assert balance.json() == {
        "userId": "player_001",
        "currency": "coins",
        "balance": 500,
        "balances": {"coins": 500},
    }
