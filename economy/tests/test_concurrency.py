"""PostgreSQL: the wallet row lock really is taken, and races never lose or invent a coin.

The race tests run threads released together by a `threading.Barrier`; each thread uses its own
database connection and closes it when done. Figures are printed (run with `-s` to see them).
"""

import json
import threading
import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import PlayerFactory, StaffFactory
from accounts.tests.helpers import client_for
from economy.errors import EarnLimitExceeded, InsufficientFunds
from economy.models import Currency, LedgerEntry, Wallet
from economy.services import wallet_adjust, wallet_earn, wallet_spend
from economy.tests.factories import EarnRuleFactory


def run_threads(count, work):
    """Run `work(index)` in `count` threads started together; return results and seconds."""
    barrier = threading.Barrier(count)
    results = [None] * count
    errors = []

    def thread_main(index):
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # reported below, so a failure in a thread fails the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    seconds = time.perf_counter() - started
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    return results, seconds


def assert_ledger_clean(capsys):
    call_command("ledger_verify")  # raises CommandError (exit 1) on any violation
    out = capsys.readouterr().out
    assert "violations: 0" in out
    return out.strip()


@pytest.fixture
def full_path(monkeypatch):
    """The locking path every change takes when the one statement does not apply (a new
    wallet, a limit, an earn rule, an idempotency key)."""
    monkeypatch.setattr("economy.services._ledger_append_one_statement", lambda **_: None)


