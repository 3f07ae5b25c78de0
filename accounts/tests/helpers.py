"""Test helpers for any app's tests: a client signed in as a given user, and a race script run
on a real SQLite file in its own process."""

import os
import subprocess
import sys
from pathlib import Path

from rest_framework.test import APIClient

from accounts.services import token_pair_issue


def client_for(user):
    client = APIClient()
    pair = token_pair_issue(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    return client


ROOT = Path(__file__).resolve().parents[2]


def sqlite_file_run(
    module: str, *args: str, database: Path, log_level: str
) -> subprocess.CompletedProcess[str]:
    """`python -m module args` against the SQLite file `database`, in a process of its own (its
    threads race on the file, outside the test database's transaction)."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "PYTHONPATH": str(ROOT),
        "JWT_SECRET": "sqlite-race-test-secret-of-at-least-32-bytes",
        "LOG_LEVEL": log_level,
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
