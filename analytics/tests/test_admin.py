"""The admin's "Run pipeline" view (it only enqueues) and the read-only report lists."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.tests.factories import StaffFactory
from analytics.models import PipelineRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in() -> Client:
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


def test_run_pipeline_view_queues_a_run(
    admin_client_logged_in, django_capture_on_commit_callbacks
) -> None:
    page = admin_client_logged_in.get("/admin/analytics/pipelinerun/run/")
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client_logged_in.post(
            "/admin/analytics/pipelinerun/run/", {"date": "2024-03-10"}
        )
    assert response.status_code == 302
    run = PipelineRun.objects.get()
    assert (run.status, run.source, str(run.date)) == ("queued", "admin", "2024-03-10")
    assert len(callbacks) == 1
    assert response["Location"] == f"/admin/analytics/pipelinerun/{run.pk}/change/"
    run_page = admin_client_logged_in.get(response["Location"])
    assert f"Pipeline run {run.pk} for 2024-03-10 is queued." in run_page.content.decode()


def test_run_pipeline_view_reports_busy_and_queues_nothing(admin_client_logged_in) -> None:
    active = PipelineRun.objects.create(date="2024-03-09", source="api", status="running")
    response = admin_client_logged_in.post("/admin/analytics/pipelinerun/run/", {"date": ""})
    assert response.status_code == 200
    assert f"Pipeline run {active.pk} is already queued or running." in response.content.decode()
    assert PipelineRun.objects.count() == 1


def test_viewing_runs_is_not_enough_to_queue_one() -> None:
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_pipelinerun"))
    client = Client()
    client.force_login(viewer)

    assert client.get("/admin/analytics/pipelinerun/").status_code == 200
    assert "Run pipeline" not in client.get("/admin/analytics/pipelinerun/").content.decode()
    assert client.post("/admin/analytics/pipelinerun/run/", {}).status_code == 403
    assert PipelineRun.objects.count() == 0


def test_staff_without_permission_cannot_queue() -> None:
    client = Client()
    client.force_login(StaffFactory())
    assert client.post("/admin/analytics/pipelinerun/run/", {}).status_code == 403
    assert PipelineRun.objects.count() == 0


@pytest.mark.parametrize(
    "model",
    [
        "pipelinerun",
        "roasdaily",
        "roasanomaly",
        "arpdaudaily",
        "arpdautotal",
        "reconciliationsummary",
    ],
)
def test_report_lists_render_and_cannot_add(admin_client_logged_in, model) -> None:
    assert admin_client_logged_in.get(f"/admin/analytics/{model}/").status_code == 200
    assert admin_client_logged_in.get(f"/admin/analytics/{model}/add/").status_code == 403
