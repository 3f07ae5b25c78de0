"""The lockout holds under a concurrent burst: at most 5 passwords are checked per account per
lock window, whatever the concurrency, and a right password that arrives after 5 wrong ones
were claimed gets no token (contract §3.1 lockout, §3.2)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from accounts.tests.factories import PlayerFactory
from accounts.tests.helpers import sqlite_file_run
from accounts.tests.lockout_race import (
    PASSWORD,
    burst_of_wrong_passwords,
    counting_checks,
    right_password_after_a_burst,
    run_together,
)


def http_login(user_id, password):
    response = APIClient().post("/login", {"userId": user_id, "password": password}, format="json")
    return response.status_code


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twelve_concurrent_wrong_passwords_check_exactly_five():
    PlayerFactory(username="p1", password=PASSWORD)

    with counting_checks() as counter:
        statuses = run_together(12, lambda _: http_login("p1", "wrong password"))

    assert sorted(statuses) == [401] * 5 + [429] * 7
    assert counter.checked == [False] * 5
    user = User.objects.get(username="p1")
    assert user.locked_until is not None
    assert OutstandingToken.objects.count() == 0
    assert http_login("p1", PASSWORD) == 429


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twelve_concurrent_wrong_passwords_through_the_service_check_exactly_five():
    PlayerFactory(username="p1", password=PASSWORD)

    statuses, checked = burst_of_wrong_passwords("p1", 12)

    assert (statuses[401], statuses[429], statuses[200], checked) == (5, 7, 0, 5)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_right_password_after_five_claimed_wrong_ones_gets_no_token():
    PlayerFactory(username="p1", password=PASSWORD)

    right, wrong, checked = right_password_after_a_burst("p1", http_login)

    assert right == 429
    assert (wrong[401], wrong[429]) == (5, 0)
    assert checked == 5  # the right password was never checked
    assert OutstandingToken.objects.count() == 0
    assert http_login("p1", PASSWORD) == 429  # locked a minute after the 5th failure


@pytest.mark.slow
def test_the_lockout_holds_under_a_burst_on_a_sqlite_file(tmp_path):
    result = sqlite_file_run(
        "accounts.tests.lockout_race", database=tmp_path / "lockout.db", log_level="ERROR"
    )

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    # burst: 401s, 429s, 200s, passwords checked, locked afterwards
    assert lines[-2] == "burst 5 7 0 5 1"
    # right: status of the right password, wrong ones' 401s and 429s, checked, tokens issued
    assert lines[-1] == "right 429 5 0 5 0"


@pytest.mark.django_db
def test_the_attempt_is_counted_before_the_password_is_checked(monkeypatch):
    PlayerFactory(username="p1", password=PASSWORD)
    seen = []
    original = User.check_password

    def check_password(user, raw_password):
        seen.append(User.objects.values_list("login_failures", flat=True).get(pk=user.pk))
        return original(user, raw_password)

    monkeypatch.setattr(User, "check_password", check_password)

    assert http_login("p1", "wrong password") == 401
    assert http_login("p1", "wrong password") == 401
    assert http_login("p1", PASSWORD) == 200

    assert seen == [1, 2, 3]  # each attempt was claimed before its check
    assert User.objects.values_list("login_failures", flat=True).get(username="p1") == 0


@pytest.mark.django_db
def test_the_lock_ends_a_minute_after_the_fifth_failure(monkeypatch):
    PlayerFactory(username="p1", password=PASSWORD)
    start = timezone.now()
    for step in range(5):
        monkeypatch.setattr(timezone, "now", lambda s=step: start + timedelta(seconds=10 * s))
        assert http_login("p1", "wrong password") == 401

    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=99))
    assert http_login("p1", PASSWORD) == 429
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=100))
    assert http_login("p1", PASSWORD) == 200
    assert OutstandingToken.objects.count() == 1
