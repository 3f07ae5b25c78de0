"""The import contract of docs/architecture.md, checked on the source (an AST walk, no imports).

Floors, top to bottom: `gamebackend` (config) → `liveops` (cross-app pages) → the apps →
`core` (kernel). An import may point down or sideways as the rules below allow, never up, and
no two modules may import each other, directly or around a circle. Tests, migrations and
conftest modules are outside the contract; an import under `if TYPE_CHECKING:` is an
annotation, not a dependency, and only has to point at a project module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFIG = "gamebackend"
LIVEOPS = "liveops"
KERNEL = "core"
# Each app and the apps it may import (through their public modules). accounts is the lowest.
APPS: dict[str, frozenset[str]] = {
    "accounts": frozenset(),
    "economy": frozenset({"accounts"}),
    "telemetry": frozenset({"accounts"}),
    "analytics": frozenset(),
}
PACKAGES = frozenset({CONFIG, LIVEOPS, KERNEL, *APPS})
# What one app (or liveops) may import of another app: its public face.
PUBLIC_MODULES = frozenset({"services", "selectors", "errors"})
# liveops extends the apps' ModelAdmins (the player page adds panels to accounts' PlayerAdmin).
LIVEOPS_ALSO = frozenset({"admin"})
PURE_PIPELINE = "analytics.pipeline"
# Services and selectors raise `core.problems.Problem` subclasses (the apps' errors), never the
# API framework's exceptions: they are called by the admin, commands and tasks as well.
DOMAIN_LAYERS = frozenset({"services", "selectors"})
API_FRAMEWORK = "rest_framework"
WEB_FRAMEWORKS = frozenset({"django", "rest_framework", "rest_framework_simplejwt", "django_tasks"})


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name (a module of the project when it is one)
    path: str  # relative to the project's root
    line: int
    annotation_only: bool  # under `if TYPE_CHECKING:`

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _is_exempt(relative: Path) -> bool:
    parts = relative.parts
    return "tests" in parts or "migrations" in parts or relative.name == "conftest.py"


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    modules = {}
    for package in sorted(PACKAGES):
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if _is_exempt(relative):
                continue
            name = ".".join(relative.with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def _resolve(module: str, level: int, importer: str, is_package: bool) -> str:
    if level == 0:
        return module
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, modules: dict[str, Path], root: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def add(target: str, node: ast.stmt, annotation_only: bool) -> None:
        relative = str(path.relative_to(root))
        found.append(Import(name, target, relative, node.lineno, annotation_only))

    def visit(node: ast.AST, annotation_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    visit_statement(statement, True)
                for statement in child.orelse:
                    visit_statement(statement, annotation_only)
                continue
            visit_statement(child, annotation_only)

    def visit_statement(child: ast.AST, annotation_only: bool) -> None:
        if isinstance(child, ast.Import):
            for alias in child.names:
                add(alias.name, child, annotation_only)
        elif isinstance(child, ast.ImportFrom):
            base = _resolve(child.module or "", child.level, name, is_package)
            for alias in child.names:
                # `from economy import services` imports the module economy.services.
                candidate = f"{base}.{alias.name}"
                add(candidate if candidate in modules else base, child, annotation_only)
        else:
            visit(child, annotation_only)

    visit(tree, False)
    return found


def all_imports(root: Path = ROOT) -> list[Import]:
    modules = project_modules(root)
    return [
        found for name, path in modules.items() for found in imports_of(name, path, modules, root)
    ]


def _package(module: str) -> str:
    return module.split(".")[0]


def rule_broken(found: Import) -> str | None:
    """Why this import breaks the contract, or None."""
    source, target = _package(found.importer), _package(found.target)
    if found.importer.startswith(PURE_PIPELINE + ".") or found.importer == PURE_PIPELINE:
        if target in WEB_FRAMEWORKS:
            return "analytics/pipeline is pure polars: it imports no web framework"
        if target in PACKAGES and not found.target.startswith(PURE_PIPELINE):
            return "analytics/pipeline imports nothing of the project outside itself"
    if (
        found.importer.split(".")[-1] in DOMAIN_LAYERS
        and target == API_FRAMEWORK
        and not found.annotation_only
    ):
        return "services and selectors raise Problem subclasses, not rest_framework's exceptions"
    if target not in PACKAGES or target == source or found.annotation_only:
        return None
    if source == CONFIG:
        return None
    if target == CONFIG:
        return "nothing imports the config (gamebackend); it is the top floor"
    if source == KERNEL:
        return "the kernel (core) imports no app"
    if target == KERNEL:
        return None
    if target == LIVEOPS:
        return "only the config imports liveops"
    allowed_modules = PUBLIC_MODULES | (LIVEOPS_ALSO if source == LIVEOPS else frozenset())
    if source in APPS and target not in APPS[source]:
        others = ", ".join(sorted(APPS[source]))
        return (
            f"{source} may import only {others} and core"
            if others
            else (f"{source} imports no other app, only core")
        )
    parts = found.target.split(".")
    if len(parts) < 2 or parts[1] not in allowed_modules:
        return (
            f"another app is reached only through its {', '.join(sorted(allowed_modules))} "
            "(models only under TYPE_CHECKING; the user model through get_user_model())"
        )
    return None


def violations(root: Path = ROOT) -> list[str]:
    lines = [
        f"{found.where()} imports {found.target}: {reason}"
        for found in all_imports(root)
        if (reason := rule_broken(found)) is not None
    ]
    return list(dict.fromkeys(lines))  # `from x import a, b` is one line, not two


def circles(root: Path = ROOT) -> list[list[str]]:
    """Groups of modules that import each other (Tarjan's strongly connected components).

    Every runtime import counts, one inside a function too: an import moved into a function
    still makes the two modules depend on each other, it only hides the circle from Python.
    """
    modules = project_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for found in all_imports(root):
        if not found.annotation_only and found.target in modules:
            graph[found.importer].add(found.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:  # recursion depth is bounded by the module count
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(groups)


def test_no_import_points_the_wrong_way():
    assert violations() == []


def test_no_modules_import_each_other():
    assert circles() == []


# The checker itself, on a small project written to a temporary directory.


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in PACKAGES:
        (root / package).mkdir(exist_ok=True)
        (root / package / "__init__.py").touch()


def test_checker_reports_each_rule(tmp_path):
    _write(
        tmp_path,
        {
            "core/problems.py": "from accounts import services\n",
            "accounts/services.py": "from telemetry.services import attribute\n",
            "accounts/selectors.py": "",
            "telemetry/api.py": (
                "from accounts.models import User, Group\nfrom analytics import services\n"
            ),
            "analytics/services.py": "",
            "economy/services.py": (
                "from typing import TYPE_CHECKING\n"
                "from accounts.models import User\n"
                "from accounts import selectors\n"
                "from core import problems\n"
                "if TYPE_CHECKING:\n"
                "    from accounts.models import User as Annotated\n"
            ),
            "economy/admin.py": "import liveops.site\n",
            "telemetry/services.py": "from rest_framework_simplejwt.tokens import RefreshToken\n",
            "telemetry/selectors.py": "from rest_framework import exceptions\n",
            "accounts/models.py": "",
            "liveops/site.py": "from accounts.admin import PlayerAdmin\nimport gamebackend.urls\n",
            "accounts/admin.py": "",
            "gamebackend/urls.py": "from liveops import site\nfrom accounts.models import User\n",
            "analytics/pipeline/__init__.py": "from .runner import run\n",
            "analytics/pipeline/runner.py": "import polars\nimport django.db\nfrom core import x\n",
            "accounts/tests/test_x.py": "from economy.models import Wallet\n",
        },
    )
    assert violations(tmp_path) == [
        "accounts/services.py:1 imports telemetry.services: accounts imports no other app, "
        "only core",
        "analytics/pipeline/runner.py:2 imports django.db: analytics/pipeline is pure polars: "
        "it imports no web framework",
        "analytics/pipeline/runner.py:3 imports core: analytics/pipeline imports nothing of "
        "the project outside itself",
        "core/problems.py:1 imports accounts.services: the kernel (core) imports no app",
        "economy/admin.py:1 imports liveops.site: only the config imports liveops",
        "economy/services.py:2 imports accounts.models: another app is reached only through "
        "its errors, selectors, services (models only under TYPE_CHECKING; the user model "
        "through get_user_model())",
        "liveops/site.py:2 imports gamebackend.urls: nothing imports the config (gamebackend); "
        "it is the top floor",
        "telemetry/api.py:1 imports accounts.models: another app is reached only through "
        "its errors, selectors, services (models only under TYPE_CHECKING; the user model "
        "through get_user_model())",
        "telemetry/api.py:2 imports analytics.services: telemetry may import only accounts "
        "and core",
        "telemetry/selectors.py:1 imports rest_framework: services and selectors raise Problem "
        "subclasses, not rest_framework's exceptions",
    ]


def test_checker_finds_circles_hidden_in_functions(tmp_path):
    _write(
        tmp_path,
        {
            "analytics/services.py": "def run():\n    from analytics.tasks import task\n",
            "analytics/tasks.py": "from analytics.services import run\n",
            "analytics/runs.py": "from analytics import tasks\n",
            "core/metrics.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core import views\n"
            ),
            "core/views.py": "from core import metrics\n",
        },
    )
    assert circles(tmp_path) == [["analytics.services", "analytics.tasks"]]
