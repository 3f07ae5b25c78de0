"""manage.py run_pipeline."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.models import PipelineRun, RoasDaily
from analytics.pipeline.reports import REPORT_FILES


class TerminalOutput(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_stores_the_run_and_prints_a_summary(pipeline_dirs) -> None:
    _, reports_dir = pipeline_dirs
    out = io.StringIO()
    call_command("run_pipeline", "--date", "2024-03-10", stdout=out)
    run = PipelineRun.objects.get()
    assert (run.status, run.source, str(run.date)) == ("succeeded", "cron", "2024-03-10")
    assert RoasDaily.objects.count() == 2
    lines = out.getvalue().splitlines()
    assert len(lines) == 1  # no per-stage progress when stdout is not a terminal
    assert lines[0].startswith("pipeline for 2024-03-10 done in ")
    assert lines[0].endswith(
        f"(run {run.pk} stored): 2 purchases, 2 matched (100.00%), 1 rejected rows; "
        f"reports in {reports_dir}"
    )


@pytest.mark.django_db
def test_shows_progress_per_stage_on_a_terminal(pipeline_dirs) -> None:
    out = TerminalOutput()
    call_command("run_pipeline", "--date", "2024-03-10", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines[:-1]] == [
        "inputs",
        "sessions",
        "purchases",
        "gateway",
        "reconcile",
        "reversals",
        "revenue",
        "roas",
        "anomalies",
        "arpdau",
        "reports",
    ]
    assert lines[3].split()[1:3] == ["2", "rows"]


@pytest.mark.django_db
def test_no_db_writes_the_files_and_touches_no_table(
    tmp_path, pipeline_dirs, django_assert_num_queries
) -> None:
    data_dir, _ = pipeline_dirs
    reports_dir = tmp_path / "elsewhere"
    out = io.StringIO()
    with django_assert_num_queries(0):
        call_command(
            "run_pipeline",
            "--no-db",
            "--date",
            "2024-03-10",
            "--data-dir",
            str(data_dir),
            "--reports-dir",
            str(reports_dir),
            "--window-minutes",
            "0",
            stdout=out,
        )
    assert sorted(p.name for p in reports_dir.iterdir()) == sorted(REPORT_FILES)
    reconciliation = json.loads((reports_dir / "reconciliation.json").read_text())
    assert (reconciliation["window_minutes"], reconciliation["matched_by_time"]) == (0, 0)
    assert "(database not touched)" in out.getvalue()


def test_every_option_reaches_the_pipeline(tmp_path, pipeline_dirs) -> None:
    data_dir, _ = pipeline_dirs
    call_command(
        "run_pipeline",
        "--no-db",
        "--date",
        "2024-03-10",
        "--data-dir",
        str(data_dir),
        "--reports-dir",
        str(tmp_path / "r"),
        "--anomaly-drop",
        "0.5",
        "--anomaly-days",
        "3",
        "--anomaly-min-days",
        "1",
        "--anomaly-min-spend",
        "2.50",
        stdout=io.StringIO(),
    )
    rule = json.loads((tmp_path / "r" / "roas_anomaly.json").read_text())["rule"]
    assert rule == {"days": 3, "min_days": 1, "drop": 0.5, "min_spend": 2.5}


def test_no_db_input_error_is_a_one_line_command_error(tmp_path, pipeline_dirs) -> None:
    data_dir, _ = pipeline_dirs
    (data_dir / "costs_daily.csv").unlink()
    with pytest.raises(CommandError, match=r"^costs_daily: missing input file") as raised:
        call_command("run_pipeline", "--no-db", "--reports-dir", str(tmp_path / "r"))
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "r").exists()


@pytest.mark.django_db
def test_a_failed_run_exits_non_zero_with_its_reason(pipeline_dirs) -> None:
    data_dir, _ = pipeline_dirs
    (data_dir / "sessions.csv").write_text("user_id\n")
    with pytest.raises(CommandError) as raised:
        call_command("run_pipeline", "--date", "2024-03-10", stdout=io.StringIO())
    run = PipelineRun.objects.get()
    assert str(raised.value) == (
        f"pipeline run {run.pk} failed: sessions.csv: missing required column 'session_start'"
    )
    assert run.status == "failed"


@pytest.mark.django_db
def test_busy_exits_non_zero(pipeline_dirs) -> None:
    active = PipelineRun.objects.create(date="2024-03-10", source="api", status="running")
    with pytest.raises(
        CommandError, match=f"Pipeline run {active.pk} is already queued or running"
    ):
        call_command("run_pipeline", stdout=io.StringIO())
    assert PipelineRun.objects.count() == 1


@pytest.mark.parametrize(
    "arguments",
    [
        ["--date", "2024-02-30"],
        ["--window-minutes", "-1"],
        ["--anomaly-days", "0"],
        ["--anomaly-min-spend", "-1"],
        ["--anomaly-min-spend", "abc"],
    ],
)
def test_bad_options_are_refused(arguments) -> None:
    with pytest.raises(CommandError):
        call_command("run_pipeline", "--no-db", *arguments)


def test_exit_status_from_the_shell(tmp_path, pipeline_dirs) -> None:
    import subprocess
    import sys
    from pathlib import Path

    data_dir, _ = pipeline_dirs
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    base = [
        sys.executable,
        str(manage),
        "run_pipeline",
        "--no-db",
        "--date",
        "2024-03-10",
        "--reports-dir",
        str(tmp_path / "r"),
    ]
    ok = subprocess.run([*base, "--data-dir", str(data_dir)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run(
        [*base, "--data-dir", str(tmp_path / "nowhere")], capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("CommandError: purchases_raw: missing input file")


def test_no_db_with_verbosity_2_prints_the_stages_without_any_database(
    tmp_path, pipeline_dirs
) -> None:
    """What bench/pipeline/run.py reads: a line per stage on stdout (not a terminal here), with
    a database that cannot even be opened."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    data_dir, _ = pipeline_dirs
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    done = subprocess.run(
        [
            *(sys.executable, str(manage), "run_pipeline", "--no-db", "-v", "2"),
            *("--date", "2024-03-10", "--data-dir", str(data_dir)),
            *("--reports-dir", str(tmp_path / "r")),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": "sqlite:////nonexistent/dir/x.db"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    stages = [line.split() for line in lines if line.startswith("  ")]
    assert [stage[0] for stage in stages] == [
        "inputs",
        "sessions",
        "purchases",
        "gateway",
        "reconcile",
        "reversals",
        "revenue",
        "roas",
        "anomalies",
        "arpdau",
        "reports",
    ]
    assert all(stage[-1] == "s" and float(stage[-2]) >= 0 for stage in stages)
    assert stages[3][1:3] == ["2", "rows"]
    assert len(lines) == len(stages) + 1
    assert lines[-1].startswith("pipeline for 2024-03-10 done in ")
    assert "(database not touched)" in lines[-1]
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == sorted(REPORT_FILES)
