"""Hypothesis stateful test: random earn/spend/adjust/replay sequences keep every invariant.

A model of the wallet predicts each outcome; after every step the database must agree:
balance == model == sum of ledger amounts == newest balance_after, never negative, and a
replayed key returns the first response byte for byte (same transactionId).
"""

import json

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.tests.factories import PlayerFactory, StaffFactory
from accounts.tests.helpers import client_for
from economy.errors import BalanceLimit, InsufficientFunds
from economy.models import LedgerEntry, Wallet
from economy.selectors import ledger_audit
from economy.services import wallet_adjust
from economy.tests.factories import CurrencyFactory

MAX_BALANCE = 3000
KEYS = st.sampled_from(["k1", "k2", "k3", "k4", None])
AMOUNTS = st.integers(min_value=1, max_value=1500)


class WalletMachine(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.player = PlayerFactory()
        self.staff = StaffFactory()
        self.currency = CurrencyFactory(max_balance=MAX_BALANCE)
        self.client = client_for(self.player)
        self.balance = 0
        self.entries = 0
        # key -> (path, raw body, status, content) of the first response
        self.first_responses = {}

    def _request(self, path, amount, key):
        body = json.dumps({"amount": amount, "reason": "play", "currency": self.currency.code})
        headers = {} if key is None else {"Idempotency-Key": key}
        response = self.client.post(
            path, data=body, content_type="application/json", headers=headers
        )
        if key is not None and key in self.first_responses:
            first_path, first_body, status, content = self.first_responses[key]
            if (first_path, first_body) == (path, body):
                assert response.status_code == status
                assert response.content == content
                assert response.headers["Idempotent-Replayed"] == "true"
            else:
                assert response.status_code == 422
                assert response.json()["code"] == "idempotency_key_reused"
            return None
        if key is not None:
            self.first_responses[key] = (path, body, response.status_code, response.content)
        return response

    @rule(amount=AMOUNTS, key=KEYS)
    def earn(self, amount, key):
        fits = self.balance + amount <= MAX_BALANCE
        response = self._request("/earn", amount, key)
        if response is None:
            return
        if fits:
            assert response.status_code == 200
            self.balance += amount
            self.entries += 1
            assert response.json()["balance"] == self.balance
        else:
            assert response.status_code == 422
            assert response.json()["code"] == "balance_limit"

    @rule(amount=AMOUNTS, key=KEYS)
    def spend(self, amount, key):
        covered = amount <= self.balance
        response = self._request("/spend", amount, key)
        if response is None:
            return
        if covered:
            assert response.status_code == 200
            self.balance -= amount
            self.entries += 1
            assert response.json()["balance"] == self.balance
        else:
            assert response.status_code == 409
            assert response.json()["code"] == "insufficient_funds"
            assert response.json()["balance"] == self.balance

    @rule(amount=st.integers(min_value=-2000, max_value=2000).filter(bool))
    def adjust(self, amount):
        expected = self.balance + amount
        try:
            entry = wallet_adjust(
                player=self.player,
                currency=self.currency,
                amount=amount,
                note="t",
                actor=self.staff,
                request_id="",
            )
        except InsufficientFunds:
            assert expected < 0
        except BalanceLimit:
            assert expected > MAX_BALANCE
        else:
            assert 0 <= expected <= MAX_BALANCE
            assert entry.balance_after == expected
            self.balance = expected
            self.entries += 1

    @precondition(lambda self: bool(self.first_responses))
    @rule(data=st.data())
    def replay(self, data):
        key = data.draw(st.sampled_from(sorted(self.first_responses)))
        path, body, status, content = self.first_responses[key]
        response = self.client.post(
            path, data=body, content_type="application/json", headers={"Idempotency-Key": key}
        )
        assert response.status_code == status
        assert response.content == content
        assert response.headers["Idempotent-Replayed"] == "true"

    @invariant()
    def ledger_agrees_with_the_wallet(self):
        wallet = Wallet.objects.filter(player=self.player, currency=self.currency).first()
        entries = LedgerEntry.objects.filter(player=self.player)
        if wallet is None:
            assert self.balance == 0
            assert entries.count() == 0
            return
        newest = entries.order_by("-id").first()
        assert wallet.balance == self.balance >= 0
        assert entries.count() == self.entries
        assert (entries.aggregate(total=Sum("amount"))["total"] or 0) == self.balance
        assert (newest.balance_after if newest else 0) == self.balance

    def teardown(self):
        assert ledger_audit().violations == []


@pytest.mark.slow
@pytest.mark.django_db
def test_random_wallet_histories_keep_every_invariant():
    # Every example runs inside this test's transaction, on its own fresh player and currency.
    run_state_machine_as_test(
        WalletMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
