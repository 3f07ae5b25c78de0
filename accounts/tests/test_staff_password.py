"""Staff accounts never sign in without their password; passwords change only with the current
one (contract §3.2). Each test also checks that nothing was issued or written on a refusal."""

import pytest
from django.core.management import call_command
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from accounts.tests.factories import PlayerFactory, StaffFactory
from accounts.tests.helpers import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another long passphrase"


def login(client, **body):
    return client.post("/login", body, format="json")


def change_password(client, **body):
    return client.post("/account/password", body, format="json")


def failures_of(username):
    return User.objects.values_list("login_failures", flat=True).get(username=username)


def assert_refused(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code


# --- finding 1: staff login only with the password -------------------------------------------


def test_superuser_from_createsuperuser_noinput_cannot_sign_in_without_a_password(
    api_client, monkeypatch
):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    call_command("createsuperuser", "--noinput", username="root", email="root@example.org")
    root = User.objects.get(username="root")
    assert (root.is_superuser, root.is_staff, root.has_usable_password()) == (True, True, False)

    bare = login(api_client, userId="root")
    guessed = login(api_client, userId="root", password=PASSWORD)
    empty = login(api_client, userId="root", password="")

    assert_refused(bare, 401, "invalid_credentials")
    assert_refused(guessed, 401, "invalid_credentials")
    assert empty.status_code == 400  # a blank password is a validation error, not an attempt
    assert OutstandingToken.objects.count() == 0
    assert failures_of("root") == 2
    root.refresh_from_db()
    assert not root.has_usable_password()


def test_a_player_ticked_staff_without_a_password_no_longer_signs_in_bare(api_client):
    assert login(api_client, userId="ops_new").status_code == 200  # a player first
    User.objects.filter(username="ops_new").update(is_staff=True)
    issued = OutstandingToken.objects.count()

    response = login(api_client, userId="ops_new")

    assert_refused(response, 401, "invalid_credentials")
    assert OutstandingToken.objects.count() == issued == 1
    assert failures_of("ops_new") == 1


def test_a_superuser_that_is_not_staff_also_needs_its_password(api_client):
    PlayerFactory(username="root_only", is_superuser=True)

    assert_refused(login(api_client, userId="root_only"), 401, "invalid_credentials")
    assert OutstandingToken.objects.count() == 0


def test_bare_logins_to_a_staff_account_count_towards_the_lockout(api_client):
    StaffFactory(username="ops_anna")

    codes = [login(api_client, userId="ops_anna").json()["code"] for _ in range(5)]
    right = login(api_client, userId="ops_anna", password=PASSWORD)

    assert codes == ["invalid_credentials"] * 5
    assert_refused(right, 429, "account_locked")
    assert OutstandingToken.objects.count() == 0


def test_staff_with_a_password_still_sign_in_with_it(api_client):
    StaffFactory(username="ops_anna")

    response = login(api_client, userId="ops_anna", password=PASSWORD)

    assert response.status_code == 200
    assert response.json()["userId"] == "ops_anna"
    assert failures_of("ops_anna") == 0


# --- finding 2: password changes -------------------------------------------------------------


@pytest.mark.parametrize("body", [{"password": NEW_PASSWORD}, {"password": "x"}, {}])
def test_staff_cannot_set_a_password_through_the_api(body):
    """The staff token here is minted directly: it shows the second link of the old chain
    (bare staff login, then set the admin password) is closed on its own as well."""
    staff = StaffFactory(username="ops_root", is_superuser=True, password=None)
    client = client_for(staff)

    response = change_password(client, **body)

    assert_refused(response, 403, "permission_denied")
    staff.refresh_from_db()
    assert not staff.has_usable_password()


def test_staff_with_a_password_cannot_change_it_through_the_api_either():
    staff = StaffFactory(username="ops_anna")
    client = client_for(staff)

    response = change_password(client, password=NEW_PASSWORD, currentPassword=PASSWORD)

    assert_refused(response, 403, "permission_denied")
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)
    assert not staff.check_password(NEW_PASSWORD)


def test_a_first_password_needs_no_current_password(player, player_client):
    response = change_password(player_client, password=PASSWORD)

    assert response.status_code == 204
    player.refresh_from_db()
    assert player.check_password(PASSWORD)


def test_changing_a_password_without_the_current_one_is_a_validation_error():
    player = PlayerFactory(username="p1", password=PASSWORD)
    client = client_for(player)

    response = change_password(client, password=NEW_PASSWORD)

    assert_refused(response, 400, "validation_error")
    assert response.content == (
        b'{"type":"urn:gamebackend:problem:validation_error","title":"Bad Request","status":400,'
        b'"code":"validation_error","detail":"The request is not valid; see errors.","errors":'
        b'[{"field":"currentPassword","code":"required",'
        b'"message":"Send the current password to change it."}]}'
    )
    player.refresh_from_db()
    assert player.check_password(PASSWORD)
    assert failures_of("p1") == 0


def test_a_wrong_current_password_is_401_and_counts_towards_the_lockout():
    player = PlayerFactory(username="p1", password=PASSWORD)
    client = client_for(player)

    wrong = [
        change_password(client, password=NEW_PASSWORD, currentPassword="nope") for _ in range(5)
    ]
    locked_change = change_password(client, password=NEW_PASSWORD, currentPassword=PASSWORD)
    locked_login = login(client, userId="p1", password=PASSWORD)

    assert [(r.status_code, r.json()["code"]) for r in wrong] == [(401, "invalid_credentials")] * 5
    assert_refused(locked_change, 429, "account_locked")
    assert locked_change["Retry-After"] == "60"
    assert_refused(locked_login, 429, "account_locked")
    player.refresh_from_db()
    assert player.check_password(PASSWORD)


def test_the_right_current_password_changes_it_and_resets_the_failure_count(api_client):
    player = PlayerFactory(username="p1", password=PASSWORD)
    client = client_for(player)
    login(api_client, userId="p1", password="nope")
    assert failures_of("p1") == 1

    response = change_password(client, password=NEW_PASSWORD, currentPassword=PASSWORD)

    assert response.status_code == 204
    player.refresh_from_db()
    assert player.check_password(NEW_PASSWORD)
    assert failures_of("p1") == 0
    assert login(api_client, userId="p1", password=PASSWORD).status_code == 401
    assert login(api_client, userId="p1", password=NEW_PASSWORD).status_code == 200


def test_a_weak_new_password_is_refused_before_the_current_one_is_checked():
    player = PlayerFactory(username="p1", password=PASSWORD)
    client = client_for(player)

    response = change_password(client, password="123", currentPassword="nope")

    assert_refused(response, 400, "validation_error")
    assert response.content == (
        b'{"type":"urn:gamebackend:problem:validation_error","title":"Bad Request","status":400,'
        b'"code":"validation_error","detail":"The request is not valid; see errors.","errors":['
        b'{"field":"password","code":"weak_password",'
        b'"message":"This password is too short. It must contain at least 8 characters."},'
        b'{"field":"password","code":"weak_password","message":"This password is too common."},'
        b'{"field":"password","code":"weak_password",'
        b'"message":"This password is entirely numeric."}]}'
    )
    assert failures_of("p1") == 0
    player.refresh_from_db()
    assert player.check_password(PASSWORD)
