"""Runs whose worker is gone: heartbeats, the staleness rule, and what it leaves untouched."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import StaffFactory
from accounts.tests.helpers import client_for
from analytics import liveness, report_storage, services
from analytics.errors import PipelineBusy
from analytics.models import PipelineRun, RoasDaily
from analytics.pipeline import PipelineParams

D = dt.date(2024, 3, 10)
T0 = dt.datetime(2024, 3, 11, 12, 0, 0, tzinfo=dt.UTC)


class Clock:
    """The only thing mocked: `django.utils.timezone.now`."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch, settings) -> Clock:
    settings.PIPELINE_HEARTBEAT_TIMEOUT_S = 60
    frozen = Clock(T0)
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


def report_rows() -> list[tuple]:
    return list(
        RoasDaily.objects.order_by("date", "media_source", "campaign").values_list(
            "run", "date", "media_source", "campaign", "cost_usd", "revenue_usd", "roas"
        )
    )


def running_run(*, heartbeat_at: dt.datetime | None) -> PipelineRun:
    return PipelineRun.objects.create(
        date=D,
        source="api",
        status="running",
        queued_at=T0 - dt.timedelta(minutes=10),
        started_at=T0 - dt.timedelta(minutes=9),
        heartbeat_at=heartbeat_at,
    )


@pytest.mark.django_db
def test_a_stale_running_run_is_marked_failed_and_a_new_run_is_queued(
    pipeline_dirs, clock, django_capture_on_commit_callbacks
) -> None:
    services.pipeline_run_now(params=PipelineParams(report_date=D))
    _, reports_dir = pipeline_dirs
    files = {p.name: p.read_bytes() for p in reports_dir.iterdir()}
    rows = report_rows()
    dead = running_run(heartbeat_at=T0 - dt.timedelta(seconds=61))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        new = services.pipeline_run_enqueue(report_date=D, triggered_by=None, source="api")

    dead.refresh_from_db()
    assert (dead.status, dead.finished_at, dead.error) == (
        "failed",
        T0,
        "the worker stopped during the run (no heartbeat since 2024-03-11T11:58:59+00:00)",
    )
    # After the commit: the failed run's metric and staging cleanup, then the hand-off of the
    # new run to the worker.
    assert (new.status, len(callbacks)) == ("queued", 2)
    assert list(PipelineRun.objects.filter(status__in=["queued", "running"])) == [new]
    assert report_rows() == rows
    assert {p.name: p.read_bytes() for p in reports_dir.iterdir()} == files


@pytest.mark.django_db
def test_a_run_with_a_fresh_heartbeat_still_blocks_with_409(clock) -> None:
    alive = running_run(heartbeat_at=T0 - dt.timedelta(seconds=60))  # exactly the timeout
    response = client_for(StaffFactory()).post("/run-pipeline", {}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["runId"]) == ("pipeline_busy", alive.pk)
    with pytest.raises(PipelineBusy) as busy:
        services.pipeline_run_enqueue(report_date=D, triggered_by=None, source="cron")
    assert busy.value.run_id == alive.pk
    alive.refresh_from_db()
    assert (alive.status, alive.error, alive.finished_at) == ("running", "", None)
    assert PipelineRun.objects.count() == 1


@pytest.mark.django_db
def test_reading_a_stale_run_shows_it_failed(clock) -> None:
    # A run from before heartbeats existed falls back to its start time.
    dead = running_run(heartbeat_at=None)
    body = client_for(StaffFactory()).get(f"/pipeline-runs/{dead.pk}").json()
    assert (body["status"], body["error"], body["finishedAt"]) == (
        "failed",
        "the worker stopped during the run (no heartbeat since 2024-03-11T11:51:00+00:00)",
        "2024-03-11T12:00:00Z",
    )


@pytest.mark.django_db
def test_the_heartbeat_advances_with_every_stage(pipeline_dirs, clock) -> None:
    beats: list[dt.datetime | None] = []

    def on_stage(stage) -> None:
        beats.append(PipelineRun.objects.get().heartbeat_at)
        clock.advance(5)

    run = services.pipeline_run_now(params=PipelineParams(report_date=D), on_stage=on_stage)
    assert run.status == "succeeded"
    assert len(beats) == len(run.stages) >= 3
    assert beats == [T0 + dt.timedelta(seconds=5 * i) for i in range(len(beats))]
    run.refresh_from_db()
    assert (run.started_at, run.heartbeat_at) == (
        T0,
        T0 + dt.timedelta(seconds=5 * (len(beats) - 1)),
    )


