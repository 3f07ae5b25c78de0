"""The project against the seed's design (bench/api/peer), on the same PostgreSQL, alternating.

Both servers run side by side on loopback ports, each on its own fresh database of the same
PostgreSQL: the project (gunicorn.conf.py, production settings) and the peer (uvicorn, 2
workers, uvloop, httptools). For each round and scenario, wrk drives one server and then the
other (the order flips every round), so both see the same machine load; the ratio per scenario
is the primary figure, since absolute numbers move with whatever else the machine runs.

Run it with bench/api/run (see --help). Prints a Markdown table; saves JSON in
bench/api/results/compare.json; with --write-docs puts the table into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.api.bench import EARN_AMOUNT, machine, profile, top_frames, wrk
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
    query,
    served_ok,
)

HERE = Path(__file__).resolve().parent
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench/api/compare: begin -->", "<!-- bench/api/compare: end -->"
PEER_SECRET = "peer-secret-0123456789abcdef0123456789abcdef"  # noqa: S105 (loopback peer)
UVICORN = str(ROOT / ".venv" / "bin" / "uvicorn")

# name, wrk scenario, connections, token set
PLAN = [
    ("health", "health", 64, None),
    ("balance", "balance", 64, "distinct"),
    ("earn_distinct", "earn", 64, "distinct"),
    ("earn_hot_wallet", "earn", 32, "hot"),
    ("event", "event", 64, "events"),
]
LABELS = {
    "health": "`GET /health`",
    "balance": "`GET /balance`",
    "earn_distinct": "`POST /earn`, distinct players",
    "earn_hot_wallet": "`POST /earn`, one hot wallet (32 connections)",
    "event": "`POST /event`",
}
PLAYERS = {"distinct": ("dist", 2000), "hot": ("hot", 1), "events": ("ev", 200)}


def peer_env(database_url: str) -> dict[str, str]:
    """The peer's environment: its asyncpg URL of `database_url` and its own secret."""
    async_url = re.sub(r"^postgres(ql)?://", "postgresql+asyncpg://", database_url)
    return {**os.environ, "PEER_DATABASE_URL": async_url, "PEER_JWT_SECRET": PEER_SECRET}


