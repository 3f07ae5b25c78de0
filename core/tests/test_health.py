"""`/health`: the plain GET answered without DRF's request cycle, exactly as `HealthView` does."""

import pytest

from core import views

pytestmark = pytest.mark.django_db


@pytest.fixture
def drf_calls(monkeypatch):
    """The requests `health_view` handed to `HealthView`."""
    calls = []
    drf = views._health_drf

    def counting(request, *args, **kwargs):
        calls.append(request.method)
        return drf(request, *args, **kwargs)

    monkeypatch.setattr(views, "_health_drf", counting)
    return calls


def answer(response):
    headers = {k: v for k, v in response.headers.items() if k != "X-Request-ID"}
    return response.status_code, headers, response.content


@pytest.mark.parametrize("database", ["ok", "unavailable"])
@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_health_s_plain_get_answers_as_drf_does(client, drf_calls, monkeypatch, database, accept):
    monkeypatch.setattr(views, "_check_database", lambda: database)
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}

    plain = client.get("/health", **headers)
    assert drf_calls == []
    monkeypatch.setattr(views, "_HEALTH_ACCEPT", set())  # every request to HealthView
    by_drf = client.get("/health", **headers)

    assert drf_calls == ["GET"]
    assert answer(plain) == answer(by_drf)
    status = 200 if database == "ok" else 503
    assert plain.status_code == status
    assert plain.json() == {
        "status": "ok" if database == "ok" else "unavailable",
        "checks": {"database": database},
        "version": "1.0.0",
    }
    assert plain["Content-Type"] == "application/json"
    assert plain.get("Retry-After") == (None if database == "ok" else "5")


def test_the_plain_get_checks_the_database(client, drf_calls):
    assert client.get("/health").json()["checks"] == {"database": "ok"}
    assert drf_calls == []


@pytest.mark.parametrize(
    ("method", "path", "accept", "status"),
    [
        ("post", "/health", None, 405),
        ("head", "/health", None, 200),
        ("options", "/health", None, 200),
        ("get", "/health?format=json", None, 200),
        ("get", "/health", "text/html", 406),
        ("get", "/health", "application/json; indent=2", 200),
    ],
)
def test_every_other_request_goes_to_health_view(client, drf_calls, method, path, accept, status):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}

    response = getattr(client, method)(path, **headers)

    assert response.status_code == status
    assert drf_calls == [method.upper()]