@pytest.mark.django_db
def test_a_run_marked_failed_while_it_executes_stores_nothing(pipeline_dirs, clock) -> None:
    _, reports_dir = pipeline_dirs
    services.pipeline_run_now(params=PipelineParams(report_date=D))
    files = {p.name: p.read_bytes() for p in reports_dir.iterdir()}
    rows = report_rows()
    (pipeline_dirs[0] / "costs_daily.csv").write_text(
        (pipeline_dirs[0] / "costs_daily.csv").read_text().replace("4.00", "8.00")
    )

    def reaped_meanwhile(stage) -> None:
        if stage.name == "sessions":
            clock.advance(61)
            assert services.pipeline_runs_reap() == [PipelineRun.objects.get(status="running").pk]

    run = services.pipeline_run_now(params=PipelineParams(report_date=D), on_stage=reaped_meanwhile)
    assert (run.status, run.error, run.finished_at) == (
        "failed",
        "the worker stopped during the run (no heartbeat since 2024-03-11T12:00:00+00:00)",
        T0 + dt.timedelta(seconds=61),
    )
    assert report_rows() == rows
    assert {p.name: p.read_bytes() for p in reports_dir.iterdir()} == files
    assert not [p for p in reports_dir.iterdir() if p.name.startswith(".staging-")]


@pytest.mark.django_db
def test_queued_runs_whose_task_ended_or_vanished_are_marked_failed(
    clock, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.pipeline_run_enqueue(report_date=D, triggered_by=None, source="api")
    run.refresh_from_db()
    task = DBTaskResult.objects.get()
    assert run.task_id == str(task.id)

    clock.advance(3600)  # waiting for a worker is not a failure
    assert services.pipeline_runs_reap() == []
    DBTaskResult.objects.filter(pk=task.pk).update(status="FAILED")
    assert services.pipeline_runs_reap() == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.error) == (
        "failed",
        f"the run's task {task.id} ended (FAILED) without starting the run",
    )

    with django_capture_on_commit_callbacks(execute=True):
        gone = services.pipeline_run_enqueue(report_date=D, triggered_by=None, source="api")
    DBTaskResult.objects.exclude(pk=task.pk).delete()
    assert services.pipeline_runs_reap() == [gone.pk]
    gone.refresh_from_db()
    assert gone.error.startswith("the run's task ") and gone.error.endswith(" no longer exists")


