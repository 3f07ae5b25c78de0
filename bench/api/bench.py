"""API benchmark: PostgreSQL-backed gunicorn on loopback, driven by wrk and an open-model
generator, each scenario reported with a ratio to a bare Django view in the same run.

Run it with bench/api/run (see --help). Results: printed as a Markdown table, saved as JSON in
bench/api/results/, and with --write-docs put into the "API" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.api.live import EARN_AMOUNT as LIVE_EARN
from bench.api.live import SPEND_AMOUNT as LIVE_SPEND
from bench.lib import (
    PY,
    ROOT,
    Server,
    base_env,
    coins_balances,
    database_recreate,
    ledger_verify,
    log,
    migrate,
    players_create,
    postgres_url,
    served_ok,
)

HERE = Path(__file__).resolve().parent
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench/api: begin -->", "<!-- bench/api: end -->"
EARN_AMOUNT = 3


@dataclass
class Target:
    min_rps: float | None = None
    max_p99_ms: float | None = None
    max_p95_ms: float | None = None
    zero_errors: bool = False
    rps_factor: float = 1.0  # events/s = requests/s x 100 for the batch scenario
    unit: str = "req/s"


TARGETS = {
    "balance": Target(min_rps=1000, max_p99_ms=50),
    "earn_distinct": Target(min_rps=400, max_p99_ms=100),
    "earn_hot_wallet": Target(min_rps=200, zero_errors=True, unit="earns/s"),
    "events_batch": Target(min_rps=10_000, rps_factor=100, unit="events/s"),
    "live_game": Target(max_p95_ms=100, zero_errors=True),
}


def machine() -> dict[str, object]:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def wrk(
    server: Server, scenario: str, *, connections: int, duration: int, tokens: Path | None
) -> dict[str, object]:
    threads = 2
    env = {
        **os.environ,
        "BENCH_SCENARIO": "constant" if scenario == "baseline" else scenario,
        "BENCH_THREADS": str(threads),
        "BENCH_AMOUNT": str(EARN_AMOUNT),
    }
    if tokens is not None:
        env["BENCH_TOKENS"] = str(tokens)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(HERE / "scenario.lua"),
        server.url,
    ]
    log(f"wrk {scenario}: {' '.join(command[1:5])}")
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    line = next(item for item in out.splitlines() if item.startswith("BENCHJSON "))
    raw = json.loads(line.removeprefix("BENCHJSON "))
    seconds = raw["duration_us"] / 1e6
    socket_errors = sum(v for k, v in raw["errors"].items() if k != "status")
    return {
        "tool": f"wrk -t{threads} -c{connections} -d{duration}s",
        "connections": connections,
        "requests": raw["requests"],
        "ok": raw["ok"],
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": raw["requests"] - raw["ok"] + socket_errors,
        "non_2xx": raw["requests"] - raw["ok"],
        "socket_errors": socket_errors,
        "statuses": raw["statuses"],
    }


def profile(server: Server, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on the first worker while a scenario runs (collapsed stacks, for top_frames)."""
    pid = server.worker_pids()[0]
    return subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def top_frames(collapsed: Path, limit: int = 25) -> list[tuple[str, float]]:
    """Share of samples in which each frame appears (inclusive time), largest first."""
    totals: dict[str, int] = {}
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        samples += count
        for frame in set(stack.split(";")):
            totals[frame] = totals.get(frame, 0) + count
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return [(frame, round(100 * count / samples, 1)) for frame, count in ranked[:limit]]


def verdict(name: str, result: dict[str, object]) -> str:
    target = TARGETS.get(name)
    if target is None:
        return ""
    misses = []
    rps = float(result["rps"]) * target.rps_factor  # type: ignore[arg-type]
    if target.min_rps is not None and rps < target.min_rps:
        misses.append(f"{rps:,.0f} < {target.min_rps:,.0f} {target.unit}")
    if target.max_p99_ms is not None and float(result["p99_ms"]) > target.max_p99_ms:  # type: ignore[arg-type]
        misses.append(f"p99 {float(result['p99_ms']):.1f} > {target.max_p99_ms} ms")  # type: ignore[arg-type]
    if target.max_p95_ms is not None and float(result["p95_ms"]) > target.max_p95_ms:  # type: ignore[arg-type]
        misses.append(f"p95 {float(result['p95_ms']):.1f} > {target.max_p95_ms} ms")  # type: ignore[arg-type]
    if target.zero_errors and result["errors"]:
        misses.append(f"{result['errors']} errors")
    return "met" if not misses else "MISSED: " + "; ".join(misses)


