"""Every pipeline failure is one line: on stderr with a non-zero exit, and as the stored run's
error (admin and /pipeline-runs/<id>); a traceback only with --traceback or -v 3."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.test import Client

from accounts.tests.factories import StaffFactory
from accounts.tests.helpers import client_for
from analytics.models import PipelineRun
from analytics.pipeline import PipelineUnexpectedError

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"
DUPLICATE = (
    "confirmed_purchases.csv: column 'user_id' is named 2 times in the header (columns 2, 8)"
)
UNEXPECTED = "unexpected error in the reconcile stage: RuntimeError: boom"


def _repeat_user_id(data_dir: Path) -> None:
    path = data_dir / "confirmed_purchases.csv"
    lines = path.read_text().splitlines()
    lines[0] += ",user_id"
    path.write_text("\n".join(line if i == 0 else line + "," for i, line in enumerate(lines)))


def _break_reconcile(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom\n  at frame 3\n")

    monkeypatch.setattr("analytics.pipeline.runner.reconcile", broken)


def test_a_repeated_column_is_one_line_on_stderr_and_exit_1(tmp_path, pipeline_dirs) -> None:
    data_dir, _ = pipeline_dirs
    _repeat_user_id(data_dir)
    reports = tmp_path / "r"
    done = subprocess.run(
        [
            *(sys.executable, str(MANAGE), "run_pipeline", "--no-db", "--date", "2024-03-10"),
            *("--data-dir", str(data_dir), "--reports-dir", str(reports)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr, done.stdout) == (1, f"CommandError: {DUPLICATE}\n", "")
    assert not reports.exists()


def _argv(*extra: str) -> list[str]:
    return ["manage.py", "run_pipeline", "--no-db", "--date", "2024-03-10", *extra]


def test_an_unexpected_error_is_one_line_without_traceback(
    tmp_path, pipeline_dirs, monkeypatch, capsys
) -> None:
    _break_reconcile(monkeypatch)
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(_argv("--reports-dir", str(tmp_path / "r")))
    assert exited.value.code == 1
    assert capsys.readouterr().err == f"CommandError: {UNEXPECTED}\n"
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flag", ["--traceback", "-v3"])
def test_traceback_or_verbosity_3_keeps_the_traceback(
    tmp_path, pipeline_dirs, monkeypatch, flag
) -> None:
    _break_reconcile(monkeypatch)
    with pytest.raises(PipelineUnexpectedError) as raised:
        execute_from_command_line(_argv("--reports-dir", str(tmp_path / "r"), flag))
    assert str(raised.value) == UNEXPECTED
    assert isinstance(raised.value.__cause__, RuntimeError)


@pytest.mark.django_db
@pytest.mark.parametrize(("breakage", "line"), [("header", DUPLICATE), ("unexpected", UNEXPECTED)])
def test_the_stored_run_shows_the_same_line(pipeline_dirs, monkeypatch, breakage, line) -> None:
    data_dir, reports_dir = pipeline_dirs
    if breakage == "header":
        _repeat_user_id(data_dir)
    else:
        _break_reconcile(monkeypatch)
    with pytest.raises(CommandError) as raised:
        call_command("run_pipeline", "--date", "2024-03-10", stdout=io.StringIO())
    run = PipelineRun.objects.get()
    assert str(raised.value) == f"pipeline run {run.pk} failed: {line}"
    assert (run.status, run.error) == ("failed", line)
    assert not reports_dir.exists() or not any(p.suffix for p in reports_dir.iterdir())
    api = client_for(StaffFactory()).get(f"/pipeline-runs/{run.pk}")
    assert api.json()["error"] == line
    admin = Client()
    admin.force_login(StaffFactory(is_superuser=True))
    page = admin.get(f"/admin/analytics/pipelinerun/{run.pk}/change/")
    assert page.status_code == 200
    assert line.replace("'", "&#x27;") in page.content.decode()


@pytest.mark.django_db
def test_with_traceback_a_stored_run_fails_and_the_error_propagates(
    pipeline_dirs, monkeypatch
) -> None:
    _break_reconcile(monkeypatch)
    with pytest.raises(PipelineUnexpectedError):
        call_command("run_pipeline", "--date", "2024-03-10", "--traceback", stdout=io.StringIO())
    run = PipelineRun.objects.get()
    assert (run.status, run.error) == ("failed", UNEXPECTED)


def test_the_command_starts_without_the_web_stack(tmp_path, pipeline_dirs) -> None:
    """`manage.py run_pipeline` imports neither the admin modules nor DRF's views and
    serializers, drf-spectacular's schema code or the services (with --no-db)."""
    data_dir, _ = pipeline_dirs
    done = subprocess.run(
        [
            *(sys.executable, "-X", "importtime", str(MANAGE), "run_pipeline", "--no-db"),
            *("--date", "2024-03-10", "--data-dir", str(data_dir)),
            *("--reports-dir", str(tmp_path / "r")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "polars" in imported and "analytics.pipeline.runner" in imported
    unwanted = {
        "rest_framework.serializers",
        "rest_framework.views",
        "drf_spectacular.openapi",
        "accounts.admin",
        "analytics.admin",
        "accounts.services",
        "analytics.services",
        "gamebackend.urls",
    }
    assert imported & unwanted == set()
    # --no-db runs without django.setup(): no app's models.
    models = {"django.contrib.auth.models", "accounts.models", "analytics.models"}
    assert imported & models == set()
    # nor, for the logging configuration, Django's exception reporter and with it the ORM
    late = {"django.views.debug", "django.db.models", "django.forms", "django.http"}
    assert imported & late == set()


_LOGGING_STATE = """
import logging, sys
from django.conf import settings
from django.utils.log import AdminEmailHandler
if sys.argv[1] == "lean":
    from analytics.management.commands.run_pipeline import _configure_logging
    _configure_logging()
else:
    from django.utils.log import configure_logging
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
loggers = ["", "django", "django.request", "django.server", "gunicorn.access", "analytics"]
for name in loggers:
    logger = logging.getLogger(name)
    print(name, logger.level, logger.propagate, logger.disabled)
    for h in logger.handlers:
        kind = "AdminEmailHandler" if isinstance(h, AdminEmailHandler) else type(h).__name__
        filters = [type(f).__name__ for f in h.filters]
        print(" ", kind, h.level, filters, type(h.formatter).__name__)
print("reporter imported", "django.views.debug" in sys.modules)
admins = [h for h in logging.getLogger("django").handlers if hasattr(h, "reporter_class")]
print([h.reporter_class.__qualname__ for h in admins])
print("reporter imported", "django.views.debug" in sys.modules)
"""


def test_no_db_logging_is_django_s_with_the_reporter_imported_late() -> None:
    """`run_without_setup` configures logging as Django's `configure_logging` does (the same
    loggers, handlers, levels and filters, and the same reporter class for the admins'
    e-mail), but imports the exception reporter only when an error is reported."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gamebackend.settings", "DEBUG": "false"}
    lean, django = (
        subprocess.run(
            [sys.executable, "-c", _LOGGING_STATE, how],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=MANAGE.parent,
        ).stdout.splitlines()
        for how in ("lean", "django")
    )
    assert lean[:-3] == django[:-3]
    assert "  AdminEmailHandler 40 ['RequireDebugFalse'] NoneType" in lean
    assert (lean[-3], django[-3]) == ("reporter imported False", "reporter imported True")
    assert lean[-2:] == django[-2:]
    assert lean[-2] == "['ExceptionReporter']"
    assert lean[-1] == "reporter imported True"


def _manage(*args: str, setup: bool) -> subprocess.CompletedProcess[str]:
    """`manage.py ...`, or the same command through `django-admin` (django.setup() first)."""
    entry = [str(MANAGE)] if not setup else ["-m", "django"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gamebackend.settings"}
    return subprocess.run(
        [sys.executable, *entry, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=MANAGE.parent,
    )


def test_no_db_without_django_setup_does_what_the_command_does(tmp_path, pipeline_dirs) -> None:
    data_dir, _ = pipeline_dirs
    runs = {}
    for setup in (False, True):
        reports = tmp_path / f"r{setup}"
        common = ("--date", "2024-03-10", "--data-dir", str(data_dir), "--reports-dir")
        runs[setup] = _manage("run_pipeline", "--no-db", *common, str(reports), setup=setup)
        assert runs[setup].returncode == 0, runs[setup].stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "rFalse").iterdir()) == sorted(
        p.name for p in (tmp_path / "rTrue").iterdir()
    )
    for path in (tmp_path / "rFalse").iterdir():
        assert path.read_bytes() == (tmp_path / "rTrue" / path.name).read_bytes()
    seconds = re.compile(r"done in [0-9.]+ s")
    fast_out = seconds.sub("", runs[False].stdout).replace("rFalse", "rTrue")
    assert fast_out == seconds.sub("", runs[True].stdout)
    assert runs[False].stdout.startswith("pipeline for 2024-03-10 done in ")
    # Failures: the same line on stderr and exit status, for the pipeline and for argparse.
    for args in (
        ("--data-dir", str(tmp_path / "missing"), "--reports-dir", str(tmp_path / "x")),
        ("--window-minutes", "-1"),
    ):
        fast, full = (_manage("run_pipeline", "--no-db", *args, setup=s) for s in (False, True))
        assert (fast.returncode, fast.stdout) == (full.returncode, full.stdout)
        # (argparse names the program: manage.py, or __main__.py for python -m django)
        full_line = full.stderr.splitlines()[-1].replace("__main__.py", "manage.py")
        assert fast.stderr.splitlines()[-1] == full_line
        assert fast.returncode in (1, 2) and fast.stderr
    assert not (tmp_path / "x").exists()
