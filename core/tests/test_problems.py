"""Cross-cutting behaviour every request gets: problem responses, limits, request ids, health."""

import io
import json
import logging

import pytest
from django.db import connection
from django.db.utils import OperationalError
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import User
from accounts.tests.factories import PlayerFactory

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "code", "detail"}


def assert_problem(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"urn:gamebackend:problem:{code}"
    return body


def test_400_validation_error_lists_field_errors(api_client):
    body = assert_problem(api_client.post("/login", {}, format="json"), 400, "validation_error")

    assert body["errors"] == [
        {"field": "userId", "code": "required", "message": "This field is required."}
    ]


def test_400_malformed_json(api_client):
    response = api_client.post("/login", '{"userId": "p1",', content_type="application/json")

    assert_problem(response, 400, "malformed_json")
    assert User.objects.count() == 0


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_malformed(api_client, constant):
    response = api_client.post(
        "/login", f'{{"userId": "p1", "x": {constant}}}', content_type="application/json"
    )

    assert_problem(response, 400, "malformed_json")


def test_nesting_of_32_levels_is_accepted_and_33_refused(api_client):
    def nested(levels):  # the body object is level 1
        return '{"userId": "p1", "x": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"

    assert api_client.post("/login", nested(32), content_type="application/json").status_code == 200
    response = api_client.post("/login", nested(33), content_type="application/json")
    assert_problem(response, 400, "malformed_json")


def test_very_deep_nesting_is_malformed_not_a_crash(api_client):
    body = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"

    assert_problem(
        api_client.post("/login", body, content_type="application/json"), 400, "malformed_json"
    )


@pytest.mark.parametrize("raw", ['"p\\u0000"', '"\\ud800"', '"a\\udc00b"'])
def test_nul_and_unpaired_surrogates_are_validation_errors(api_client, raw):
    response = api_client.post("/login", f'{{"userId": {raw}}}', content_type="application/json")

    body = assert_problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "userId"
    assert User.objects.count() == 0


def test_invalid_utf8_is_malformed(api_client):
    response = api_client.post("/login", b'{"userId": "\xff"}', content_type="application/json")

    assert_problem(response, 400, "malformed_json")


def test_401_without_token(api_client):
    assert_problem(
        api_client.post("/account/password", {}, format="json"), 401, "not_authenticated"
    )


def test_403_for_a_player_on_a_staff_endpoint(player_client):
    response = player_client.get("/schema")  # public; sanity check that the client works
    assert response.status_code == 200
    assert_problem(player_client.post("/run-pipeline", {}, format="json"), 403, "permission_denied")


def test_404_on_unknown_paths_is_a_problem(api_client):
    body = assert_problem(api_client.get("/no/such/thing"), 404, "not_found")

    assert body["detail"] == "No resource at /no/such/thing."


@pytest.mark.parametrize("path", ["/static/missing.css", "/static/admin/css/no-such-file.css"])
def test_404_of_a_missing_static_file_is_a_problem(api_client, path):
    body = assert_problem(api_client.get(path), 404, "not_found")

    assert body["detail"] == f"No resource at {path}."


def test_404_in_the_admin_stays_an_html_page(admin_client):
    response = admin_client.get("/admin/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_405_is_decided_before_authentication(api_client):
    response = api_client.delete("/account/password")

    assert_problem(response, 405, "method_not_allowed")


def test_415_is_decided_before_authentication(api_client):
    response = api_client.post("/account/password", "password=x", content_type="text/plain")

    assert_problem(response, 415, "unsupported_media_type")


def test_413_for_a_body_over_one_mebibyte_before_authentication(api_client):
    body = json.dumps({"userId": "p1", "pad": "x" * (1024 * 1024)})

    response = api_client.post("/account/password", body, content_type="application/json")

    assert_problem(response, 413, "payload_too_large")


def test_a_body_of_exactly_the_limit_is_parsed(api_client):
    prefix = '{"userId": "p1", "pad": "'
    body = prefix + "x" * (1024 * 1024 - len(prefix) - 2) + '"}'
    assert len(body) == 1024 * 1024

    assert api_client.post("/login", body, content_type="application/json").status_code == 200


def test_429_has_retry_after(api_client, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "2/min")
    for _ in range(2):
        assert api_client.post("/login", {"userId": "p1"}, format="json").status_code == 200

    response = api_client.post("/login", {"userId": "p1"}, format="json")

    assert_problem(response, 429, "throttled")
    assert response["Retry-After"] == "30"


def test_unknown_body_fields_are_ignored(api_client):
    response = api_client.post("/login", {"userId": "p1", "extra": {"a": 1}}, format="json")

    assert response.status_code == 200


def test_request_id_is_echoed_when_well_formed(api_client):
    response = api_client.get("/health", HTTP_X_REQUEST_ID="abc-123_X.y")

    assert response["X-Request-ID"] == "abc-123_X.y"


@pytest.mark.parametrize("sent", ["has space", "x" * 65, "semi;colon", ""])
def test_malformed_request_id_is_replaced(api_client, sent):
    response = api_client.get("/health", HTTP_X_REQUEST_ID=sent)

    assert response["X-Request-ID"] != sent
    assert len(response["X-Request-ID"]) == 32


@pytest.fixture
def log_lines():
    """The JSON lines the configured stdout handler writes during the test."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "stdout")
    stream = io.StringIO()
    previous = handler.setStream(stream)

    def read():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    handler.setStream(previous)


def test_request_id_is_on_error_responses_and_log_lines(api_client, log_lines):
    response = api_client.get("/nope", HTTP_X_REQUEST_ID="trace-42")

    assert response["X-Request-ID"] == "trace-42"
    lines = log_lines()
    access = [line for line in lines if line["logger"] == "gamebackend.access"]
    assert access[-1]["request_id"] == "trace-42"
    assert (access[-1]["status"], access[-1]["path"], access[-1]["method"]) == (404, "/nope", "GET")
    assert isinstance(access[-1]["duration_ms"], float)


def test_log_lines_name_the_authenticated_user(player_client, player, log_lines):
    player_client.post(
        "/account/password", {"password": "correct horse battery staple"}, format="json"
    )

    assert log_lines()[-1]["user_id"] == player.username


def test_health_ok(api_client):
    response = api_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}, "version": "1.0.0"}


def test_health_503_when_the_database_is_unreachable(api_client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unreachable)

    response = api_client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unavailable"}
    assert response.json()["status"] == "unavailable"


def test_unexpected_errors_are_500_problems_without_a_stack_trace(player_client, monkeypatch):
    from accounts import services

    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "account_set_password", broken)

    response = player_client.post("/account/password", {"password": "x"}, format="json")

    body = assert_problem(response, 500, "internal_error")
    assert "secret" not in response.content.decode()
    assert "Traceback" not in body["detail"]


def test_banned_player_cannot_use_a_live_token(api_client):
    from accounts.services import player_ban, token_pair_issue

    player = PlayerFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=player).access}")
    player_ban(player=player, reason="chargeback fraud", actor=None)

    assert_problem(api_client.post("/account/password", {}, format="json"), 401, "token_invalid")


def test_throttle_counts_are_shared_rows_and_reset_with_the_window(api_client, monkeypatch):
    from core.models import ThrottleCounter
    from core.throttles import LoginRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "3/min")
    monkeypatch.setattr(LoginRateThrottle, "timer", lambda self: 1_800_000_030.5)
    statuses = [api_client.post("/login", {"userId": "p1"}, format="json") for _ in range(4)]

    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1]["Retry-After"] == "30"
    counter = ThrottleCounter.objects.get()
    assert (counter.scope_key, counter.window_start, counter.hits) == (
        "throttle_login_127.0.0.1",
        1_800_000_000,
        4,
    )

    monkeypatch.setattr(LoginRateThrottle, "timer", lambda self: 1_800_000_060.0)
    assert api_client.post("/login", {"userId": "p1"}, format="json").status_code == 200
    assert ThrottleCounter.objects.get().hits == 1


def test_player_write_throttle_is_per_player(player_client, monkeypatch):
    from accounts.tests.factories import PlayerFactory
    from accounts.tests.helpers import client_for

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "writes", "1/min")
    body = {"password": "correct horse battery staple"}
    assert player_client.post("/account/password", body, format="json").status_code == 204
    assert player_client.post("/account/password", body, format="json").status_code == 429

    other = client_for(PlayerFactory())
    assert other.post("/account/password", body, format="json").status_code == 204


# --- Which database errors are an outage (503) ------------------------------------------------


def _sqlite_error(sql: str, database: str = ":memory:") -> Exception:
    import sqlite3

    try:
        connection = sqlite3.connect(database, uri=database.startswith("file:"))
        connection.execute("CREATE TABLE t (a INTEGER)")
        connection.executemany("INSERT INTO t VALUES (?)", [(2**62,), (2**62,)])
        connection.execute(sql).fetchall()
    except sqlite3.Error as error:
        return error
    raise AssertionError("no error")


def _wrapped(cause: Exception) -> OperationalError:
    """As Django raises it: its own OperationalError, with the driver's error as the cause."""
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as error:
        return error


def test_only_connection_failures_count_as_the_database_being_unavailable():
    import psycopg
    import psycopg_pool

    from core.problems import is_database_unavailable

    overflow = _sqlite_error("SELECT SUM(a) FROM t")
    cannot_open = _sqlite_error("SELECT 1", "file:/nonexistent/dir/x.db?mode=rw")
    assert (str(overflow), str(cannot_open)) == ("integer overflow", "unable to open database file")
    assert is_database_unavailable(_wrapped(overflow)) is False
    assert is_database_unavailable(_wrapped(_sqlite_error("SELECT no_such_function()"))) is False
    assert is_database_unavailable(_wrapped(cannot_open)) is True
    assert is_database_unavailable(_wrapped(psycopg.OperationalError("connection refused")))
    assert is_database_unavailable(_wrapped(psycopg_pool.PoolTimeout("no connection in 5 s")))
    assert is_database_unavailable(_wrapped(psycopg.errors.AdminShutdown()))
    assert is_database_unavailable(_wrapped(psycopg.errors.TooManyConnections()))
    assert not is_database_unavailable(_wrapped(psycopg.errors.QueryCanceled()))
    assert not is_database_unavailable(_wrapped(psycopg.errors.DeadlockDetected()))
    assert is_database_unavailable(OperationalError("no driver cause"))
    assert not is_database_unavailable(RuntimeError("connection refused"))


def test_an_overflow_in_the_database_is_a_500_not_database_unavailable(monkeypatch, settings):
    from django.test import Client

    settings.METRICS_ALLOW_LOOPBACK = True
    overflow = _wrapped(_sqlite_error("SELECT SUM(a) FROM t"))

    def overflowing(registry):
        raise overflow

    monkeypatch.setattr("core.views.generate_latest", overflowing)

    response = Client(raise_request_exception=False).get("/metrics")

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "Retry-After" not in response


# --- InvalidInput: a service's refusal of its input, rendered as DRF's ValidationError is -----


def _rendered(exc):
    from core.problems import problem_exception_handler

    response = problem_exception_handler(exc, {})
    return response.status_code, dict(response.headers), response.data


def test_invalid_input_renders_exactly_as_drfs_validation_error():
    from rest_framework import exceptions

    from core.problems import InvalidInput

    domain = InvalidInput({"amount": ["Too big."], "note": ["Empty.", "Blank."]}, code="bad_value")
    drf = exceptions.ValidationError(
        {
            "amount": [exceptions.ErrorDetail("Too big.", code="bad_value")],
            "note": [
                exceptions.ErrorDetail("Empty.", code="bad_value"),
                exceptions.ErrorDetail("Blank.", code="bad_value"),
            ],
        }
    )

    assert _rendered(domain) == _rendered(drf)
    assert json.dumps(_rendered(domain)[2]) == json.dumps(_rendered(drf)[2])
    assert _rendered(domain)[2] == {
        "type": "urn:gamebackend:problem:validation_error",
        "title": "Bad Request",
        "status": 400,
        "code": "validation_error",
        "detail": "The request is not valid; see errors.",
        "errors": [
            {"field": "amount", "code": "bad_value", "message": "Too big."},
            {"field": "note", "code": "bad_value", "message": "Empty."},
            {"field": "note", "code": "bad_value", "message": "Blank."},
        ],
    }


def test_invalid_input_without_a_code_uses_drfs_default_code_and_reads_as_one_line():
    from rest_framework import exceptions

    from core.problems import InvalidInput, problem_message

    domain = InvalidInput({"reason": ["A ban needs a reason."]})

    assert _rendered(domain) == _rendered(exceptions.ValidationError(domain.errors))
    assert domain.extra["errors"] == [
        {"field": "reason", "code": "invalid", "message": "A ban needs a reason."}
    ]
    assert problem_message(InvalidInput({"a": ["One."], "b": ["Two."]})) == "One.; Two."
