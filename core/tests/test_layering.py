"""The kernel's import graph: core imports no app, and its modules import each other without a
cycle (imports inside functions count; those under `if TYPE_CHECKING:` do not)."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1]
APPS = ("accounts", "economy", "telemetry", "analytics", "liveops")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    return imported


def _core_modules() -> dict[str, Path]:
    return {
        ".".join(("core", *path.relative_to(CORE).with_suffix("").parts)).removesuffix(
            ".__init__"
        ): path
        for path in CORE.rglob("*.py")
        if not {"tests", "migrations"} & set(path.relative_to(CORE).parts)
    }


def _core_graph() -> dict[str, set[str]]:
    modules = _core_modules()
    return {
        name: {other for other in _imported_modules(path) if other in modules and other != name}
        for name, path in modules.items()
    }


def _cycle_from(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        module, trail = stack.pop()
        for imported in sorted(graph[module]):
            if imported == start:
                return [*trail, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*trail, imported]))
    return None


def test_no_module_of_core_imports_a_module_that_imports_it():
    graph = _core_graph()
    assert "core.metrics" in graph and "core.problems" in graph

    cycles = [cycle for module in sorted(graph) if (cycle := _cycle_from(graph, module))]

    assert cycles == []


def test_the_metric_objects_import_nothing_of_the_project():
    project = ("core", "gamebackend", *APPS)

    imported = _imported_modules(CORE / "metrics.py")

    assert sorted(name for name in imported if name.split(".")[0] in project) == []


def test_core_imports_no_app():
    app_imports = {
        module: sorted(name for name in _imported_modules(path) if name.split(".")[0] in APPS)
        for module, path in _core_modules().items()
    }

    assert {module: names for module, names in app_imports.items() if names} == {}
