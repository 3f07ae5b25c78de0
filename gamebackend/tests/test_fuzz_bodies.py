"""Random bodies to every write endpoint: never a 5xx, and a rejected request writes nothing.

An endpoint whose URL does not resolve fails the test: a renamed route must be renamed here too.
"""

import json
import string

import pytest
from django.apps import apps
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import PlayerFactory, StaffFactory
from accounts.tests.helpers import client_for

WRITE_ENDPOINTS = [
    "/login",
    "/token/refresh",
    "/account/password",
    "/earn",
    "/spend",
    "/event",
    "/events/batch",
    "/run-pipeline",
]
STAFF_ONLY = {"/run-pipeline"}

# Field names of the write endpoints, so many bodies get past "required" into the validators.
KNOWN_KEYS = [
    "userId",
    "password",
    "clickId",
    "refreshToken",
    "amount",
    "reason",
    "currency",
    "eventType",
    "eventId",
    "meta",
    "timestampUtc",
    "events",
    "date",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80)
    | st.sampled_from(["", "coins", "player_001", "2025-10-25T10:30:00Z", "2025-10-25", "\x00"])
    | st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=70)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
json_bodies = json_values | st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values, max_size=6)


def resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


# Throttle counters count every request, rejected ones included (that is what throttling is);
# they are the one table a refused request may touch.
NOT_REQUEST_DATA = {"gamebackend.ThrottleCounter"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.label not in NOT_REQUEST_DATA
    }


def client_for_endpoint(path):
    user = StaffFactory() if path in STAFF_ONLY else PlayerFactory()
    return client_for(user)


def check(client, path, body: bytes) -> None:
    before = row_counts()

    response = client.post(path, data=body, content_type="application/json")

    assert response.status_code < 500, (path, body, response.content)
    if 400 <= response.status_code < 500:
        assert row_counts() == before, (path, body, response.status_code, response.content)


fuzz_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
def test_random_json_bodies_never_5xx_and_rejected_ones_write_nothing(path):
    assert resolves(path), f"{path} does not resolve: update WRITE_ENDPOINTS"
    client = client_for_endpoint(path)

    @fuzz_settings
    @given(body=json_bodies)
    def run(body):
        check(client, path, json.dumps(body).encode())

    run()


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
def test_random_bytes_never_5xx_and_write_nothing(path):
    assert resolves(path), f"{path} does not resolve: update WRITE_ENDPOINTS"
    client = client_for_endpoint(path)

    @fuzz_settings
    @given(body=st.binary(max_size=300))
    def run(body):
        check(client, path, body)

    run()
