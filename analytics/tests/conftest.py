"""Fixtures of the analytics tests: small inputs on disk and tasks run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.tests.pipeline_inputs import af, cost, gw, session, write_inputs

DAY = "2024-03-10"


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def pipeline_dirs(tmp_path: Path, settings) -> tuple[Path, Path]:
    """A small dataset in DATA_DIR (one match by id, one by time, a refund, a rejected row)."""
    data_dir = write_inputs(
        tmp_path / "data",
        purchases=[
            af(order="T1", time=f"{DAY} 10:00:00", usd="5.00"),
            af(user="u2", time=f"{DAY} 11:00:00", revenue="3", usd="3.30"),
            af(revenue="oops"),
        ],
        gateway=[
            gw(txn="T1", time=f"{DAY}T10:00:02Z", usd="5.00"),
            gw(txn="T2", user="u2", time=f"{DAY}T11:01:00Z", amount="3.00", usd="3.30"),
            gw(txn="T2", type="refund", time=f"{DAY}T12:00:00Z", usd="1.10"),
        ],
        costs=[cost(DAY, "net", "c1", "4.00"), cost("2024-03-09", "net", "c1", "2.00")],
        sessions=[session("u1", f"{DAY}T09:00:00Z"), session("u2", f"{DAY}T09:30:00Z")],
    )
    settings.DATA_DIR = data_dir
    settings.REPORTS_DIR = tmp_path / "reports"
    return data_dir, tmp_path / "reports"