@pytest.mark.django_db
def test_a_queued_run_never_handed_to_the_worker_fails_after_the_timeout(
    clock, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # the process died before enqueuing
        run = services.pipeline_run_enqueue(report_date=D, triggered_by=None, source="api")
    PipelineRun.objects.filter(pk=run.pk).update(queued_at=T0)
    clock.advance(60)
    assert services.pipeline_runs_reap() == []
    clock.advance(1)
    assert services.pipeline_runs_reap() == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", "the run was never handed to the task worker")


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_beats_until_the_run_stops_running(clock) -> None:
    run = running_run(heartbeat_at=T0 - dt.timedelta(seconds=30))
    with liveness.Heartbeat(run.pk, interval=0.05):
        deadline = time.monotonic() + 10
        while PipelineRun.objects.get().heartbeat_at != T0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert PipelineRun.objects.get().heartbeat_at == T0
        PipelineRun.objects.filter(pk=run.pk).update(status="succeeded")
        clock.advance(30)
        time.sleep(0.3)
    assert PipelineRun.objects.get().heartbeat_at == T0  # no beat once the run finished


@pytest.mark.django_db
def test_the_admin_shows_a_stale_run_failed(clock) -> None:
    from django.test import Client

    admin = Client()
    admin.force_login(StaffFactory(is_superuser=True))
    dead = running_run(heartbeat_at=T0 - dt.timedelta(seconds=61))
    page = admin.get(f"/admin/analytics/pipelinerun/{dead.pk}/change/").content.decode()
    assert (
        "the worker stopped during the run (no heartbeat since 2024-03-11T11:58:59+00:00)" in page
    )
    dead.refresh_from_db()
    assert (dead.status, dead.finished_at) == ("failed", T0)

    another = running_run(heartbeat_at=None)
    assert admin.get("/admin/analytics/pipelinerun/").status_code == 200
    another.refresh_from_db()
    assert (another.status, another.error) == (
        "failed",
        "the worker stopped during the run (no heartbeat since 2024-03-11T11:51:00+00:00)",
    )


# --- Staging directories left by killed runs ---------------------------------------------------


def leftover(reports_dir, name: str) -> object:
    """A staging directory as a killed run leaves it: half-written reports inside."""
    path = reports_dir / name
    (path / "nested").mkdir(parents=True)
    (path / "purchases_curated.csv").write_text("half a file")
    (path / "nested" / "x.tmp").write_text("x")
    return path


def staging_names(reports_dir) -> list[str]:
    return sorted(p.name for p in reports_dir.iterdir() if p.name.startswith(".staging-"))


@pytest.mark.django_db
def test_the_next_run_removes_staging_directories_of_killed_runs(pipeline_dirs, clock) -> None:
    _, reports_dir = pipeline_dirs
    first = services.pipeline_run_now(params=PipelineParams(report_date=D))
    files = {p.name: p.read_bytes() for p in reports_dir.iterdir()}
    leftover(reports_dir, f".staging-run{first.pk}-killed1")
    leftover(reports_dir, ".staging-k9x2m4qa")  # named before run ids were part of the name
    (reports_dir / ".staging-notes.txt").write_text("a file, not a staging directory")

    second = services.pipeline_run_now(params=PipelineParams(report_date=D))

    assert second.status == "succeeded"
    assert staging_names(reports_dir) == [".staging-notes.txt"]
    after = {p.name: p.read_bytes() for p in reports_dir.iterdir()}
    assert after == {**files, ".staging-notes.txt": b"a file, not a staging directory"}
    assert sorted(files) == sorted(
        [
            "arpdau_d1.json",
            "purchases_curated.csv",
            "reconciliation.json",
            "rejected_rows.csv",
            "roas_anomaly.json",
            "roas_d1.json",
        ]
    )


@pytest.mark.django_db
def test_marking_a_dead_run_failed_removes_its_staging_directory(
    pipeline_dirs, clock, django_capture_on_commit_callbacks
) -> None:
    _, reports_dir = pipeline_dirs
    reports_dir.mkdir()
    dead = running_run(heartbeat_at=T0 - dt.timedelta(seconds=61))
    PipelineRun.objects.filter(pk=dead.pk).update(
        parameters=PipelineParams(report_date=D).to_json(
            data_dir=pipeline_dirs[0], reports_dir=reports_dir
        )
    )
    leftover(reports_dir, f".staging-run{dead.pk}-abc123")
    (reports_dir / "roas_d1.json").write_text("{}")

    with django_capture_on_commit_callbacks(execute=True):
        assert services.pipeline_runs_reap_now() == [dead.pk]

    assert staging_names(reports_dir) == []
    assert [p.name for p in reports_dir.iterdir()] == ["roas_d1.json"]


@pytest.mark.django_db
def test_the_staging_directory_of_a_live_run_is_kept(
    pipeline_dirs, clock, django_capture_on_commit_callbacks
) -> None:
    _, reports_dir = pipeline_dirs
    reports_dir.mkdir()
    finished = running_run(heartbeat_at=T0)
    PipelineRun.objects.filter(pk=finished.pk).update(status="failed")
    alive = running_run(heartbeat_at=T0 - dt.timedelta(seconds=30))
    # A queued run nothing will start (never handed to the worker): marking it failed sweeps.
    orphan = PipelineRun.objects.create(
        date=D, source="api", status="queued", queued_at=T0 - dt.timedelta(minutes=5)
    )
    live_dir = leftover(reports_dir, f".staging-run{alive.pk}-live01")
    leftover(reports_dir, f".staging-run{finished.pk}-dead01")
    leftover(reports_dir, ".staging-oldname1")

    with django_capture_on_commit_callbacks(execute=True):
        assert services.pipeline_runs_reap_now() == [orphan.pk]

    # The live run's directory and the one without a run id stay while a run is live.
    assert staging_names(reports_dir) == [".staging-oldname1", f".staging-run{alive.pk}-live01"]
    assert (live_dir / "purchases_curated.csv").read_text() == "half a file"
    alive.refresh_from_db()
    assert alive.status == "running"
    assert report_storage.staging_dirs_remove_stale(reports_dir) == []