class PeerServer(Server):
    """The seed's design under uvicorn on 127.0.0.1:<free port> (env: `peer_env`)."""

    name = "the peer (uvicorn)"

    def command(self) -> list[str]:
        return [
            UVICORN,
            "bench.api.peer.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "2",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]

    def launch_env(self) -> dict[str, str]:
        return self.env

    def setup(self, prefix: str, count: int, out: Path) -> None:
        subprocess.run(
            [PY, "-m", "bench.api.peer.app", "setup", prefix, str(count), str(out)],
            cwd=ROOT,
            env=self.env,
            check=True,
        )


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def merged(runs: list[dict[str, object]]) -> dict[str, object]:
    """Rounds of one scenario on one server: summed requests over summed time; the worst
    percentile of the rounds (wrk gives no histogram to merge)."""
    seconds = sum(float(r["requests"]) / float(r["rps"]) for r in runs if float(r["rps"]))  # type: ignore[arg-type]
    requests = sum(int(r["requests"]) for r in runs)  # type: ignore[call-overload]
    return {
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "rounds_rps": [r["rps"] for r in runs],
        "requests": requests,
        "ok": sum(int(r["ok"]) for r in runs),  # type: ignore[call-overload]
        "errors": sum(int(r["errors"]) for r in runs),  # type: ignore[call-overload]
        "p50_ms": max(float(r["p50_ms"]) for r in runs),  # type: ignore[arg-type]
        "p99_ms": max(float(r["p99_ms"]) for r in runs),  # type: ignore[arg-type]
        "statuses": [r["statuses"] for r in runs],
    }


def markdown(report: dict[str, object]) -> str:
    m = report["machine"]
    rows = [
        "| scenario | project req/s | peer req/s | ratio | project p50 / p99 ms "
        "| peer p50 / p99 ms | project errors | peer errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in report["scenarios"].items():  # type: ignore[attr-defined]
        p, q = entry["project"], entry["peer"]
        rows.append(
            f"| {LABELS[name]} | {p['rps']:,.0f} | {q['rps']:,.0f} | {entry['ratio']:.2f} | "
            f"{p['p50_ms']:.1f} / {p['p99_ms']:.1f} | {q['p50_ms']:.1f} / {q['p99_ms']:.1f} | "
            f"{p['errors']} | {q['errors']} |"
        )
    checks = report["checks"]
    return "\n".join(
        [
            f"Run {report['started']} with `{report['command']}`: {report['rounds']} rounds x "
            f"{report['duration']} s per scenario and server, alternating, wrk 2 threads.",
            "",
            f"Machine: {m['cores']} cores ({m['cpu']}); both servers, PostgreSQL and wrk share "  # type: ignore[index]
            f"it, and other test runs may too. /proc/loadavg at start {report['load_start']}, "
            f"at end {report['load_end']}.",
            f"Project: {report['serving']}. Peer: the seed's design (bench/api/peer), uvicorn 2 "
            "workers, uvloop, httptools, SQLAlchemy pool 10 + 20 per worker.",
            "",
            *rows,
            "",
            "req/s: all requests of both rounds over their time; p50/p99: the worse round. "
            f"After the run: project ledger_verify {checks['ledger_verify']}; project balances "  # type: ignore[index]
            f"{checks['balances']}; peer balances {checks['peer_balances']}.",  # type: ignore[index]
        ]
    )


def docs_write(text: str) -> None:
    current = DOCS.read_text()
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in current:
        current = re.sub(
            re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, current, flags=re.S
        )
    else:
        current = current.replace("## API\n\n", "## API\n\n" + block + "\n\n", 1)
    DOCS.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated scenarios")
    parser.add_argument("--profile", default="", help="scenario to profile (project) with py-spy")
    parser.add_argument(
        "--database-prefix",
        default=os.environ.get("BENCH_DATABASE_PREFIX", "gamebackend"),
        help="databases <prefix>_bench and <prefix>_peer are dropped and created",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    plan = [item for item in PLAN if not only or item[0] in only]

    report: dict[str, object] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": "bench/api/run " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "machine": machine(),
        "rounds": args.rounds,
        "duration": args.duration,
        "load_start": loadavg(),
    }
    work = Path(tempfile.mkdtemp(prefix="gamebackend-compare-"))
    admin = postgres_url()
    project_db = database_recreate(admin, f"{args.database_prefix}_bench")
    peer_db = database_recreate(admin, f"{args.database_prefix}_peer")
    log(f"databases {project_db.rsplit('/', 1)[-1]} and {peer_db.rsplit('/', 1)[-1]}")
    env = base_env(project_db)
    migrate(env)
    peer = PeerServer(env=peer_env(peer_db), log_path=work / "peer.log")
    tokens: dict[str, dict[str, Path]] = {"project": {}, "peer": {}}
    for key, (prefix, count) in PLAYERS.items():
        tokens["project"][key] = work / f"project-{key}.tokens"
        players_create(env, prefix, count, tokens["project"][key])
        tokens["peer"][key] = work / f"peer-{key}.tokens"
        peer.setup(prefix, count, tokens["peer"][key])
    project = Server(env, log_path=work / "gunicorn.log")
    conf = subprocess.run(
        [
            PY,
            "-c",
            "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
            "print(c['worker_class'], c['workers'], c['threads'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    report["serving"] = (
        f"gunicorn {conf[0].rsplit('.', 1)[-1]}, {conf[1]} workers x {conf[2]} threads, "
        f"DB_POOL_MAX {os.environ.get('DB_POOL_MAX') or '16 (default)'} per worker"
    )
    runs: dict[str, dict[str, list[dict[str, object]]]] = {
        name: {"project": [], "peer": []} for name, *_ in plan
    }
    servers: dict[str, Server] = {"project": project, "peer": peer}
    profiles: dict[str, list[tuple[str, float]]] = {}
    try:
        project.start()
        peer.start()
        for side in ("project", "peer"):  # warm-up: pools, lazy imports, first queries
            warm = tokens[side]["distinct"]
            wrk(servers[side], "balance", connections=16, duration=2, tokens=warm)  # type: ignore[arg-type]
        for round_index in range(args.rounds):
            order = ("project", "peer") if round_index % 2 == 0 else ("peer", "project")
            for name, scenario, connections, token_set in plan:
                for side in order:
                    spy = None
                    if side == "project" and args.profile == name and round_index == 0:
                        spy = profile(project, args.duration, work / f"{name}.collapsed")
                    result = wrk(
                        servers[side],  # type: ignore[arg-type]
                        scenario,
                        connections=connections,
                        duration=args.duration,
                        tokens=tokens[side][token_set] if token_set else None,
                    )
                    if spy is not None:
                        spy.wait(timeout=60)
                        profiles[name] = top_frames(work / f"{name}.collapsed")
                    result["load"] = loadavg()
                    log(
                        f"round {round_index + 1} {name} {side}: {result['rps']} req/s, "
                        f"p99 {result['p99_ms']} ms, errors {result['errors']}, "
                        f"load {result['load']}"
                    )
                    runs[name][side].append(result)
        served_earns = served_ok(project.url, "earn")
    finally:
        project.stop()
        peer.stop()

    report["load_end"] = loadavg()
    scenarios: dict[str, object] = {}
    for name, sides in runs.items():
        p, q = merged(sides["project"]), merged(sides["peer"])
        ratio = float(p["rps"]) / float(q["rps"]) if float(q["rps"]) else 0.0  # type: ignore[arg-type]
        scenarios[name] = {"project": p, "peer": q, "ratio": round(ratio, 2)}
    report["scenarios"] = scenarios

    # Every 200 earn of the project is in its wallets, and nothing else is.
    problems = []
    project_total = sum(coins_balances(project_db, "dist").values()) + sum(
        coins_balances(project_db, "hot").values()
    )
    if project_total != served_earns * EARN_AMOUNT:
        problems.append(f"wallets hold {project_total}, server answered {served_earns} earns 200")
    clean, verify_text = ledger_verify(env)
    (peer_sum, peer_count), *_ = query(
        peer_db, "SELECT coalesce(sum(balance), 0), (SELECT count(*) FROM transactions) FROM users"
    )
    report["checks"] = {
        "ledger_verify": f"clean ({verify_text})" if clean else f"FAILED ({verify_text})",
        "balances": "exact" if not problems else "WRONG: " + "; ".join(problems),
        "peer_balances": (
            "exact"
            if int(peer_sum) == int(peer_count) * EARN_AMOUNT
            else f"WRONG: {peer_sum} held, {peer_count} earns"
        ),
    }
    report["profiles"] = profiles
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / "compare.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    print(text)
    for name, frames in profiles.items():
        print(f"\npy-spy, {name} (share of samples containing the frame):")
        for frame, share in frames:
            print(f"  {share:5.1f}%  {frame}")
    if args.write_docs:
        docs_write(text)
        log(f"wrote {DOCS.relative_to(ROOT)}")
    ok = (
        clean
        and not problems
        and all(
            float(entry["ratio"]) >= 1.0 and not entry["project"]["errors"]  # type: ignore[index]
            for entry in scenarios.values()  # type: ignore[union-attr]
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
