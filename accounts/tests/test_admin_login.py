"""The admin login form shares the per-account lockout with /login and is throttled per IP."""

import pytest
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from accounts.tests.factories import STAFF_PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/?next=/admin/"


def admin_login(client, username, password, ip="10.0.0.1"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client):
    return "_auth_user_id" in client.session


def errors_of(response):
    return list(response.context["form"].non_field_errors())


@pytest.fixture
def staff():
    return StaffFactory(username="ops_anna", is_superuser=True)


def test_the_right_password_signs_in_and_resets_the_failure_count(staff):
    client = Client()
    admin_login(client, "ops_anna", "wrong")

    response = admin_login(client, "ops_anna", STAFF_PASSWORD)

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert signed_in(client)
    assert User.objects.values_list("login_failures", flat=True).get(pk=staff.pk) == 0


def test_five_wrong_admin_passwords_lock_the_account_even_for_the_right_one(staff):
    client = Client()

    wrong = [admin_login(client, "ops_anna", "wrong", ip=f"10.0.0.{n}") for n in range(5)]
    locked = admin_login(client, "ops_anna", STAFF_PASSWORD, ip="10.9.9.9")

    assert [r.status_code for r in wrong] == [200] * 5  # the usual form error
    assert "Please enter the correct userId and password" in errors_of(wrong[0])[0]
    assert locked.status_code == 429
    assert locked["Retry-After"] == "60"
    assert errors_of(locked) == [
        "Too many failed sign-ins for this account; it is locked. Try again in 60 seconds."
    ]
    assert b"it is locked" in locked.content
    assert not signed_in(client)
    api = APIClient().post(
        "/login", {"userId": "ops_anna", "password": STAFF_PASSWORD}, format="json"
    )
    assert (api.status_code, api.json()["code"]) == (429, "account_locked")
    assert OutstandingToken.objects.count() == 0


def test_failures_on_the_api_lock_the_admin_login_too(staff):
    api = APIClient()
    for _ in range(5):
        api.post("/login", {"userId": "ops_anna", "password": "wrong"}, format="json")
    client = Client()

    response = admin_login(client, "ops_anna", STAFF_PASSWORD)

    assert response.status_code == 429
    assert not signed_in(client)


def test_the_admin_login_is_throttled_per_ip(staff, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "admin_login", "3/min")
    client = Client()

    answered = [admin_login(client, "nobody", "wrong").status_code for _ in range(3)]
    throttled = admin_login(client, "ops_anna", STAFF_PASSWORD)
    elsewhere = admin_login(Client(), "ops_anna", STAFF_PASSWORD, ip="10.0.0.2")

    assert answered == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "30"  # the tests' clock stands half way through its window
    assert errors_of(throttled) == [
        "Too many sign-in attempts from your address; try again in 30 seconds."
    ]
    assert not signed_in(client)
    # The throttled attempt never reached the password check.
    assert User.objects.values_list("login_failures", flat=True).get(pk=staff.pk) == 0
    assert elsewhere.status_code == 302


def test_showing_the_login_page_is_not_throttled(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "admin_login", "1/min")
    client = Client()

    assert [client.get(LOGIN_URL).status_code for _ in range(3)] == [200, 200, 200]


def test_the_admin_password_change_checks_the_old_password_under_the_lockout(staff):
    client = Client()
    client.force_login(staff)
    url = "/admin/password_change/"
    new = {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"}

    wrong = [client.post(url, {"old_password": "wrong", **new}) for _ in range(5)]
    locked = client.post(url, {"old_password": STAFF_PASSWORD, **new})

    assert [r.status_code for r in wrong] == [200] * 5
    assert "Your old password was entered incorrectly" in wrong[0].content.decode()
    assert locked.status_code == 200
    assert list(locked.context["form"].errors["old_password"]) == [
        "Too many wrong passwords for this account; it is locked. Try again in 60 seconds."
    ]
    staff.refresh_from_db()
    assert staff.check_password(STAFF_PASSWORD)
    api = APIClient().post(
        "/login", {"userId": "ops_anna", "password": STAFF_PASSWORD}, format="json"
    )
    assert api.status_code == 429


def test_the_admin_password_change_works_with_the_right_old_password(staff):
    client = Client()
    client.force_login(staff)
    new = {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"}

    response = client.post("/admin/password_change/", {"old_password": STAFF_PASSWORD, **new})

    assert (response.status_code, response["Location"]) == (302, "/admin/password_change/done/")
    staff.refresh_from_db()
    assert staff.check_password("a brand new passphrase")
