"""The runbook and the pipeline doc name only real settings, commands and options."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class

ROOT = Path(settings.BASE_DIR)
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
PIPELINE = (ROOT / "docs" / "pipeline.md").read_text()
# Where the environment is read: Django settings and gunicorn's configuration.
READERS = (ROOT / "gamebackend" / "settings.py").read_text() + (
    ROOT / "gunicorn.conf.py"
).read_text()


def env_table_names(text: str) -> list[str]:
    section = text.split("## 7. Environment variables that matter", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    return names


def env_file_names(text: str) -> list[str]:
    block = text.split("`/etc/gamebackend/env` (mode 640", 1)[1].split("```bash", 1)[1]
    block = block.split("```", 1)[0]
    return re.findall(r"^([A-Z][A-Z0-9_]+)=", block, re.M)


def test_the_runbook_lists_the_variables_that_matter():
    names = env_table_names(OPERATIONS)

    assert len(names) >= 30
    for name in ["SECURE_SSL_REDIRECT", "NUM_PROXIES", "JWT_SECRET", "DATABASE_URL", "ENV_FILE"]:
        assert name in names


@pytest.mark.parametrize(
    "name", sorted(set(env_table_names(OPERATIONS)) | set(env_file_names(OPERATIONS)))
)
def test_every_variable_in_the_runbook_is_read_by_the_code(name):
    assert f'"{name}"' in READERS, name


def command_uses(text: str) -> list[tuple[str, list[str]]]:
    uses = []
    for match in re.finditer(r"(?:manage\.py|\$M) ([a-z_]+)([^\n;&|`)]*)", text):
        uses.append((match.group(1), re.findall(r"(--[a-z][a-z-]*)", match.group(2))))
    return uses


@pytest.mark.parametrize(
    ("command", "options"),
    command_uses(OPERATIONS) + command_uses(PIPELINE),
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_every_command_and_option_in_the_docs_exists(command, options):
    commands = get_commands()
    assert command in commands, command
    parser = load_command_class(commands[command], command).create_parser("manage.py", command)

    for option in options:
        assert option in parser._option_string_actions, f"{command} {option}"


def test_the_runbook_names_the_housekeeping_commands():
    named = {command for command, _ in command_uses(OPERATIONS)}

    assert {
        "prune_idempotency_keys",
        "prune_throttle_counters",
        "flushexpiredtokens",
        "prune_db_task_results",
        "run_pipeline",
        "export_sessions",
        "collectstatic",
        "migrate",
        "db_worker",
    } <= named


def test_the_readme_links_the_pipeline_doc_not_a_missing_file():
    readme = (ROOT / "README.md").read_text()

    assert "PIPELINE.md" not in readme
    assert "(docs/pipeline.md)" in readme
    assert "(docs/operations.md)" in readme
    for linked in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / linked).is_file(), linked


def test_every_run_pipeline_option_in_the_pipeline_doc_exists():
    commands = get_commands()
    parser = load_command_class(commands["run_pipeline"], "run_pipeline").create_parser(
        "manage.py", "run_pipeline"
    )
    documented = set(re.findall(r"(--[a-z][a-z-]*)", PIPELINE))
    real = {option for option in parser._option_string_actions if option.startswith("--")}

    assert documented == real - {
        "--help",
        "--version",
        "--verbosity",
        "--settings",
        "--pythonpath",
        "--traceback",
        "--no-color",
        "--force-color",
        "--skip-checks",
    }
