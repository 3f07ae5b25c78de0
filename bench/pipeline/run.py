"""Pipeline benchmark: per size and data shape, the pipeline against DuckDB and pandas.

    .venv/bin/python bench/pipeline/run.py [--sizes 100000,1000000] [--shapes base,players,...]

For each size (AppsFlyer purchases; the generator adds gateway rows ~0.95x, sessions 5x, ~200
campaigns, 30 days) the demo data is generated once into bench/.data/ (reused when the same
parameters were generated before) and rewritten into each shape of bench/pipeline/shapes.py.
Then, per shape:

* the inputs are read once (page cache warm, as for every timed run below);
* `manage.py run_pipeline --no-db` runs as a child process: wall time (start-up included) and
  peak RSS (GNU time);
* bench/pipeline/duckdb_baseline.py and pandas_baseline.py (the reconciliation step: load,
  curate, match) run the same way;

and the worst shape of each size (the slowest pipeline run) is run once more through
`run_pipeline --no-db -v 2` for its per-stage seconds. A table per size, the worst shape and
the targets are printed at the end; `--json FILE` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shapes import SHAPES, derive

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / ".data"
PYTHON = sys.executable
END_DATE = date(2024, 3, 31)
DAYS, CAMPAIGNS, SEED = 30, 200, 42
BASELINE_LIMIT_SECONDS = 600
# size: (seconds end to end, peak MB, minimum DuckDB/pipeline ratio)
TARGETS = {
    100_000: (1.0, None, None),
    1_000_000: (4.0, None, 4.0),
    10_000_000: (45.0, 6 * 1024, None),
}


def measure(command: list[str]) -> tuple[float, float, str, str]:
    """Wall seconds, peak RSS in MB, stdout and stderr of a child process."""
    time_bin = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        completed = subprocess.run(
            [time_bin, "-f", "%M", "-o", report.name, *command],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if completed.returncode != 0:
            raise SystemExit(f"failed: {' '.join(command)}\n{completed.stderr[-3000:]}")
        peak_kb = int(re.findall(r"\d+", report.read())[-1])
    return seconds, peak_kb / 1024, completed.stdout, completed.stderr


def ensure_data(size: int, shape: str) -> Path:
    """The data of `shape` at `size`: generated (base, players) or derived from base."""
    if shape not in ("base", "players"):
        base = ensure_data(size, "base")
        target = DATA / f"p{size}-{shape}"
        stamp = target / "params.json"
        params = {"shape": shape, "base": json.loads((base / "params.json").read_text())}
        if stamp.exists() and json.loads(stamp.read_text()) == params:
            return target
        print(f"[{size:,}] deriving shape {shape} into {target} ...", flush=True)
        derive(shape, base, target)
        stamp.write_text(json.dumps(params))
        return target
    users = size if shape == "players" else None
    params = {
        "purchases": size,
        "days": DAYS,
        "seed": SEED,
        "end_date": END_DATE.isoformat(),
        "campaigns": CAMPAIGNS,
        **({"users": users} if users else {}),
    }
    target = DATA / (f"p{size}" if shape == "base" else f"p{size}-{shape}")
    stamp = target / "params.json"
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        print(f"[{size:,}] reusing {target}", flush=True)
        return target
    print(f"[{size:,}] generating demo data into {target} ...", flush=True)
    seconds, peak, out, _ = measure(
        [
            PYTHON,
            "manage.py",
            "generate_demo_data",
            *([f"--users={users}"] if users else []),
            f"--purchases={size}",
            f"--days={DAYS}",
            f"--seed={SEED}",
            f"--end-date={END_DATE}",
            f"--campaigns={CAMPAIGNS}",
            f"--out={target}",
        ]
    )
    print(out.strip(), flush=True)
    print(f"[{size:,}] generated in {seconds:.1f} s, peak {peak:.0f} MB", flush=True)
    stamp.write_text(json.dumps(params))
    return target


def pipeline_command(data_dir: Path, reports_dir: Path) -> list[str]:
    if (ROOT / "analytics" / "management" / "commands" / "run_pipeline.py").exists():
        return [
            PYTHON,
            "manage.py",
            "run_pipeline",
            "--no-db",
            f"--date={END_DATE}",
            f"--data-dir={data_dir}",
            f"--reports-dir={reports_dir}",
        ]
    print("  (run_pipeline command missing: timing analytics.pipeline.run_pipeline directly)")
    code = (
        "from datetime import date; from pathlib import Path; "
        "from analytics.pipeline import run_pipeline, PipelineParams; "
        f"run_pipeline(Path({str(data_dir)!r}), Path({str(reports_dir)!r}), "
        f"PipelineParams(report_date=date.fromisoformat({END_DATE.isoformat()!r})))"
    )
    return [PYTHON, "-c", code]


def warm_cache(data_dir: Path) -> None:
    """Read the inputs once, so every tool is timed on files in the page cache (a freshly
    generated or derived shape may have been evicted by the next one)."""
    for path in data_dir.glob("*.csv"):
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def stage_profile(data_dir: Path) -> str:
    """Per-stage seconds of one run (`run_pipeline --no-db -v 2` prints a line per stage)."""
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as reports:
        _, _, out, _ = measure([*pipeline_command(data_dir, Path(reports)), "--verbosity=2"])
    stages = [line.split() for line in out.splitlines() if line.startswith("  ")]
    return " | ".join(f"{stage[0]} {stage[-2]}" for stage in stages)


def baseline(name: str, data_dir: Path) -> dict[str, object]:
    seconds, peak, out, _ = measure([PYTHON, f"bench/pipeline/{name}_baseline.py", str(data_dir)])
    phases = json.loads(out.strip().splitlines()[-1])
    return {f"{name}_s": seconds, f"{name}_mb": peak, f"{name}_phases": phases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    shapes = [s for s in args.shapes.split(",") if s]
    results = []
    print(f"load average at start: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    for size in sizes:
        per_purchase: dict[str, float] = {}
        for shape in shapes:
            data_dir = ensure_data(size, shape)
            input_mb = sum(p.stat().st_size for p in data_dir.glob("*.csv")) / 2**20
            warm_cache(data_dir)
            with tempfile.TemporaryDirectory(prefix="bench-reports-") as reports:
                seconds, peak, _, _ = measure(pipeline_command(data_dir, Path(reports)))
            row: dict[str, object] = {
                "size": size,
                "shape": shape,
                "input_mb": input_mb,
                "pipeline_s": seconds,
                "pipeline_mb": peak,
                "data_dir": str(data_dir),
            }
            print(f"[{size:,} {shape}] pipeline {seconds:.2f} s, peak {peak:.0f} MB", flush=True)
            for name, skip in (("duckdb", args.no_duckdb), ("pandas", args.no_pandas)):
                estimate = per_purchase.get(name, 0.0) * size
                if skip:
                    row[f"{name}_note"] = "not run"
                elif estimate > BASELINE_LIMIT_SECONDS:
                    row[f"{name}_note"] = f"skipped: est. {estimate:.0f} s"
                else:
                    warm_cache(data_dir)
                    row.update(baseline(name, data_dir))
                    per_purchase[name] = float(row[f"{name}_s"]) / size * 1.2  # type: ignore[arg-type]
                    print(f"[{size:,} {shape}] {name} {row[f'{name}_s']:.2f} s", flush=True)
            results.append(row)
        worst = max((r for r in results if r["size"] == size), key=lambda r: r["pipeline_s"])
        worst["worst"] = True
        warm_cache(Path(str(worst["data_dir"])))
        worst["stages"] = stage_profile(Path(str(worst["data_dir"])))
        print(f"[{size:,}] worst shape {worst['shape']}: {worst['stages']}", flush=True)

    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(f"load average at end: {Path('/proc/loadavg').read_text().strip()}")
    print(
        "| purchases | shape | input MB | pipeline s | peak MB | DuckDB s | DuckDB/pipeline "
        "| pandas s | pandas/pipeline |"
    )
    print("|" + "---|" * 9)
    for row in results:
        cells = []
        for name in ("duckdb", "pandas"):
            if f"{name}_s" in row:
                ratio = float(row[f"{name}_s"]) / float(row["pipeline_s"])  # type: ignore[arg-type]
                cells += [f"{row[f'{name}_s']:.2f}", f"{ratio:.1f}x"]
            else:
                cells += [str(row[f"{name}_note"]), "-"]
        shape = f"**{row['shape']}** (worst)" if row.get("worst") else str(row["shape"])
        print(
            f"| {row['size']:,} | {shape} | {row['input_mb']:.0f} | {row['pipeline_s']:.2f} "
            f"| {row['pipeline_mb']:.0f} | {' | '.join(cells)} |"
        )
    print()
    for row in results:
        if row.get("worst"):
            print(f"stages, {row['size']:,} {row['shape']}: {row['stages']}")
    for size, (target_s, target_mb, ratio) in TARGETS.items():
        rows = [r for r in results if r["size"] == size]
        if not rows:
            continue
        worst_s = max(float(r["pipeline_s"]) for r in rows)  # type: ignore[arg-type]
        worst_mb = max(float(r["pipeline_mb"]) for r in rows)  # type: ignore[arg-type]
        ok = worst_s <= target_s and (target_mb is None or worst_mb <= target_mb)
        text = f"target {size:,}: every shape <= {target_s:.0f} s"
        if target_mb:
            text += f" and <= {target_mb / 1024:.0f} GB"
        found = f"worst {worst_s:.2f} s, {worst_mb / 1024:.2f} GB"
        if ratio:
            ratios = [
                float(r["duckdb_s"]) / float(r["pipeline_s"])  # type: ignore[arg-type]
                for r in rows
                if "duckdb_s" in r
            ]
            text += f", >= {ratio:.0f}x DuckDB"
            if ratios:
                found += f", lowest DuckDB ratio {min(ratios):.1f}x"
                ok = ok and min(ratios) >= ratio
        print(f"{text} -> {found}: {'met' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
