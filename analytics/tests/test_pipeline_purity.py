"""analytics/pipeline/ (and the demo data generators) stay pure polars: no Django module loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, json, pkgutil, sys
import analytics.pipeline, analytics.demo
names = []
for package in (analytics.pipeline, analytics.demo):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
web = ("django", "rest_framework")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in web)
print(json.dumps({"imported": names, "django": loaded}))
"""


def test_every_pipeline_and_demo_module_imports_without_django() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found["django"] == []
    assert {"analytics.pipeline.runner", "analytics.pipeline.inputs"} <= set(found["imported"])
    assert {
        "analytics.demo.appsflyer",
        "analytics.demo.gateway",
        "analytics.demo.costs",
        "analytics.demo.sessions",
    } <= set(found["imported"])
    assert "analytics.pipeline.__main__" not in found["imported"]
