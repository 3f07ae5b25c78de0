"""The OpenAPI document states the static input rules of the economy and telemetry endpoints."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client):
    return api_client.get("/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def _parameter(schema, path, name):
    operation = schema["paths"][path]["get"]
    return next(p for p in operation["parameters"] if p["name"] == name)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/balance", "currency"),
        ("/transactions", "currency"),
        ("/transactions", "limit"),
        ("/transactions", "cursor"),
        ("/events", "limit"),
        ("/stats", "from"),
        ("/track", "c"),
        ("/track", "redirect"),
    ],
)
def test_optional_query_parameters_may_be_sent_empty(schema, path, name):
    """DRF reads `?name=` as not given; the document says so with allowEmptyValue."""
    assert _parameter(schema, path, name)["allowEmptyValue"] is True


def test_required_track_pid_may_not_be_empty(schema):
    parameter = _parameter(schema, "/track", "pid")

    assert parameter["required"] is True and "allowEmptyValue" not in parameter
    assert parameter["schema"]["minLength"] == 1


def test_query_constraints_are_declared(schema):
    assert _parameter(schema, "/events", "limit")["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 100,
    }
    assert {"type": "string", "format": "date"} in _parameter(schema, "/stats", "to")["schema"][
        "oneOf"
    ]
    assert _parameter(schema, "/transactions", "cursor")["schema"]["pattern"] == "^[A-Za-z0-9_-]+$"
    assert _parameter(schema, "/balance", "currency")["schema"]["pattern"] == "^[a-z0-9_]{1,32}$"
    redirect = _parameter(schema, "/track", "redirect")["schema"]
    assert (redirect["format"], redirect["maxLength"]) == ("uri", 2048)
    assert "414" in schema["paths"]["/track"]["get"]["responses"]


def test_event_bodies(schema):
    components = schema["components"]["schemas"]
    timestamp = components["EventRequestRequest"]["properties"]["timestampUtc"]
    events = components["EventBatchRequestRequest"]["properties"]["events"]

    assert timestamp["nullable"] is True and "24 h" in timestamp["description"]
    assert (events["minItems"], events["maxItems"]) == (1, 500)
    assert "type" not in events["items"]  # items are checked one by one, rejected by index
