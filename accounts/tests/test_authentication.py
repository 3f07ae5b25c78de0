"""Bearer token checks on a protected endpoint: every way a token can be wrong is a 401."""

import base64
import json
import time
import uuid

import jwt
import pytest
from django.conf import settings

from accounts.authentication import CheckedAccessToken, RememberingTokenBackend, _verified_claims
from accounts.services import token_pair_issue

pytestmark = pytest.mark.django_db

PROTECTED = "/account/password"
BODY = {"password": "correct horse battery staple"}


def claims(**overrides):
    now = int(time.time())
    base = {
        "token_type": "access",
        "exp": now + 600,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "sub": "player_0001",
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def sign(payload, key=None, algorithm="HS256"):
    return jwt.encode(payload, key or settings.JWT_SECRET, algorithm=algorithm)


def call(api_client, authorization):
    if authorization is not None:
        api_client.credentials(HTTP_AUTHORIZATION=authorization)
    return api_client.post(PROTECTED, BODY, format="json")


def assert_401(response, code):
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response["Content-Type"] == "application/problem+json"


def test_valid_token_is_accepted(api_client, player):
    response = call(api_client, f"Bearer {sign(claims(sub=player.username))}")

    assert response.status_code == 204


def test_no_token(api_client, player):
    assert_401(call(api_client, None), "not_authenticated")


@pytest.mark.parametrize(
    "header", ["Token abc", "Bearer", "Bearer a b", "bearer", "Basic dXNlcjpwYXNz", ""]
)
def test_malformed_authorization_header(api_client, player, header):
    assert_401(call(api_client, header), "token_invalid")


def test_wrong_signature(api_client, player):
    token = sign(claims(sub=player.username), key="another-secret-that-is-32-bytes-long!!")

    assert_401(call(api_client, f"Bearer {token}"), "token_invalid")


def test_alg_none_is_refused(api_client, player):
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims(sub=player.username)).encode())
    token = f"{header}.{payload.rstrip(b'=').decode()}."

    assert_401(call(api_client, f"Bearer {token}"), "token_invalid")


# The test signs with the server's secret, shorter than PyJWT recommends for SHA-512.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_hs512_is_refused_because_hs256_is_pinned(api_client, player):
    token = sign(claims(sub=player.username), algorithm="HS512")

    assert_401(call(api_client, f"Bearer {token}"), "token_invalid")


def test_tampered_payload(api_client, player):
    header, _, signature = sign(claims(sub=player.username)).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(sub="staff_admin")).encode())

    token = f"{header}.{forged.rstrip(b'=').decode()}.{signature}"

    assert_401(call(api_client, f"Bearer {token}"), "token_invalid")


def test_expired_token(api_client, player):
    token = sign(claims(sub=player.username, exp=int(time.time()) - 1))

    assert_401(call(api_client, f"Bearer {token}"), "token_invalid")


@pytest.mark.parametrize(
    "override", [{"aud": "other-game"}, {"iss": "someone-else"}, {"aud": None}, {"iss": None}]
)
def test_wrong_or_missing_audience_or_issuer(api_client, player, override):
    token = sign(claims(sub=player.username, **override))

    assert_401(call(api_client, f"Bearer {token}"), "token_invalid")


def test_refresh_token_is_refused_as_access_token(api_client, player):
    refresh = token_pair_issue(user=player).refresh

    assert_401(call(api_client, f"Bearer {refresh}"), "token_invalid")


def test_token_of_unknown_user(api_client, player):
    assert_401(call(api_client, f"Bearer {sign(claims(sub='ghost'))}"), "token_invalid")


def test_issued_tokens_carry_the_contract_claims(player):
    pair = token_pair_issue(user=player)

    payload = jwt.decode(
        pair.access,
        settings.JWT_SECRET,
        algorithms=["HS256"],
        audience=settings.JWT_AUDIENCE,
        issuer=settings.JWT_ISSUER,
    )

    assert payload["sub"] == player.username
    assert payload["token_type"] == "access"
    assert payload["exp"] - payload["iat"] == 7200
    assert len(payload["jti"]) == 32
    assert jwt.get_unverified_header(pair.access)["alg"] == "HS256"


# Claims PyJWT accepts (it only checks that exp, iat and nbf turn into integers) but simplejwt
# cannot turn into a datetime (exp "9999999999", 10**30): correctly signed, 401, never a 500.
@pytest.mark.parametrize(
    "override",
    [
        {"exp": "9999999999"},
        {"exp": 10**30},
        {"exp": 1e300},
        {"exp": "soon"},
        {"exp": [1]},
        {"iat": "9999999999"},  # PyJWT: issued in the future
        {"iat": 10**30},
        {"iat": "now"},
        {"nbf": 10**30},  # PyJWT: not yet valid
        {"nbf": "later"},
    ],
)
def test_signed_token_with_odd_time_claims_is_401(api_client, player, override):
    token = sign(claims(sub=player.username, **override))

    assert_401(call(api_client, f"Bearer {token}"), "token_invalid")
    # /stats authenticates optionally: a token that is sent must be valid.
    assert_401(api_client.get("/stats"), "token_invalid")
    player.refresh_from_db()
    assert not player.has_usable_password()


@pytest.mark.parametrize("exp", ["9999999999", 10**30])
def test_signed_refresh_token_with_odd_exp_is_401(api_client, player, exp):
    token = sign(claims(sub=player.username, token_type="refresh", exp=exp))

    response = api_client.post("/token/refresh", {"refreshToken": token}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def read(api_client, token):
    """A read the same token may repeat (the tests of remembered tokens)."""
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api_client.get("/balance")


def test_a_remembered_token_is_refused_once_it_expires_as_a_new_one_is(api_client, player):
    expires = int(time.time()) + 2  # valid for 1 to 2 s: long enough for the first two reads
    token = sign(claims(sub=player.username, exp=expires))
    assert read(api_client, token).status_code == 200
    assert read(api_client, token).status_code == 200  # from what was verified
    while time.time() <= expires:
        time.sleep(0.05)

    refused = read(api_client, token)

    assert_401(refused, "token_invalid")
    expired_at_first_sight = read(api_client, sign(claims(sub=player.username, exp=1)))
    assert refused.json()["detail"] == expired_at_first_sight.json()["detail"]
    assert refused.json()["detail"] == "Invalid access token: Token is expired"


def test_only_verified_tokens_are_remembered(api_client, player):
    _verified_claims.cache_clear()
    header, _, signature = sign(claims(sub=player.username)).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(sub="staff_admin")).encode())
    bad = [
        f"{header}.{forged.rstrip(b'=').decode()}.{signature}",
        sign(claims(sub=player.username), key="another-secret-that-is-32-bytes-long!!"),
        sign(claims(sub=player.username, exp=1)),
    ]
    for token in bad:
        assert_401(read(api_client, token), "token_invalid")
    assert _verified_claims.cache_info().currsize == 0

    assert read(api_client, sign(claims(sub=player.username))).status_code == 200
    assert _verified_claims.cache_info().currsize == 1


def test_each_use_of_a_remembered_token_gets_its_own_claims():
    backend = CheckedAccessToken().token_backend
    remembering = RememberingTokenBackend(backend)
    token = sign(claims(sub="player_0001", exp=int(time.time()) + 600)).encode()

    first = remembering.decode(token)
    first["sub"] = "staff_admin"
    second = remembering.decode(token)

    assert second == backend.decode(token)
    assert second["sub"] == "player_0001"
