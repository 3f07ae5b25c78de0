"""`/login`, `/token/refresh`, `/account/password`: every rule of the contract, one test each."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.services import player_ban, token_pair_issue
from accounts.tests.factories import PlayerFactory, StaffFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def login(client, **body):
    return client.post("/login", body, format="json")


def test_first_login_creates_the_player_and_returns_the_seed_shape(api_client):
    response = login(api_client, userId="player_001")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "refreshToken", "tokenType", "expiresIn", "userId"}
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 7200
    assert body["userId"] == "player_001"
    user = User.objects.get(username="player_001")
    assert not user.has_usable_password()
    assert not user.is_staff


def test_second_login_reuses_the_player(api_client):
    login(api_client, userId="player_001")
    login(api_client, userId="player_001")

    assert User.objects.filter(username="player_001").count() == 1


def test_user_id_is_case_sensitive(api_client):
    login(api_client, userId="Player_A")
    login(api_client, userId="player_a")

    assert sorted(User.objects.values_list("username", flat=True)) == ["Player_A", "player_a"]


@pytest.mark.parametrize(
    "user_id",
    ["", " player", "player ", "a" * 65, "bad/slash", "spa ce", "émile", 42, None, ["x"]],
)
def test_invalid_user_ids_are_refused_and_create_nothing(api_client, user_id):
    response = login(api_client, userId=user_id)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "userId"
    assert User.objects.count() == 0


def test_longest_valid_user_id_is_accepted(api_client):
    user_id = "a" * 60 + "_.:@"

    assert login(api_client, userId=user_id).status_code == 200


def test_password_is_required_once_set(api_client):
    player = PlayerFactory(username="p1")
    player.set_password(PASSWORD)
    player.save()

    bare = login(api_client, userId="p1")
    wrong = login(api_client, userId="p1", password="nope")
    right = login(api_client, userId="p1", password=PASSWORD)

    assert (bare.status_code, bare.json()["code"]) == (401, "invalid_credentials")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    assert right.status_code == 200


def test_setting_a_password_through_the_api(player, player_client, api_client):
    response = player_client.post("/account/password", {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    assert login(api_client, userId=player.username).status_code == 401
    assert login(api_client, userId=player.username, password=PASSWORD).status_code == 200


def test_weak_password_is_refused_and_nothing_changes(player, player_client):
    response = player_client.post("/account/password", {"password": "123"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "password"
    player.refresh_from_db()
    assert not player.has_usable_password()


def test_staff_sign_in_with_username_and_password(api_client):
    staff = StaffFactory(username="ops_anna")

    response = login(api_client, userId="ops_anna", password=PASSWORD)

    assert response.status_code == 200
    assert response.json()["userId"] == staff.username


def test_banned_player_gets_403_at_login(api_client):
    player = PlayerFactory(username="cheater")
    player_ban(player=player, reason="speed hack", actor=None)

    response = login(api_client, userId="cheater")

    assert response.status_code == 403
    assert response.json()["code"] == "account_banned"


def test_ban_stops_live_access_tokens_and_revokes_refresh_tokens(api_client):
    player = PlayerFactory(username="cheater")
    pair = token_pair_issue(user=player)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    assert (
        api_client.post("/account/password", {"password": PASSWORD}, format="json").status_code
        == 204
    )

    player_ban(player=player, reason="speed hack", actor=None)

    response = api_client.post("/account/password", {"password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    refreshed = api_client.post("/token/refresh", {"refreshToken": pair.refresh}, format="json")
    assert refreshed.status_code == 401
    assert BlacklistedToken.objects.filter(token__user=player).count() == 1


def test_five_failed_passwords_lock_the_account_for_a_minute(api_client, monkeypatch):
    player = PlayerFactory(username="p1")
    player.set_password(PASSWORD)
    player.save()
    start = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: start)

    codes = [login(api_client, userId="p1", password="wrong").json()["code"] for _ in range(5)]
    locked = login(api_client, userId="p1", password=PASSWORD)

    assert codes == ["invalid_credentials"] * 5
    assert locked.status_code == 429
    assert locked.json()["code"] == "account_locked"
    assert locked["Retry-After"] == "60"

    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=59))
    assert login(api_client, userId="p1", password=PASSWORD).status_code == 429
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=61))
    assert login(api_client, userId="p1", password=PASSWORD).status_code == 200


def test_bare_logins_count_as_failures_and_success_resets_the_count(api_client, monkeypatch):
    player = PlayerFactory(username="p1")
    player.set_password(PASSWORD)
    player.save()

    for _ in range(4):
        login(api_client, userId="p1")
    assert login(api_client, userId="p1", password=PASSWORD).status_code == 200
    for _ in range(4):
        login(api_client, userId="p1", password="wrong")

    assert login(api_client, userId="p1", password=PASSWORD).status_code == 200
    player.refresh_from_db()
    assert (player.login_failures, player.locked_until) == (0, None)


def test_failures_spread_over_more_than_a_minute_do_not_lock(api_client, monkeypatch):
    player = PlayerFactory(username="p1")
    player.set_password(PASSWORD)
    player.save()
    start = timezone.now()
    for minute in range(5):
        monkeypatch.setattr(timezone, "now", lambda m=minute: start + timedelta(seconds=61 * m))
        login(api_client, userId="p1", password="wrong")

    assert login(api_client, userId="p1", password=PASSWORD).status_code == 200


def test_refresh_rotates_and_the_old_token_stops_working(api_client):
    first = login(api_client, userId="p1").json()

    rotated = api_client.post(
        "/token/refresh", {"refreshToken": first["refreshToken"]}, format="json"
    )

    assert rotated.status_code == 200
    body = rotated.json()
    assert body["refreshToken"] != first["refreshToken"]
    assert body["userId"] == "p1"
    second = api_client.post(
        "/token/refresh", {"refreshToken": body["refreshToken"]}, format="json"
    )
    assert second.status_code == 200


def test_refresh_token_reuse_revokes_every_refresh_token_of_the_player(api_client):
    other_session = login(api_client, userId="p1").json()
    first = login(api_client, userId="p1").json()
    rotated = api_client.post(
        "/token/refresh", {"refreshToken": first["refreshToken"]}, format="json"
    ).json()

    reuse = api_client.post(
        "/token/refresh", {"refreshToken": first["refreshToken"]}, format="json"
    )

    assert reuse.status_code == 401
    assert reuse.json()["code"] == "token_invalid"
    for token in (rotated["refreshToken"], other_session["refreshToken"]):
        response = api_client.post("/token/refresh", {"refreshToken": token}, format="json")
        assert response.status_code == 401
    outstanding = OutstandingToken.objects.filter(user__username="p1").count()
    assert BlacklistedToken.objects.filter(token__user__username="p1").count() == outstanding == 3


def test_an_access_token_is_refused_as_a_refresh_token(api_client):
    access = login(api_client, userId="p1").json()["token"]

    response = api_client.post("/token/refresh", {"refreshToken": access}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_login_with_unknown_click_id_succeeds_without_attribution(api_client):
    response = login(api_client, userId="p1", clickId="no-such-click")

    assert response.status_code == 200