@pytest.mark.postgres
@pytest.mark.django_db
def test_earn_and_spend_are_one_statement(player):
    coins = Currency.objects.get(code="coins")

    for operation, amount, kind, wallet_sql in (
        (wallet_earn, 10, "earn", "INSERT INTO economy_wallet"),  # creates the wallet
        (wallet_earn, 5, "earn", "INSERT INTO economy_wallet"),  # the upsert's update
        (wallet_spend, 3, "spend", "UPDATE economy_wallet"),
    ):
        with CaptureQueriesContext(connection) as captured:
            entry = operation(
                player=player, currency=coins, amount=amount, reason="q", request_id="r"
            )
        sql = [query["sql"] for query in captured.captured_queries]
        assert len(sql) == 1
        # The UPDATE takes the row lock; the INSERT reads its result, so it runs under the lock.
        assert sql[0].split()[:3] == ["WITH", "changed", "AS"]
        assert sql[0].index(wallet_sql) < sql[0].index("INSERT INTO economy_ledgerentry")
        assert entry.kind == kind
    assert Wallet.objects.get(player=player).balance == 12
    assert list(
        LedgerEntry.objects.filter(player=player)
        .order_by("id")
        .values_list("amount", "balance_after", "kind")
    ) == [(10, 10, "earn"), (5, 15, "earn"), (-3, 12, "spend")]
    assert set(LedgerEntry.objects.values_list("request_id", flat=True)) == {"r"}
    assert Wallet.objects.filter(player=player).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_wallet_row_is_locked_before_it_is_written(player, full_path):
    coins = Currency.objects.get(code="coins")
    wallet_earn(player=player, currency=coins, amount=1, reason="warm_up", request_id="")

    with CaptureQueriesContext(connection) as captured:
        wallet_earn(player=player, currency=coins, amount=5, reason="q", request_id="")

    sql = [query["sql"] for query in captured.captured_queries]
    locks = [
        i
        for i, s in enumerate(sql)
        if s.startswith("SELECT") and 'FROM "economy_wallet"' in s and s.endswith("FOR UPDATE")
    ]
    updates = [i for i, s in enumerate(sql) if s.startswith('UPDATE "economy_wallet"')]
    inserts = [i for i, s in enumerate(sql) if s.startswith('INSERT INTO "economy_ledgerentry"')]
    assert len(locks) == 1
    assert len(updates) == 1
    assert len(inserts) == 1
    assert locks[0] < updates[0] < inserts[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_spend_and_adjust_lock_the_wallet_too(player, full_path):
    coins = Currency.objects.get(code="coins")
    wallet_earn(player=player, currency=coins, amount=10, reason="q", request_id="")

    for operation in (
        lambda: wallet_spend(player=player, currency=coins, amount=1, reason="q", request_id=""),
        lambda: wallet_adjust(
            player=player, currency=coins, amount=1, note="x", actor=StaffFactory(), request_id=""
        ),
    ):
        with CaptureQueriesContext(connection) as captured:
            operation()
        sql = [query["sql"] for query in captured.captured_queries]
        lock = next(i for i, s in enumerate(sql) if s.endswith("FOR UPDATE"))
        update = next(i for i, s in enumerate(sql) if s.startswith('UPDATE "economy_wallet"'))
        assert 'FROM "economy_wallet"' in sql[lock]
        assert lock < update


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_50_threads_x_10_earns_lose_no_update(capsys):
    player = PlayerFactory()  # no wallet yet: the first grants also race to create it
    threads, per_thread, amount = 50, 10, 7

    def work(index):
        coins = Currency.objects.get(code="coins")
        for _ in range(per_thread):
            wallet_earn(player=player, currency=coins, amount=amount, reason="race", request_id="")
            connection.close()  # back to the pool, so every thread gets turns
        return per_thread

    _, seconds = run_threads(threads, work)

    wallet = Wallet.objects.get(player=player)
    assert wallet.balance == threads * per_thread * amount == 3500
    assert LedgerEntry.objects.filter(wallet=wallet).count() == 500
    assert sorted(LedgerEntry.objects.values_list("balance_after", flat=True)) == [
        amount * n for n in range(1, 501)
    ]
    summary = assert_ledger_clean(capsys)
    print(
        f"\nrace earn: {threads} threads x {per_thread} earns of {amount}: "
        f"balance {wallet.balance}, {seconds:.2f} s; {summary}"
    )


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_50_concurrent_spends_never_overdraw(capsys):
    player = PlayerFactory()
    coins = Currency.objects.get(code="coins")
    wallet_earn(player=player, currency=coins, amount=2000, reason="seed", request_id="")
    threads, amount = 50, 100

    def work(index):
        currency = Currency.objects.get(code="coins")
        try:
            wallet_spend(
                player=player, currency=currency, amount=amount, reason="race", request_id=""
            )
        except InsufficientFunds as exc:
            return ("refused", exc.extra["balance"])
        return ("spent", None)

    results, seconds = run_threads(threads, work)

    outcomes = Counter(outcome for outcome, _ in results)
    assert outcomes == {"spent": 20, "refused": 30}
    assert all(balance < amount for outcome, balance in results if outcome == "refused")
    wallet = Wallet.objects.get(player=player)
    assert wallet.balance == 0
    assert LedgerEntry.objects.filter(wallet=wallet, kind="spend").count() == 20
    assert min(LedgerEntry.objects.values_list("balance_after", flat=True)) == 0
    summary = assert_ledger_clean(capsys)
    print(
        f"\nrace spend: {threads} threads spending {amount} from 2000: 20 spent, 30 refused "
        f"(409), balance {wallet.balance}, {seconds:.2f} s; {summary}"
    )


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_grants_respect_the_daily_cap(capsys, monkeypatch):
    started = timezone.now()  # every grant counts on this UTC day, even across midnight
    monkeypatch.setattr("django.utils.timezone.now", lambda: started)
    player = PlayerFactory()
    EarnRuleFactory(reason="ad_reward", max_per_day=200)
    threads = 50

    def work(index):
        coins = Currency.objects.get(code="coins")
        try:
            wallet_earn(player=player, currency=coins, amount=10, reason="ad_reward", request_id="")
        except EarnLimitExceeded:
            return "refused"
        return "granted"

    results, seconds = run_threads(threads, work)

    assert Counter(results) == {"granted": 20, "refused": 30}
    assert Wallet.objects.get(player=player).balance == 200
    summary = assert_ledger_clean(capsys)
    print(
        f"\nrace daily cap: {threads} threads x 10 under a cap of 200: 20 granted, balance 200, "
        f"{seconds:.2f} s; {summary}"
    )


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_mixed_earn_spend_adjust_race_keeps_every_invariant(capsys):
    players = [PlayerFactory() for _ in range(3)]
    staff = StaffFactory()
    threads, per_thread = 30, 10

    def work(index):
        coins = Currency.objects.get(code="coins")
        player = players[index % 3]
        net = 0
        for step in range(per_thread):
            kind = (index + step) % 3
            try:
                if kind == 0:
                    wallet_earn(
                        player=player, currency=coins, amount=5, reason="mix", request_id=""
                    )
                    net += 5
                elif kind == 1:
                    wallet_spend(
                        player=player, currency=coins, amount=3, reason="mix", request_id=""
                    )
                    net -= 3
                else:
                    wallet_adjust(
                        player=player,
                        currency=coins,
                        amount=-2,
                        note="mix",
                        actor=staff,
                        request_id="",
                    )
                    net -= 2
            except InsufficientFunds:
                pass
            connection.close()
        return (index % 3, net)

    results, seconds = run_threads(threads, work)

    for position, player in enumerate(players):
        expected = sum(net for owner, net in results if owner == position)
        assert Wallet.objects.get(player=player).balance == expected
    summary = assert_ledger_clean(capsys)
    print(
        f"\nrace mixed: {threads} threads x {per_thread} earn/spend/adjust on 3 wallets, "
        f"{seconds:.2f} s; {summary}"
    )


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_20_concurrent_requests_with_one_key_execute_once(capsys):
    player = PlayerFactory()
    body = json.dumps({"amount": 500, "reason": "daily_login"})
    threads = 20

    def work(index):
        client = client_for(player)
        response = client.post(
            "/earn", data=body, content_type="application/json", headers={"Idempotency-Key": "once"}
        )
        return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")

    results, seconds = run_threads(threads, work)

    entry = LedgerEntry.objects.get()
    assert Wallet.objects.get(player=player).balance == 500
    statuses = Counter(status for status, _, _ in results)
    assert set(statuses) <= {200, 409}
    assert statuses[200] >= 1
    for status, body_json, _replayed in results:
        if status == 200:
            assert body_json["transactionId"] == str(entry.transaction_id)
            assert body_json["balance"] == 500
        else:
            assert body_json["code"] == "request_in_progress"
    assert sum(1 for status, _, replayed in results if status == 200 and replayed is None) == 1
    summary = assert_ledger_clean(capsys)
    print(
        f"\nrace idempotency: {threads} requests with one key: {dict(statuses)}, one entry, "
        f"balance 500, {seconds:.2f} s; {summary}"
    )