def markdown(report: dict[str, object]) -> str:
    m = report["machine"]
    s = report["serving"]
    rows = [
        "| scenario | load | throughput | p50 ms | p95 ms | p99 ms | errors | vs baseline "
        "| target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in report["scenarios"].items():  # type: ignore[attr-defined]
        factor = TARGETS[name].rps_factor if name in TARGETS else 1
        unit = TARGETS[name].unit if name in TARGETS else "req/s"
        throughput = f"{float(result['rps']) * factor:,.0f} {unit}"
        if factor != 1:
            throughput += f" ({float(result['rps']):,.0f} req/s)"
        ratio = result.get("ratio_to_baseline")
        rows.append(
            f"| {name} | {result['tool']} | {throughput} | {result['p50_ms']:.1f} | "
            f"{result['p95_ms']:.1f} | {result['p99_ms']:.1f} | {result['errors']} | "
            f"{'' if ratio is None else f'{ratio:.2f}'} | {verdict(name, result)} |"
        )
    checks = report["checks"]
    return "\n".join(
        [
            f"Run {report['started']} with `{report['command']}`.",
            "",
            f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB; server, "  # type: ignore[index]
            f"PostgreSQL and load generator share it, and other engineers' test runs may too "
            f"(load average at start {m['load_average_at_start']}).",  # type: ignore[index]
            f"Serving: {s}.",
            "",
            *rows,
            "",
            f"After the run: ledger_verify {checks['ledger_verify']}; "  # type: ignore[index]
            f"balances {checks['balances']} (wallets == the server's count of 200 earns and "  # type: ignore[index]
            "spends, which is the client's count plus at most the requests in flight when the "
            "load generator stopped).",
        ]
    )


def docs_write(text: str) -> None:
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in current:
        current = re.sub(
            re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, current, flags=re.S
        )
    else:
        current = current.rstrip() + "\n\n## API\n\n" + block + "\n"
    DOCS.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk scenario")
    parser.add_argument("--live-duration", type=int, default=40)
    parser.add_argument("--live-players", type=int, default=10_000)
    parser.add_argument(
        "--only", default="", help="comma-separated scenarios (baseline always runs)"
    )
    parser.add_argument("--profile", default="", help="scenario to profile with py-spy")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}

    serving = {
        "WEB_WORKERS": os.environ.get("WEB_WORKERS", ""),
        "WEB_THREADS": os.environ.get("WEB_THREADS", ""),
        "DB_POOL_MAX": os.environ.get("DB_POOL_MAX", ""),
    }
    report: dict[str, object] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": "bench/api/run " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "machine": machine(),
        "scenarios": {},
    }
    work = Path(tempfile.mkdtemp(prefix="gamebackend-bench-"))
    log("PostgreSQL via bin/postgres; fresh database gamebackend_bench")
    database = database_recreate(postgres_url(), "gamebackend_bench")
    env = base_env(database, BENCH_ENDPOINTS="true")
    migrate(env)
    log("creating players and tokens")
    distinct = work / "distinct.tokens"
    players_create(env, "dist", 2000, distinct)
    hot = work / "hot.tokens"
    players_create(env, "hot", 1, hot)
    events = work / "events.tokens"
    players_create(env, "ev", 200, events)
    live = work / "live.tokens"
    players_create(env, "live", args.live_players, live)

    server = Server(env, log_path=work / "gunicorn.log")
    server.start()
    conf = subprocess.run(
        [
            PY,
            "-c",
            "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
            "print(c['worker_class'], c['workers'], c['threads'], c['keepalive'], c['backlog'])",
        ],
        cwd=ROOT,
        env={**env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    report["serving"] = (
        f"gunicorn {conf[0].rsplit('.', 1)[-1]}, {conf[1]} workers x {conf[2]} threads, "
        f"keep-alive {conf[3]} s, backlog {conf[4]}; DB_POOL_MAX "
        f"{serving['DB_POOL_MAX'] or '16 (default)'} per worker"
    )
    scenarios: dict[str, dict[str, object]] = report["scenarios"]  # type: ignore[assignment]
    profiles: dict[str, list[tuple[str, float]]] = {}
    try:
        wrk(server, "baseline", connections=32, duration=3, tokens=None)  # warm-up
        plan = [
            ("baseline", "constant", 32, None),
            ("balance", "balance", 32, distinct),
            ("earn_distinct", "earn", 32, distinct),
            ("earn_hot_wallet", "earn", 32, hot),
            ("events_batch", "events_batch", 8, events),
        ]
        for name, lua_scenario, connections, tokens in plan:
            if only and name not in only and name != "baseline":
                continue
            spy = None
            if args.profile == name:
                spy = profile(server, args.duration, work / f"{name}.collapsed")
            earn_before = served_ok(server.url, "earn")
            result = wrk(
                server,
                lua_scenario if name != "baseline" else "baseline",
                connections=connections,
                duration=args.duration,
                tokens=tokens,
            )
            if spy is not None:
                spy.wait(timeout=60)
                profiles[name] = top_frames(work / f"{name}.collapsed")
            result["server_ok_earn"] = served_ok(server.url, "earn") - earn_before
            scenarios[name] = result
        if not only or "live_game" in only:
            log(f"live game: {args.live_players} players, one action each ~10 s")
            spy = None
            live_before = {r: served_ok(server.url, r) for r in ("earn", "spend")}
            if args.profile == "live_game":
                spy = profile(server, args.live_duration, work / "live_game.collapsed")
            out = subprocess.run(
                [
                    PY,
                    str(HERE / "live.py"),
                    "--url",
                    server.url,
                    "--tokens",
                    str(live),
                    "--prefix",
                    "live",
                    "--players",
                    str(args.live_players),
                    "--duration",
                    str(args.live_duration),
                    "--balances-out",
                    str(work / "live_balances.json"),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            if spy is not None:
                spy.wait(timeout=90)
                profiles["live_game"] = top_frames(work / "live_game.collapsed")
            live_result = json.loads(out)
            live_result["tool"] = (
                f"open model, {live_result['offered_rps']:,.0f} req/s offered for "
                f"{args.live_duration} s"
            )
            live_result["rps"] = live_result["achieved_rps"]
            for route in ("earn", "spend"):
                live_result[f"server_ok_{route}"] = (
                    served_ok(server.url, route) - live_before[route]
                )
            scenarios["live_game"] = live_result
    finally:
        server.stop()

    baseline_rps = float(scenarios["baseline"]["rps"])  # type: ignore[arg-type]
    for result in scenarios.values():
        result["ratio_to_baseline"] = round(float(result["rps"]) / baseline_rps, 3)  # type: ignore[arg-type]

    # Balances must be exactly the successful earns (and spends): the server's count of 200s,
    # which is the client's count plus at most the requests in flight when wrk stopped.
    problems = []
    for name, prefix in (("earn_distinct", "dist"), ("earn_hot_wallet", "hot")):
        if name not in scenarios:
            continue
        result = scenarios[name]
        total = sum(coins_balances(database, prefix).values())
        served = int(result["server_ok_earn"])  # type: ignore[call-overload]
        seen = int(result["ok"])  # type: ignore[call-overload]
        if total != served * EARN_AMOUNT:
            problems.append(f"{name}: wallets hold {total}, server answered {served} earns 200")
        if not seen <= served <= seen + int(result["connections"]):  # type: ignore[call-overload]
            problems.append(f"{name}: client saw {seen} earns 200, server answered {served}")
    if "live_game" in scenarios:
        result = scenarios["live_game"]
        actual_live = {k: v for k, v in coins_balances(database, "live").items() if v}
        served_total = (
            int(result["server_ok_earn"]) * LIVE_EARN  # type: ignore[call-overload]
            - int(result["server_ok_spend"]) * LIVE_SPEND  # type: ignore[call-overload]
        )
        if sum(actual_live.values()) != served_total:
            problems.append(
                f"live: wallets hold {sum(actual_live.values())}, server-side earns - spends "
                f"{served_total}"
            )
        if not result["errors"]:  # every request answered: each player's balance is known
            expected_live = json.loads((work / "live_balances.json").read_text())
            if actual_live != expected_live:
                wrong = sum(
                    1
                    for k in expected_live.keys() | actual_live.keys()
                    if expected_live.get(k) != actual_live.get(k)
                )
                problems.append(f"live: {wrong} players' balances differ from their 200s")
    clean, verify_text = ledger_verify(env)
    report["checks"] = {
        "ledger_verify": f"clean ({verify_text})" if clean else f"FAILED ({verify_text})",
        "balances": "exact" if not problems else "WRONG: " + "; ".join(problems),
    }
    report["profiles"] = profiles
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    print(text)
    for name, frames in profiles.items():
        print(f"\npy-spy, {name} (share of samples containing the frame):")
        for frame, share in frames:
            print(f"  {share:5.1f}%  {frame}")
    if args.write_docs:
        docs_write(text)
        log(f"wrote {DOCS.relative_to(ROOT)}")
    ok = clean and not problems
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
