"""Which app may import which at runtime (imports under `if TYPE_CHECKING:` are for annotations
and do not count; tests and migrations are exempt)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _runtime_imports(app: str) -> dict[str, set[str]]:
    """Module path -> the modules it imports at runtime (at module level or in a function)."""
    found = {}
    for path in sorted((ROOT / app).rglob("*.py")):
        if {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
        found[str(path.relative_to(ROOT))] = imported
    return found


def _importing(app: str, prefix: str) -> dict[str, list[str]]:
    return {
        module: sorted(name for name in imported if name == prefix or name.startswith(prefix + "."))
        for module, imported in _runtime_imports(app).items()
        if any(name == prefix or name.startswith(prefix + ".") for name in imported)
    }


def test_economy_and_telemetry_take_the_user_model_from_get_user_model():
    assert _importing("economy", "accounts.models") == {}
    assert _importing("telemetry", "accounts.models") == {}


def test_accounts_reaches_other_apps_only_from_its_admin():
    # The player page's panels in accounts/admin.py are on their way to liveops.
    importers = {
        module
        for other in ("economy", "telemetry", "analytics", "liveops")
        for module in _importing("accounts", other)
    }

    assert importers <= {"accounts/admin.py"}
