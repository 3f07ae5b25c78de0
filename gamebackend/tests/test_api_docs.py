"""What a client developer reads in /schema, /docs and /redoc: summaries, error examples with
their real status and code, request examples that work when sent, and no outside hosts."""

import json
import re

import pytest

from accounts.tests.factories import PlayerFactory, StaffFactory
from accounts.tests.helpers import client_for
from core.views import REDOC_CONTENT_SECURITY_POLICY
from economy.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def schema(api_client):
    response = api_client.get("/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def error_examples(operation, status):
    return operation["responses"][status]["content"][PROBLEM]["examples"]


def test_every_operation_has_a_summary(schema):
    missing = [f"{m.upper()} {p}" for p, m, op in operations(schema) if not op.get("summary")]

    assert missing == []
    assert schema["paths"]["/earn"]["post"]["summary"] == "Grant currency to the caller"


def test_every_error_example_carries_its_own_status_and_code(schema):
    checked = 0
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")) or PROBLEM not in response.get("content", {}):
                continue
            examples = error_examples(operation, status)
            assert examples, f"{method} {path} {status}"
            for code, example in examples.items():
                body = example["value"]
                assert body["status"] == int(status), f"{method} {path} {status} {code}"
                assert body["code"] == code
                assert body["type"] == f"urn:gamebackend:problem:{code}"
                assert "{" not in body["detail"], body["detail"]
                checked += 1
    assert checked > 60


@pytest.mark.parametrize(
    ("path", "method", "status", "codes"),
    [
        ("/earn", "post", "400", ["validation_error"]),
        ("/earn", "post", "401", ["not_authenticated", "token_invalid"]),
        ("/earn", "post", "403", ["earn_limit_exceeded"]),
        ("/earn", "post", "413", ["payload_too_large"]),
        ("/earn", "post", "415", ["unsupported_media_type"]),
        ("/earn", "post", "422", ["balance_limit", "idempotency_key_reused"]),
        ("/earn", "post", "429", ["throttled"]),
        ("/earn", "post", "503", ["database_unavailable", "overloaded"]),
        ("/spend", "post", "409", ["insufficient_funds", "request_in_progress"]),
        ("/login", "post", "401", ["invalid_credentials"]),
        ("/login", "post", "403", ["account_banned"]),
        ("/login", "post", "429", ["throttled", "account_locked"]),
        ("/balance", "get", "400", ["validation_error"]),
        ("/event", "post", "400", ["validation_error", "malformed_json"]),
        ("/run-pipeline", "post", "403", ["permission_denied"]),
        ("/run-pipeline", "post", "409", ["pipeline_busy"]),
        ("/pipeline-runs/{run_id}", "get", "404", ["not_found"]),
    ],
)
def test_each_error_response_lists_the_codes_it_is_sent_with(schema, path, method, status, codes):
    examples = error_examples(schema["paths"][path][method], status)

    assert list(examples) == codes
    assert [example["value"]["status"] for example in examples.values()] == [int(status)] * len(
        codes
    )


def test_members_of_some_problems_appear_in_their_examples(schema):
    spend = error_examples(schema["paths"]["/spend"]["post"], "409")["insufficient_funds"]
    busy = error_examples(schema["paths"]["/run-pipeline"]["post"], "409")["pipeline_busy"]
    invalid = error_examples(schema["paths"]["/earn"]["post"], "400")["validation_error"]

    assert spend["value"]["balance"] == 20
    assert busy["value"]["runId"] == 42
    assert invalid["value"]["errors"] == [
        {
            "field": "amount",
            "code": "min_value",
            "message": "Ensure this value is greater than or equal to 1.",
        }
    ]


def test_error_examples_are_the_bodies_the_api_sends(schema, api_client, player_client):
    earn = schema["paths"]["/earn"]["post"]

    unauthenticated = api_client.post("/earn", {"amount": 1, "reason": "x"}, format="json")
    wrong_type = player_client.post("/earn", "amount=1", content_type="text/plain")
    invalid = player_client.post("/earn", {"amount": 0, "reason": "x"}, format="json")

    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == error_examples(earn, "401")["not_authenticated"]["value"]
    assert wrong_type.status_code == 415
    assert wrong_type.json() == error_examples(earn, "415")["unsupported_media_type"]["value"]
    assert invalid.status_code == 400
    assert invalid.json() == error_examples(earn, "400")["validation_error"]["value"]


def test_track_414_is_documented_as_the_http_servers_html_page(schema):
    response = schema["paths"]["/track"]["get"]["responses"]["414"]

    assert response["content"] == {"text/html": {"schema": {"type": "string"}}}


def request_examples(schema, path):
    content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return {name: example["value"] for name, example in content.get("examples", {}).items()}


def test_earn_request_examples_succeed_when_posted(schema, player_client, player):
    examples = request_examples(schema, "/earn")
    assert examples == {
        "CoinsForADailyLogin": {"amount": 500, "reason": "daily_login", "currency": "coins"},
        "DefaultCurrency": {"amount": 100, "reason": "level_up"},
    }

    balances = []
    for body in examples.values():
        response = player_client.post("/earn", body, format="json")
        assert response.status_code == 200, response.json()
        balances.append(response.json()["balance"])

    assert balances == [500, 600]
    assert Wallet.objects.get(player=player, currency__code="coins").balance == 600
    assert LedgerEntry.objects.filter(wallet__player=player).count() == 2


EXPECTED_STATUS = {
    "/login": 200,
    "/account/password": 204,
    "/earn": 200,
    "/spend": 200,
    "/event": 201,
    "/events/batch": 200,
    "/run-pipeline": 202,
}


def test_every_operation_with_a_body_has_request_examples_but_token_refresh(schema):
    with_body = {
        path for path, method, op in operations(schema) if method == "post" and "requestBody" in op
    }
    with_examples = {path for path in with_body if request_examples(schema, path)}

    assert with_body - with_examples == {"/token/refresh"}
    assert with_examples == set(EXPECTED_STATUS)


def request_example_cases():
    # Names are fixed by the views; the schema test above checks none is left out.
    return [
        ("/login", "NewOrPassword-lessPlayer"),
        ("/account/password", "TheFirstPassword"),
        ("/account/password", "ANewPassword"),
        ("/earn", "CoinsForADailyLogin"),
        ("/earn", "DefaultCurrency"),
        ("/spend", "CoinsForAShopItem"),
        ("/event", "ALevelCompleted"),
        ("/events/batch", "TwoEvents"),
        ("/run-pipeline", "Yesterday(UTC)"),
        ("/run-pipeline", "AGivenReportDay"),
    ]


@pytest.mark.parametrize(("path", "name"), request_example_cases())
def test_each_request_example_succeeds_when_sent(
    schema, path, name, django_capture_on_commit_callbacks
):
    # /account/password is for players (staff are refused); everything else is sent as staff.
    client = client_for(PlayerFactory() if path == "/account/password" else StaffFactory())
    client.post("/earn", {"amount": 1000, "reason": "setup"}, format="json")
    if name == "ANewPassword":
        client.post("/account/password", {"password": "correct-horse-battery"}, format="json")
    body = request_examples(schema, path)[name]

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(path, body, format="json")

    assert response.status_code == EXPECTED_STATUS[path], response.content
    if path == "/events/batch":
        assert (response.json()["accepted"], response.json()["rejected"]) == (2, [])


def test_login_example_with_a_password_logs_in_once_the_password_is_set(schema, player_client):
    login = request_examples(schema, "/login")["PlayerWithAPassword"]
    password = request_examples(schema, "/account/password")["TheFirstPassword"]
    username = player_client.get("/balance").json()["userId"]

    assert player_client.post("/account/password", password, format="json").status_code == 204
    response = player_client.post("/login", {**login, "userId": username}, format="json")

    assert response.status_code == 200
    assert response.json()["userId"] == username


def test_redoc_page_and_its_config_reference_no_other_host(api_client):
    response = api_client.get("/redoc")

    html = response.content.decode()
    assert response.status_code == 200
    assert "://" not in html
    assert "fonts.googleapis" not in html and "fonts.gstatic" not in html
    config = json.loads(re.search(r"const redocSettings = (\{.*?\});", html, re.S).group(1))
    assert "://" not in json.dumps(config)
    assert "Montserrat" not in json.dumps(config)
    assert config["theme"]["typography"]["fontFamily"].startswith("system-ui")


def test_redoc_csp_keeps_every_request_on_this_host(api_client):
    response = api_client.get("/redoc")

    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert response["Content-Security-Policy"] == REDOC_CONTENT_SECURITY_POLICY
    # The ReDoc bundle hard-wires https://cdn.redoc.ly/redoc/logo-mini.svg: images stay local.
    assert policy["img-src"] == "'self' data:"
    assert policy["font-src"] == "'self' data:"
    assert policy["connect-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    for sources in policy.values():
        assert "http" not in sources and "*" not in sources


def test_a_documented_code_with_another_status_or_no_code_stops_the_schema():
    from core.openapi import problem_catalog, problem_examples

    catalog = problem_catalog()

    with pytest.raises(ValueError, match=r"GET /x 400: `throttled` is sent with status 429"):
        problem_examples(catalog, "GET /x", "400", "Throttled (`throttled`).")
    with pytest.raises(ValueError, match="names no problem code"):
        problem_examples(catalog, "GET /x", "409", "Something went wrong (`balance`).")
    assert list(problem_examples(catalog, "GET /x", "409", "`pipeline_busy` (`runId`)")) == [
        "pipeline_busy"
    ]
