"""POST /run-pipeline and GET /pipeline-runs/<id>."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.tests.factories import StaffFactory
from accounts.tests.helpers import client_for
from analytics import services
from analytics.models import PipelineRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    return client_for(StaffFactory())


def test_staff_queue_a_run_and_it_runs_in_the_worker(
    staff_client, pipeline_dirs, immediate_tasks, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/run-pipeline", {"date": "2024-03-10"}, format="json")
    assert response.status_code == 202
    run = PipelineRun.objects.get()
    assert response.json() == {"runId": run.pk, "status": "queued", "date": "2024-03-10"}
    assert (run.source, run.triggered_by.is_staff) == ("api", True)

    detail = staff_client.get(f"/pipeline-runs/{run.pk}")
    assert detail.status_code == 200
    body = detail.json()
    assert (body["runId"], body["status"], body["date"], body["error"]) == (
        run.pk,
        "succeeded",
        "2024-03-10",
        None,
    )
    assert body["counts"]["matched"] == 2
    assert [stage["name"] for stage in body["stages"]][-1] == "reports"
    assert body["queuedAt"].endswith("Z") and body["finishedAt"].endswith("Z")


def test_without_a_date_the_run_is_for_yesterday_and_says_so(
    staff_client, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    just_past_midnight = dt.datetime(2026, 3, 2, 0, 0, 30, tzinfo=dt.UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: just_past_midnight)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post("/run-pipeline", {}, format="json")
    assert response.status_code == 202
    yesterday = "2026-03-01"
    assert response.json()["date"] == yesterday
    assert len(callbacks) == 1
    body = staff_client.get(f"/pipeline-runs/{response.json()['runId']}").json()
    assert body == {
        "runId": response.json()["runId"],
        "status": "queued",
        "date": yesterday,
        "queuedAt": body["queuedAt"],
        "startedAt": None,
        "finishedAt": None,
        "stages": [],
        "counts": {},
        "error": None,
    }


def test_busy_is_409_with_the_active_run_and_nothing_is_queued(
    staff_client, django_capture_on_commit_callbacks
) -> None:
    active = services.pipeline_run_enqueue(report_date=None, triggered_by=None, source="cron")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post("/run-pipeline", {"date": "2024-03-10"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["runId"], body["status"]) == ("pipeline_busy", active.pk, 409)
    assert response["Content-Type"] == "application/problem+json"
    assert callbacks == []
    assert PipelineRun.objects.count() == 1


@pytest.mark.parametrize("date", ["2024-13-01", "yesterday", 20240310, "2024-03-10T00:00:00"])
def test_a_bad_date_is_a_validation_error(staff_client, date) -> None:
    response = staff_client.post("/run-pipeline", {"date": date}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "date"
    assert PipelineRun.objects.count() == 0


def test_players_get_403_and_anonymous_401(player_client, api_client) -> None:
    run = PipelineRun.objects.create(date=dt.date(2024, 3, 10), source="cron", status="failed")
    for client, status, code in (
        (player_client, 403, "permission_denied"),
        (api_client, 401, "not_authenticated"),
    ):
        response = client.post("/run-pipeline", {}, format="json")
        assert (response.status_code, response.json()["code"]) == (status, code)
        response = client.get(f"/pipeline-runs/{run.pk}")
        assert (response.status_code, response.json()["code"]) == (status, code)
    assert PipelineRun.objects.count() == 1


def test_unknown_run_is_404(staff_client) -> None:
    response = staff_client.get("/pipeline-runs/999999")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_failed_run_reports_its_error(staff_client) -> None:
    run = PipelineRun.objects.create(
        date=dt.date(2024, 3, 10), source="admin", status="failed", error="sessions: missing"
    )
    assert staff_client.get(f"/pipeline-runs/{run.pk}").json()["error"] == "sessions: missing"
