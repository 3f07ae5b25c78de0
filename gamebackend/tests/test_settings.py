"""Configuration from the environment: production settings pass `check --deploy`; a missing
or short secret stops the start with one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from gamebackend.settings import database_from_url

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "ENV_FILE": "/dev/null",
    "JWT_SECRET": "d7c1e0a94b2f6e83c5a17b9d02f4e6a8b3c9d1e5f7a2b4c6",
    "DATABASE_URL": "sqlite:///:memory:",
    "ALLOWED_HOSTS": "api.example.com",
}


def manage(*args, **env):
    # Only the variables the test sets configure the child: bin/test exports development ones.
    ours = {"DEBUG", "JWT_SECRET", "TESTING", "SECURE_SSL_REDIRECT", "DATABASE_URL", "ENV_FILE"}
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    # A production start needs collected static files (core.checks): collected here into
    # a directory of the test's own, so a fresh checkout passes and no other test is raced.
    production = {**PRODUCTION, "STATIC_ROOT": str(tmp_path / "static")}
    collected = manage("collectstatic", "--noinput", "-v", "0", **production)
    assert collected.returncode == 0, collected.stderr

    result = manage("check", "--deploy", "--fail-level", "WARNING", **production)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (
            None,
            "configuration error: JWT_SECRET is not set; set it (32+ bytes) "
            "or run with DEBUG=true for development",
        ),
        ("x" * 31, "configuration error: JWT_SECRET must be at least 32 bytes long"),
    ],
)
def test_missing_or_short_secret_stops_the_start_with_one_line(secret, message):
    env = {k: v for k, v in PRODUCTION.items() if k != "JWT_SECRET"}
    if secret is not None:
        env["JWT_SECRET"] = secret

    result = manage("check", **env)

    assert result.returncode == 1
    assert result.stderr.strip() == message


def test_sqlite_url_is_relative_to_the_project_and_serializes_writers():
    config = database_from_url("sqlite:///data/app.db")

    assert config["NAME"] == str(ROOT / "data" / "app.db")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_postgres_url_uses_psycopg_with_a_pool():
    config = database_from_url("postgres://game:s%40cret@db.internal:5433/live")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("live", "game", "s@cret")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "5433")
    assert config["OPTIONS"]["pool"]["max_size"] == 16


def test_prepared_statements_follow_db_prepare_threshold(monkeypatch):
    url = "postgres://game:pw@db.internal/live"
    monkeypatch.delenv("DB_PREPARE_THRESHOLD", raising=False)
    assert database_from_url(url)["OPTIONS"]["prepare_threshold"] == 1
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "0")
    assert database_from_url(url)["OPTIONS"]["prepare_threshold"] == 0
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "off")
    assert database_from_url(url)["OPTIONS"]["prepare_threshold"] is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "DB_PREPARE_THRESHOLD must be 0 or more, or off, got -1"),
        ("soon", "DB_PREPARE_THRESHOLD must be an integer, got 'soon'"),
    ],
)
def test_a_bad_db_prepare_threshold_is_refused_with_one_line(monkeypatch, value, message):
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", value)

    with pytest.raises(ImproperlyConfigured) as refused:
        database_from_url("postgres://game:pw@db.internal/live")

    assert str(refused.value) == message
