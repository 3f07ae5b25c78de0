"""Idempotency-Key on /earn and /spend (SPEC §4, §3.1 "Idempotency details")."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import PlayerFactory
from accounts.tests.helpers import client_for
from economy.idempotency import request_fingerprint
from economy.models import IdempotencyRecord, LedgerEntry
from economy.services import wallet_earn
from economy.tests.helpers import balance_of, idempotency_records, nothing_written

pytestmark = pytest.mark.django_db

EARN = {"amount": 500, "reason": "daily_login"}


def post(client, path, body, key=None):
    headers = {} if key is None else {"Idempotency-Key": key}
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data=raw, content_type="application/json", headers=headers)


def test_replay_returns_the_first_response_byte_for_byte(player_client, player):
    first = post(player_client, "/earn", EARN, key="k1")
    replay = post(player_client, "/earn", EARN, key="k1")

    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Content-Type"] == "application/json"
    assert nothing_written(player, balance=500, entries=1)
    entry = LedgerEntry.objects.get()
    assert entry.idempotency_key == "k1"
    assert json.loads(first.content)["transactionId"] == str(entry.transaction_id)
    assert idempotency_records(player) == [("k1", "done")]


def test_replay_with_keys_in_another_order_is_the_same_body(player_client, player):
    first = post(player_client, "/earn", '{"amount": 5, "reason": "q"}', key="k1")
    replay = post(player_client, "/earn", '{"reason":"q","amount":5}', key="k1")

    assert replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert nothing_written(player, balance=5, entries=1)


def test_replay_does_not_see_later_balance_changes(player_client, player, coins):
    first = post(player_client, "/earn", EARN, key="k1")
    wallet_earn(player=player, currency=coins, amount=1, reason="quest", request_id="")

    replay = post(player_client, "/earn", EARN, key="k1")

    assert replay.json()["balance"] == 500
    assert replay.content == first.content
    assert balance_of(player) == 501


def test_a_different_body_with_the_same_key_is_422(player_client, player):
    post(player_client, "/earn", EARN, key="k1")

    response = post(player_client, "/earn", {"amount": 501, "reason": "daily_login"}, key="k1")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert nothing_written(player, balance=500, entries=1)


def test_the_same_key_on_another_endpoint_is_422(player_client, player):
    post(player_client, "/earn", EARN, key="k1")

    response = post(player_client, "/spend", EARN, key="k1")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert nothing_written(player, balance=500, entries=1)


def test_an_explicit_default_currency_is_a_different_body(player_client, player):
    """The fingerprint is the parsed body as sent: defaults are not filled in."""
    post(player_client, "/earn", EARN, key="k1")

    response = post(player_client, "/earn", {**EARN, "currency": "coins"}, key="k1")

    assert response.status_code == 422


def test_keys_are_scoped_to_the_player(player_client, player):
    other = PlayerFactory()
    post(player_client, "/earn", EARN, key="shared")

    response = post(client_for(other), "/earn", EARN, key="shared")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    assert balance_of(player) == 500
    assert balance_of(other) == 500


def test_a_refusal_is_stored_and_replayed(player_client, player, coins):
    first = post(player_client, "/spend", {"amount": 10, "reason": "shop"}, key="s1")
    wallet_earn(player=player, currency=coins, amount=100, reason="quest", request_id="")

    replay = post(player_client, "/spend", {"amount": 10, "reason": "shop"}, key="s1")

    assert first.status_code == replay.status_code == 409
    assert first.json()["code"] == "insufficient_funds"
    assert first.json()["balance"] == 0
    assert replay.content == first.content
    assert replay.headers["Content-Type"] == "application/problem+json"
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert nothing_written(player, balance=100, entries=1)
    assert idempotency_records(player) == [("s1", "done")]


def test_a_refusal_body_matches_a_keyless_refusal(player_client, player):
    with_key = post(player_client, "/spend", {"amount": 10, "reason": "shop"}, key="s1")
    without_key = post(player_client, "/spend", {"amount": 10, "reason": "shop"})

    assert with_key.content == without_key.content
    assert with_key.headers["Content-Type"] == without_key.headers["Content-Type"]


@pytest.mark.parametrize("key", ["", "k" * 129])
def test_empty_or_over_long_keys_are_400(player_client, player, key):
    response = post(player_client, "/earn", EARN, key=key)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.content == (
        b'{"type":"urn:gamebackend:problem:validation_error","title":"Bad Request","status":400,'
        b'"code":"validation_error","detail":"The request is not valid; see errors.","errors":'
        b'[{"field":"Idempotency-Key","code":"invalid_length",'
        b'"message":"Must be 1 to 128 characters."}]}'
    )
    assert nothing_written(player, balance=None, entries=0)
    assert IdempotencyRecord.objects.count() == 0


def test_a_128_character_key_is_accepted(player_client, player):
    response = post(player_client, "/earn", EARN, key="k" * 128)

    assert response.status_code == 200
    assert idempotency_records(player) == [("k" * 128, "done")]


def test_a_400_is_not_stored_so_the_key_stays_usable(player_client, player):
    bad = post(player_client, "/earn", {"amount": "500", "reason": "daily_login"}, key="k1")
    good = post(player_client, "/earn", EARN, key="k1")

    assert bad.status_code == 400
    assert good.status_code == 200
    assert "Idempotent-Replayed" not in good.headers
    assert balance_of(player) == 500


def _claim(player, key, body, *, started_ago, path="/earn"):
    now = timezone.now()
    return IdempotencyRecord.objects.create(
        player=player,
        key=key,
        fingerprint=request_fingerprint(method="POST", path=path, body=body),
        state="in_progress",
        claim_token="00000000-0000-4000-8000-000000000000",
        created_at=now - started_ago,
        started_at=now - started_ago,
    )


def test_a_key_still_executing_is_409_request_in_progress(player_client, player):
    _claim(player, "k1", EARN, started_ago=timedelta(seconds=5))

    response = post(player_client, "/earn", EARN, key="k1")

    assert response.status_code == 409
    assert response.json()["code"] == "request_in_progress"
    assert nothing_written(player, balance=None, entries=0)
    assert idempotency_records(player) == [("k1", "in_progress")]


def test_an_abandoned_claim_is_taken_over(player_client, player):
    _claim(player, "k1", EARN, started_ago=timedelta(seconds=61))

    response = post(player_client, "/earn", EARN, key="k1")

    assert response.status_code == 200
    assert balance_of(player) == 500
    assert idempotency_records(player) == [("k1", "done")]
    assert post(player_client, "/earn", EARN, key="k1").content == response.content


def test_an_abandoned_claim_with_another_body_is_still_422(player_client, player):
    _claim(player, "k1", {"amount": 1, "reason": "x"}, started_ago=timedelta(minutes=5))

    response = post(player_client, "/earn", EARN, key="k1")

    assert response.status_code == 422
    assert nothing_written(player, balance=None, entries=0)


def test_a_request_whose_claim_was_taken_over_writes_nothing(player, coins):
    """The fence: a slow request whose claim passed to another cannot complete too."""
    from economy.errors import IdempotencyClaimLost
    from economy.idempotency import idempotency_claim
    from economy.serializers import wallet_change_body

    fingerprint = request_fingerprint(method="POST", path="/earn", body=EARN)
    slow = idempotency_claim(
        player=player, key="k1", fingerprint=fingerprint, render_success=wallet_change_body
    )
    IdempotencyRecord.objects.filter(pk=slow.record_pk).update(
        started_at=timezone.now() - timedelta(minutes=2)
    )
    successor = idempotency_claim(
        player=player, key="k1", fingerprint=fingerprint, render_success=wallet_change_body
    )

    with pytest.raises(IdempotencyClaimLost):
        wallet_earn(
            player=player,
            currency=coins,
            amount=500,
            reason="daily_login",
            idempotency=slow,
            request_id="",
        )
    assert nothing_written(player, balance=None, entries=0)

    wallet_earn(
        player=player,
        currency=coins,
        amount=500,
        reason="daily_login",
        idempotency=successor,
        request_id="",
    )
    assert nothing_written(player, balance=500, entries=1)


def test_an_unexpected_error_releases_the_key(player_client, player, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    player_client.raise_request_exception = False
    with monkeypatch.context() as patched:
        patched.setattr("economy.services.wallet_earn", broken)
        failed = post(player_client, "/earn", EARN, key="k1")

    assert failed.status_code == 500
    assert IdempotencyRecord.objects.count() == 0
    assert post(player_client, "/earn", EARN, key="k1").status_code == 200


def test_an_expired_key_is_treated_as_new(player_client, player, settings):
    first = post(player_client, "/earn", EARN, key="k1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))

    second = post(player_client, "/earn", EARN, key="k1")

    assert second.status_code == 200
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["transactionId"] != first.json()["transactionId"]
    assert balance_of(player) == 1000
    assert idempotency_records(player) == [("k1", "done")]


def test_an_expired_key_may_carry_another_body(player_client, player):
    post(player_client, "/earn", EARN, key="k1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    response = post(player_client, "/earn", {"amount": 1, "reason": "q"}, key="k1")

    assert response.status_code == 200
    assert balance_of(player) == 501


def test_a_key_within_the_ttl_is_replayed(player_client, player):
    post(player_client, "/earn", EARN, key="k1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))

    response = post(player_client, "/earn", EARN, key="k1")

    assert response.headers["Idempotent-Replayed"] == "true"
    assert balance_of(player) == 500


def test_prune_deletes_only_expired_records(player_client, player, capsys):
    post(player_client, "/earn", EARN, key="old")
    post(player_client, "/earn", EARN, key="fresh")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    call_command("prune_idempotency_keys")

    assert idempotency_records(player) == [("fresh", "done")]
    assert "deleted 1 idempotency record(s) older than 24 h" in capsys.readouterr().out
    assert LedgerEntry.objects.count() == 2


def test_prune_works_in_batches(player, coins):
    from economy.services import idempotency_records_prune

    old = timezone.now() - timedelta(hours=48)
    IdempotencyRecord.objects.bulk_create(
        IdempotencyRecord(
            player=player,
            key=f"k{i}",
            fingerprint="f",
            state="in_progress",
            claim_token="00000000-0000-4000-8000-000000000000",
            created_at=old,
            started_at=old,
        )
        for i in range(7)
    )

    assert idempotency_records_prune(batch_size=3) == 7
    assert IdempotencyRecord.objects.count() == 0


def test_fingerprint_is_method_path_and_sorted_body():
    a = request_fingerprint(method="POST", path="/earn", body={"b": 1, "a": [1, {"y": 2, "x": 1}]})
    b = request_fingerprint(method="post", path="/earn", body={"a": [1, {"x": 1, "y": 2}], "b": 1})

    assert a == b
    assert len(a) == 64
    assert a != request_fingerprint(method="POST", path="/spend", body={"b": 1, "a": [1, {}]})
