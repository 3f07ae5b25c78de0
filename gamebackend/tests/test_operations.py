"""Operations: /metrics and its access rule, queue-time load shedding, 503 when the database is
unreachable, and the benchmark-only views."""

import time
from types import SimpleNamespace

import pytest
from django.db.utils import OperationalError
from django.test import Client, RequestFactory
from django.urls import Resolver404, resolve
from gunicorn.workers.gthread import ThreadWorker
from prometheus_client import REGISTRY

from core import metrics
from core.queueing import queue_entered_set, queue_wait_seconds
from gamebackend.bench_views import bench_sleep
from gamebackend.workers import QueueTimedThreadWorker

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued():
    """Pretend the current request entered gunicorn's queue `seconds` ago."""

    def enter(seconds):
        queue_entered_set(time.monotonic() - seconds)

    yield enter
    queue_entered_set(None)


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- /metrics ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _loopback_metrics_allowed(settings):
    """These tests scrape /metrics from loopback without a token, which needs the opt-in."""
    settings.METRICS_ALLOW_LOOPBACK = True


@pytest.mark.parametrize("remote", ["127.0.0.1", "::1", "203.0.113.7"])
def test_metrics_without_a_token_are_refused_outside_debug_unless_loopback_is_allowed(
    client, settings, remote
):
    settings.METRICS_ALLOW_LOOPBACK = False
    assert settings.METRICS_TOKEN == ""
    assert settings.DEBUG is False

    response = client.get("/metrics", REMOTE_ADDR=remote)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_metrics_in_debug_are_served_to_loopback_without_the_opt_in(client, settings):
    settings.METRICS_ALLOW_LOOPBACK = False
    settings.DEBUG = True

    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 403


def test_metrics_count_requests_by_route_name_for_a_loopback_client(client):
    before = sample("gamebackend_http_requests_total", route="health", method="GET", status="200")

    client.get("/health")
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    line = 'gamebackend_http_requests_total{method="GET",route="health",status="200"}'
    assert f"{line} {before + 1}" in text
    assert (
        'gamebackend_http_request_duration_seconds_bucket{le="0.05",method="GET",route="health"}'
        in text
    )


def test_metrics_count_an_unknown_method_as_other(client):
    before = sample("gamebackend_http_requests_total", route="health", method="other", status="405")

    for method in ("FOOBAR", "X-1", "PROPFIND"):
        client.generic(method, "/health")

    text = client.get("/metrics").content.decode()
    assert sample(
        "gamebackend_http_requests_total", route="health", method="other", status="405"
    ) == (before + 3)
    assert "FOOBAR" not in text and "PROPFIND" not in text


def test_metrics_label_routes_by_name_not_by_raw_path(client):
    client.get("/no/such/path/123")

    text = client.get("/metrics").content.decode()
    assert 'route="unmatched",status="404"' in text
    assert "/no/such/path/123" not in text


