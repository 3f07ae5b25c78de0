"""Pipeline benchmark: generate demo data per size, time the pipeline and a pandas baseline.

    .venv/bin/python bench/pipeline/run.py [--sizes 100000,1000000,10000000]

For each size (AppsFlyer purchases; the generator adds gateway rows ~0.95x, sessions 5x, ~200
campaigns, 30 days) the data is generated once into bench/.data/ (reused when the same
parameters were generated before), then

* `manage.py run_pipeline --no-db` runs as a child process: wall time and peak RSS (GNU time);
* bench/pipeline/pandas_baseline.py (the reconciliation step in plain pandas) runs the same way.

A table and the targets are printed at the end; `--json FILE` also writes the figures.
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

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / ".data"
PYTHON = sys.executable
END_DATE = date(2024, 3, 31)
DAYS, CAMPAIGNS, SEED = 30, 200, 42
PANDAS_LIMIT_SECONDS = 600
TARGETS = {1_000_000: (4.0, 1.5 * 1024), 10_000_000: (60.0, 8 * 1024)}


def measure(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of a child process."""
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
    return seconds, peak_kb / 1024, completed.stdout


def ensure_data(size: int) -> Path:
    params = {
        "purchases": size,
        "days": DAYS,
        "seed": SEED,
        "end_date": END_DATE.isoformat(),
        "campaigns": CAMPAIGNS,
    }
    target = DATA / f"p{size}"
    stamp = target / "params.json"
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        print(f"[{size:,}] reusing {target}", flush=True)
        return target
    print(f"[{size:,}] generating demo data into {target} ...", flush=True)
    seconds, peak, out = measure(
        [
            PYTHON,
            "manage.py",
            "generate_demo_data",
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = []
    pandas_per_purchase = None
    for size in sizes:
        data_dir = ensure_data(size)
        input_mb = sum(p.stat().st_size for p in data_dir.glob("*.csv")) / 2**20
        with tempfile.TemporaryDirectory(prefix="bench-reports-") as reports:
            seconds, peak, _ = measure(pipeline_command(data_dir, Path(reports)))
        row = {"size": size, "input_mb": input_mb, "pipeline_s": seconds, "pipeline_mb": peak}
        print(f"[{size:,}] pipeline {seconds:.2f} s, peak {peak:.0f} MB", flush=True)
        estimate = pandas_per_purchase * size if pandas_per_purchase else 0
        if args.no_pandas:
            row["pandas_note"] = "not run"
        elif estimate > PANDAS_LIMIT_SECONDS:
            row["pandas_note"] = f"skipped: estimated {estimate:.0f} s > {PANDAS_LIMIT_SECONDS} s"
        else:
            command = [PYTHON, "bench/pipeline/pandas_baseline.py", str(data_dir)]
            p_seconds, p_peak, out = measure(command)
            phases = json.loads(out.strip().splitlines()[-1])
            row.update(pandas_s=p_seconds, pandas_mb=p_peak, pandas_phases=phases)
            pandas_per_purchase = p_seconds / size * 1.2
            print(
                f"[{size:,}] pandas {p_seconds:.2f} s (reconcile {phases['reconcile_seconds']} s),"
                f" peak {p_peak:.0f} MB",
                flush=True,
            )
        results.append(row)

    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    header = (
        "| purchases | input MB | pipeline s | pipeline peak MB "
        "| pandas reconcile s (load+curate+match) | pandas peak MB | pandas/pipeline |"
    )
    print(header)
    print("|" + "---|" * 7)
    for row in results:
        if "pandas_s" in row:
            pandas = f"{row['pandas_s']:.2f}"
            pandas_mb = f"{row['pandas_mb']:.0f}"
            ratio = f"{row['pandas_s'] / row['pipeline_s']:.1f}x"
        else:
            pandas, pandas_mb, ratio = row["pandas_note"], "-", "-"
        print(
            f"| {row['size']:,} | {row['input_mb']:.0f} | {row['pipeline_s']:.2f} "
            f"| {row['pipeline_mb']:.0f} | {pandas} | {pandas_mb} | {ratio} |"
        )
    print()
    for size, (target_s, target_mb) in TARGETS.items():
        row = next((r for r in results if r["size"] == size), None)
        if row:
            ok = row["pipeline_s"] <= target_s and row["pipeline_mb"] <= target_mb
            verdict = "met" if ok else "MISSED"
            print(
                f"target {size:,}: <= {target_s:.0f} s and <= {target_mb / 1024:.1f} GB -> "
                f"{row['pipeline_s']:.2f} s, {row['pipeline_mb'] / 1024:.2f} GB: {verdict}"
            )
    if len(results) > 1:
        first, last = results[0], results[-1]
        growth = (last["pipeline_s"] / first["pipeline_s"]) / (last["size"] / first["size"])
        print(f"time growth {first['size']:,} -> {last['size']:,}: {growth:.2f} x linear")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