def test_metrics_refused_to_a_remote_client_without_token(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_metrics_with_a_token_need_exactly_that_bearer(client, settings):
    settings.METRICS_TOKEN = "metrics-token-of-the-operator"

    assert client.get("/metrics").status_code == 403  # loopback alone is no longer enough
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-of-the-operatoR")
    right = client.get(
        "/metrics",
        REMOTE_ADDR="203.0.113.7",
        HTTP_AUTHORIZATION="Bearer metrics-token-of-the-operator",
    )
    assert wrong.status_code == 403
    assert right.status_code == 200


def test_metrics_refuse_other_methods(client):
    assert client.post("/metrics").status_code == 405


def test_helpers_increment_the_app_counters():
    ledger = sample("gamebackend_ledger_entries_written_total", kind="earn")
    events = sample("gamebackend_events_ingested_total", source="batch")
    runs = sample("gamebackend_pipeline_runs_total", status="succeeded")
    seconds = sample("gamebackend_pipeline_run_duration_seconds_sum", status="succeeded")

    metrics.ledger_entries_record(kind="earn")
    metrics.events_ingested_record(source="batch", count=100)
    metrics.events_ingested_record(source="batch", count=0)
    metrics.pipeline_run_record(status="succeeded", seconds=12.5)

    assert sample("gamebackend_ledger_entries_written_total", kind="earn") == ledger + 1
    assert sample("gamebackend_events_ingested_total", source="batch") == events + 100
    assert sample("gamebackend_pipeline_runs_total", status="succeeded") == runs + 1
    assert (
        sample("gamebackend_pipeline_run_duration_seconds_sum", status="succeeded")
        == seconds + 12.5
    )


# --- Load shedding ----------------------------------------------------------------------------


def test_a_request_that_waited_too_long_in_the_queue_is_shed_with_retry_after(
    client, settings, queued
):
    settings.QUEUE_TIMEOUT_MS = 500
    shed_before = sample("gamebackend_http_requests_shed_total")
    queued(0.6)

    response = client.get("/health")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    assert response["X-Request-ID"]
    assert response.json()["code"] == "overloaded"
    assert sample("gamebackend_http_requests_shed_total") == shed_before + 1


def test_a_request_within_the_queue_limit_is_served(client, settings, queued):
    # A wide margin: the wait is measured when the middleware runs, so a loaded machine (two
    # pytest workers on two shared cores) adds its own delay to the 0.2 s.
    settings.QUEUE_TIMEOUT_MS = 5000
    queued(0.2)

    assert client.get("/health").status_code == 200


def test_shedding_off_and_metrics_exempt(client, settings, queued):
    queued(5.0)
    settings.QUEUE_TIMEOUT_MS = 500
    assert client.get("/metrics").status_code == 200

    settings.QUEUE_TIMEOUT_MS = 0
    assert client.get("/health").status_code == 200


def test_nothing_is_shed_without_a_queue_stamp(client, settings):
    settings.QUEUE_TIMEOUT_MS = 1

    assert queue_wait_seconds() is None
    assert client.get("/health").status_code == 200


def test_worker_stamps_the_queue_entry_for_the_thread_that_handles_it(monkeypatch):
    seen = []
    monkeypatch.setattr(ThreadWorker, "enqueue_req", lambda self, conn: None)
    monkeypatch.setattr(
        ThreadWorker, "handle", lambda self, conn: seen.append(queue_wait_seconds())
    )
    worker = object.__new__(QueueTimedThreadWorker)
    conn = SimpleNamespace()

    worker.enqueue_req(conn)
    time.sleep(0.05)
    worker.handle(conn)

    assert len(seen) == 1
    assert 0.05 <= seen[0] < 1.0
    assert queue_wait_seconds() is None  # cleared once the request is handled


# --- Database unreachable ---------------------------------------------------------------------


def test_api_answers_503_problem_when_the_database_is_unreachable(api_client, monkeypatch):
    def unreachable(**kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr("accounts.services.player_login", unreachable)
    before = sample("gamebackend_db_unavailable_total")

    response = api_client.post("/login", {"userId": "p1"}, format="json")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert "Connection refused" not in body["detail"]
    assert sample("gamebackend_db_unavailable_total") == before + 1


def test_plain_django_view_answers_503_problem_when_the_database_is_unreachable(monkeypatch):
    def unreachable(registry):
        raise OperationalError("the pool timed out")

    monkeypatch.setattr("core.views.generate_latest", unreachable)

    response = Client(raise_request_exception=False).get("/metrics")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert b"Traceback" not in response.content


def test_other_errors_stay_500(monkeypatch):
    def broken(registry):
        raise RuntimeError("a bug")

    monkeypatch.setattr("core.views.generate_latest", broken)

    response = Client(raise_request_exception=False).get("/metrics")

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"


# --- Benchmark views --------------------------------------------------------------------------


def test_bench_views_are_not_mounted_by_default(client):
    with pytest.raises(Resolver404):
        resolve("/bench/constant")
    assert client.get("/bench/constant").status_code == 404


@pytest.mark.parametrize(("query", "status"), [("ms=0", 200), ("ms=5001", 400), ("ms=-1", 400)])
def test_bench_sleep_bounds_its_argument(query, status):
    response = bench_sleep(RequestFactory().get(f"/bench/sleep?{query}"))

    assert response.status_code == status


def test_a_failing_pool_sample_never_fails_the_request(client, monkeypatch):
    def broken(self):
        raise ValueError("unexpected pool statistics")

    monkeypatch.setattr(metrics.PoolStatsSampler, "sample", broken)
    monkeypatch.setattr(metrics.pool_stats_sampler, "_last", 0.0)

    assert client.get("/health").status_code == 200


# --- OpenAPI: errors are documented as problems -----------------------------------------------


def test_schema_documents_the_stack_errors_as_problems(client):
    schema = client.get("/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    refresh = schema["paths"]["/token/refresh"]["post"]["responses"]
    assert set(refresh) == {"200", "400", "401", "413", "415", "429", "503"}
    for status in ("400", "401", "413", "415", "429", "503"):
        content = refresh[status]["content"]
        assert list(content) == ["application/problem+json"]
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
        # Examples with the real status (test_api_docs.py checks them all).
        examples = content["application/problem+json"]["examples"]
        assert {example["value"]["status"] for example in examples.values()} == {int(status)}
    assert schema["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "code",
        "detail",
    ]


def test_health_keeps_its_own_503_body_in_the_schema(client):
    schema = client.get("/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    responses = schema["paths"]["/health"]["get"]["responses"]
    assert set(responses) == {"200", "503"}
    assert list(responses["503"]["content"]) == ["application/json"]
