"""Fault drills against gunicorn + a PostgreSQL cluster of their own; each prints PASS or FAIL.

Run with bench/faults/run. The drills create the PostgreSQL cluster `15 faults` on port 5433
(the `main` cluster other test runs use is never touched), start and stop only it, and drop it
at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.lib import (
    PY,
    ROOT,
    Server,
    base_env,
    coins_balances,
    database_recreate,
    ledger_verify,
    log,
    manage,
    migrate,
    players_create,
    query,
)

CLUSTER_VERSION, CLUSTER_NAME, CLUSTER_PORT = "15", "faults", 5433
ADMIN_URL = f"postgres://gamebackend:gamebackend@127.0.0.1:{CLUSTER_PORT}/gamebackend"
WORK = Path(os.environ.get("FAULTS_WORK_DIR", "/tmp/gamebackend-faults"))


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=check, capture_output=True, text=True)


def as_postgres(sql: str) -> str:
    return sh("su", "postgres", "-c", f'psql -p {CLUSTER_PORT} -tAc "{sql}"').stdout.strip()


def cluster_up() -> None:
    existing = sh("pg_lsclusters", "--no-header").stdout
    if not any(
        line.split()[:2] == [CLUSTER_VERSION, CLUSTER_NAME] for line in existing.splitlines()
    ):
        log(f"creating PostgreSQL cluster {CLUSTER_VERSION}/{CLUSTER_NAME} on port {CLUSTER_PORT}")
        sh("pg_createcluster", CLUSTER_VERSION, CLUSTER_NAME, "--port", str(CLUSTER_PORT))
    cluster_ctl("start")
    if as_postgres("SELECT 1 FROM pg_roles WHERE rolname = 'gamebackend'") != "1":
        as_postgres("CREATE ROLE gamebackend LOGIN CREATEDB PASSWORD 'gamebackend'")
    if as_postgres("SELECT 1 FROM pg_database WHERE datname = 'gamebackend'") != "1":
        sh("su", "postgres", "-c", f"createdb -p {CLUSTER_PORT} -O gamebackend gamebackend")


def cluster_ctl(action: str) -> None:
    args = ["pg_ctlcluster", CLUSTER_VERSION, CLUSTER_NAME, action]
    if action == "stop":
        args += ["-m", "fast"]
    result = sh(*args, check=False)
    if result.returncode != 0 and "already running" not in result.stderr + result.stdout:
        raise RuntimeError(f"pg_ctlcluster {action}: {result.stderr.strip()}")
    if action == "start":
        for _ in range(60):
            if (
                sh(
                    "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(CLUSTER_PORT), check=False
                ).returncode
                == 0
            ):
                return
            time.sleep(0.5)
        raise RuntimeError("the faults cluster did not become ready")


def cluster_drop() -> None:
    sh("pg_dropcluster", CLUSTER_VERSION, CLUSTER_NAME, "--stop", check=False)


@dataclass
class Verdict:
    name: str
    passed: bool
    lines: list[str] = field(default_factory=list)


@dataclass
class Sample:
    at: float
    path: str
    status: int
    seconds: float
    content_type: str
    body: bytes
    retry_after: str | None


def request(
    port: int,
    method: str,
    path: str,
    token: str | None = None,
    body: object = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> tuple[int, dict[str, str], bytes, float]:
    """One request on a fresh connection; status 0 and the error name on socket errors."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        payload = response.read()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            payload,
            time.monotonic() - started,
        )
    except (OSError, http.client.HTTPException) as exc:
        return 0, {}, type(exc).__name__.encode(), time.monotonic() - started
    finally:
        conn.close()


# --- Drill 1: PostgreSQL stopped under load ---------------------------------------------------


def problem_code(body: bytes) -> str | None:
    try:
        return json.loads(body)["code"]  # type: ignore[no-any-return]
    except (ValueError, KeyError, TypeError):
        return None


def health_check(body: bytes) -> str | None:
    try:
        return json.loads(body)["checks"]["database"]  # type: ignore[no-any-return]
    except (ValueError, KeyError, TypeError):
        return None


def drill_postgres_down(env: dict[str, str], token: str) -> Verdict:
    verdict = Verdict("PostgreSQL stopped under load: 503 problems, then recovery", True)
    pool_timeout = 5
    limit = pool_timeout + 3  # DB_POOL_TIMEOUT plus a margin: never a hang past the timeout
    server = Server({**env, "DB_POOL_TIMEOUT": str(pool_timeout)}, log_path=WORK / "drill1.log")
    samples: list[Sample] = []
    stop = threading.Event()

    def load(path: str, use_token: bool) -> None:
        while not stop.is_set():
            status, headers, body, seconds = request(
                server.port, "GET", path, token if use_token else None
            )
            samples.append(
                Sample(
                    time.monotonic(),
                    path,
                    status,
                    seconds,
                    headers.get("content-type", ""),
                    body,
                    headers.get("retry-after"),
                )
            )
            time.sleep(0.05)

    server.start()
    try:
        threads = [
            threading.Thread(target=load, args=(p, p == "/balance"), daemon=True)
            for p in ("/health", "/balance")
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        time.sleep(3)
        down_at = time.monotonic()
        log("drill 1: stopping the faults cluster")
        cluster_ctl("stop")
        time.sleep(12)
        log("drill 1: starting the faults cluster again")
        cluster_ctl("start")
        up_at = time.monotonic()
        recovered_at = None
        streak = 0
        while time.monotonic() - up_at < 40:
            health, *_ = request(server.port, "GET", "/health")
            balance, *_ = request(server.port, "GET", "/balance", token)
            streak = streak + 1 if (health, balance) == (200, 200) else 0
            if streak == 1 and recovered_at is None:
                recovered_at = time.monotonic()
            if streak == 0:
                recovered_at = None
            if streak >= 20:
                break
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(timeout=limit + 5)
    finally:
        server.stop()

    down = [s for s in samples if down_at <= s.at <= up_at]
    unavailable = [s for s in down if s.status == 503]
    bad = [s for s in samples if s.status not in (200, 503)]
    slow = [s for s in samples if s.seconds > limit]
    # /health answers its own body naming the failing check, the API a database_unavailable
    # problem; requests queued behind those waiting for the pool may be shed as overloaded.
    not_problem = [
        s
        for s in unavailable
        if not (
            (s.path == "/health" and health_check(s.body) == "unavailable")
            or (
                s.content_type == "application/problem+json"
                and problem_code(s.body) in {"database_unavailable", "overloaded"}
            )
        )
    ]
    no_retry = [s for s in unavailable if not s.retry_after]
    traces = [s for s in samples if b"Traceback" in s.body or b'File "' in s.body]
    verdict.lines += [
        f"requests {len(samples)}, while down {len(down)}, 503 while down {len(unavailable)} "
        f"({sum(problem_code(s.body) == 'overloaded' for s in unavailable)} of them shed as "
        "overloaded behind requests waiting for the pool) "
        f"(/health {sum(s.path == '/health' for s in unavailable)}, "
        f"/balance {sum(s.path == '/balance' for s in unavailable)})",
        f"slowest answer {max((s.seconds for s in samples), default=0):.2f} s (limit {limit} s)",
        f"other statuses or socket errors: {len(bad)} "
        f"{sorted({(s.status, s.body[:40]) for s in bad})[:5]}",
        f"503 without the expected body: {len(not_problem)}, without Retry-After: {len(no_retry)}, "
        f"stack traces: {len(traces)}"
        + (f"; e.g. {not_problem[0].path} {not_problem[0].body[:160]!r}" if not_problem else ""),
        "recovered "
        + (
            f"{recovered_at - up_at:.1f} s after PostgreSQL was back (20 answers OK in a row)"
            if recovered_at and streak >= 20
            else "NOT within 40 s"
        ),
    ]
    health_503 = any(s.path == "/health" for s in unavailable)
    api_503 = any(s.path == "/balance" for s in unavailable)
    verdict.passed = bool(
        health_503
        and api_503
        and not bad
        and not slow
        and not not_problem
        and not no_retry
        and not traces
        and recovered_at
        and streak >= 20
    )
    return verdict


# --- Drill 2: a worker killed mid-request under earn load -------------------------------------


def drill_worker_killed(env: dict[str, str], database: str, tokens: list[str]) -> Verdict:
    verdict = Verdict("gunicorn worker SIGKILLed under earn load: no partial ledger write", True)
    server = Server({**env, "WEB_WORKERS": "2", "WEB_THREADS": "4"}, log_path=WORK / "drill2.log")
    amount = 7
    confirmed = [0] * len(tokens)
    attempts = {"sent": 0, "socket_errors": 0, "in_progress_409": 0, "other": 0, "gave_up": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def client(index: int) -> None:
        while not stop.is_set():
            key = uuid.uuid4().hex
            deadline = time.monotonic() + 90  # the economy takes over a dead claim after 60 s
            while True:
                status, _, body, _ = request(
                    server.port,
                    "POST",
                    "/earn",
                    tokens[index],
                    {"amount": amount, "reason": "drill"},
                    {"Idempotency-Key": key},
                )
                with lock:
                    attempts["sent"] += 1
                if status == 200:
                    confirmed[index] += amount
                    break
                with lock:
                    if status == 0 or status >= 500:
                        attempts["socket_errors" if status == 0 else "other"] += 1
                    elif status == 409 and b"request_in_progress" in body:
                        attempts["in_progress_409"] += 1
                    else:
                        attempts["other"] += 1
                if time.monotonic() > deadline:
                    with lock:
                        attempts["gave_up"] += 1
                    return
                time.sleep(0.2)  # same key: the retry either replays the stored answer or runs

    server.start()
    kills = 0
    try:
        threads = [
            threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(tokens))
        ]
        for thread in threads:
            thread.start()
        for _ in range(6):
            time.sleep(1.5)
            victim = random.choice(server.worker_pids())
            os.kill(victim, signal.SIGKILL)
            kills += 1
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join(timeout=100)
    finally:
        server.stop()
    clean, verify_text = ledger_verify(env)
    balances = coins_balances(database, "kill")
    expected = {f"kill_{i}": value for i, value in enumerate(confirmed) if value}
    actual = {k: v for k, v in balances.items() if v}
    verdict.lines += [
        f"workers killed: {kills}; earn attempts {attempts}",
        f"ledger_verify: {verify_text}",
        f"balances == sum of confirmed earns per player: {actual == expected} "
        f"(total {sum(actual.values())} vs {sum(expected.values())})",
    ]
    verdict.passed = clean and actual == expected and attempts["gave_up"] == 0 and kills == 6
    return verdict


# --- Drill 3: the task worker killed during a pipeline run ------------------------------------


REPORT_TABLES_SQL = (
    "SELECT 'roas', count(*) FROM analytics_roasdaily UNION ALL "
    "SELECT 'anomalies', count(*) FROM analytics_roasanomaly UNION ALL "
    "SELECT 'arpdau', count(*) FROM analytics_arpdaudaily UNION ALL "
    "SELECT 'arpdau_total', count(*) FROM analytics_arpdautotal UNION ALL "
    "SELECT 'reconciliation', count(*) FROM analytics_reconciliationsummary"
)


def reports_snapshot(reports: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(reports.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }


def run_status(port: int, token: str, run_id: int) -> str:
    status, _, body, _ = request(port, "GET", f"/pipeline-runs/{run_id}", token)
    return str(json.loads(body).get("status")) if status == 200 else f"http {status}"


def run_error(port: int, token: str, run_id: int) -> str | None:
    status, _, body, _ = request(port, "GET", f"/pipeline-runs/{run_id}", token)
    if status != 200:
        return f"http {status}"
    error = json.loads(body).get("error")
    return None if error is None else str(error)


def drill_pipeline_worker_killed(env: dict[str, str], database: str) -> Verdict:
    verdict = Verdict("task worker SIGKILLed during a pipeline run", True)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); "
            "from django.urls import resolve; resolve('/run-pipeline')",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if probe.returncode != 0:
        verdict.lines.append("/run-pipeline does not resolve: the analytics app has not landed")
        verdict.passed = False
        return verdict
    data, reports = WORK / "pipeline-data", WORK / "pipeline-reports"
    for directory in (data, reports):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    # A short heartbeat timeout (the default is 60 s) so the drill sees the dead run marked failed.
    heartbeat_timeout = 10
    env = {
        **env,
        "DATA_DIR": str(data),
        "REPORTS_DIR": str(reports),
        "PIPELINE_HEARTBEAT_TIMEOUT_S": str(heartbeat_timeout),
    }
    log("drill 3: demo inputs and a first, complete run")
    manage(env, "generate_demo_data", "--purchases", "600000", "--days", "30", "--seed", "7")
    manage(env, "run_pipeline")
    files_before = reports_snapshot(reports)
    rows_before = dict(query(database, REPORT_TABLES_SQL))
    token = players_create(env, "ops", 1, WORK / "ops.tokens", staff=True)[0]
    server = Server(env, log_path=WORK / "drill3.log")
    worker: subprocess.Popen[bytes] | None = None

    def worker_start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [PY, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=open(WORK / "drill3-worker.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    server.start()
    try:
        status, _, body, _ = request(server.port, "POST", "/run-pipeline", token, {})
        if status != 202:
            verdict.lines.append(f"POST /run-pipeline answered {status}: {body[:200]!r}")
            verdict.passed = False
            return verdict
        run_id = int(json.loads(body)["runId"])
        worker = worker_start()
        deadline = time.monotonic() + 60
        while run_status(server.port, token, run_id) != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # well inside the run
        state_at_kill = run_status(server.port, token, run_id)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        verdict.lines.append(f"worker SIGKILLed while run {run_id} was {state_at_kill!r}")
        log("drill 3: worker killed; starting a new one")
        worker = worker_start()
        final = state_at_kill
        wait = 3 * heartbeat_timeout
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            final = run_status(server.port, token, run_id)  # reading it applies the staleness rule
            if final in ("failed", "succeeded"):
                break
            time.sleep(0.5)
        error = run_error(server.port, token, run_id)
        files_after = reports_snapshot(reports)
        rows_after = dict(query(database, REPORT_TABLES_SQL))
        retry_status, _, retry_body, _ = request(server.port, "POST", "/run-pipeline", token, {})
        retry_final = "not queued"
        if retry_status == 202:
            retry_id = int(json.loads(retry_body)["runId"])
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                retry_final = run_status(server.port, token, retry_id)
                if retry_final in ("failed", "succeeded"):
                    break
                time.sleep(0.5)
        verdict.lines += [
            f"run {run_id} within {wait} s after a new worker started "
            f"(PIPELINE_HEARTBEAT_TIMEOUT_S={heartbeat_timeout}): {final!r}, error {error!r}",
            f"report files intact: {files_after == files_before} ({len(files_before)} files)",
            f"report rows intact: {rows_after == rows_before} {rows_before}",
            f"a new POST /run-pipeline: {retry_status} {retry_body[:120]!r}; "
            f"that run in the new worker: {retry_final!r}",
        ]
        if final not in ("failed", "succeeded"):
            verdict.lines.append(
                "the run stays active with no process behind it, so every later run is refused "
                "as pipeline_busy"
            )
        verdict.passed = (
            state_at_kill == "running"
            and final in ("failed", "succeeded")
            and files_after == files_before
            and rows_after == rows_before
            and retry_status == 202
            and retry_final == "succeeded"
        )
        return verdict
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        server.stop()


# --- Drill 4: a full request queue ------------------------------------------------------------


def flood(
    port: int, clients: int, seconds: float, sleep_ms: int
) -> list[tuple[int, float, str | None]]:
    results: list[tuple[int, float, str | None]] = []
    stop_at = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop_at:
            status, headers, _, elapsed = request(
                port, "GET", f"/bench/sleep?ms={sleep_ms}", timeout=30
            )
            results.append((status, elapsed, headers.get("retry-after")))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 40)
    return results


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0


def drill_queue_full(env: dict[str, str]) -> Verdict:
    verdict = Verdict("full request queue: 503 with Retry-After instead of unbounded latency", True)
    shape = {"WEB_WORKERS": "1", "WEB_THREADS": "2", "BENCH_ENDPOINTS": "true"}
    outcomes = {}
    for label, queue_ms in (("shedding off", "0"), ("QUEUE_TIMEOUT_MS=500", "500")):
        server = Server(
            {**env, **shape, "QUEUE_TIMEOUT_MS": queue_ms}, log_path=WORK / "drill4.log"
        )
        server.start()
        try:
            results = flood(server.port, clients=60, seconds=8, sleep_ms=100)
        finally:
            server.stop()
        latencies = [elapsed for _, elapsed, _ in results]
        shed = [r for r in results if r[0] == 503]
        outcomes[label] = {
            "answers": len(results),
            "200": sum(r[0] == 200 for r in results),
            "503": len(shed),
            "503 without Retry-After": sum(r[2] is None for r in shed),
            "other": sum(r[0] not in (200, 503) for r in results),
            "p50 s": round(pct(latencies, 50), 2),
            "p99 s": round(pct(latencies, 99), 2),
            "max s": round(max(latencies, default=0), 2),
        }
        verdict.lines.append(f"{label}: {outcomes[label]}")
    on, off = outcomes["QUEUE_TIMEOUT_MS=500"], outcomes["shedding off"]
    verdict.passed = bool(
        on["503"] > 0
        and on["503 without Retry-After"] == 0
        and on["other"] == 0
        and on["max s"] <= 2.0
        and on["200"] > 0
        and off["p99 s"] > 2 * on["p99 s"]  # the flood really overloads the server
    )
    return verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only", default="", help="comma-separated: pg_down,worker_kill,pipeline,queue"
    )
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    WORK.mkdir(parents=True, exist_ok=True)
    cluster_up()
    verdicts: list[Verdict] = []
    try:
        database = database_recreate(ADMIN_URL, "gamebackend_faults")
        env = base_env(database)
        migrate(env)
        tokens = players_create(env, "kill", 16, WORK / "kill.tokens")
        drills: list[tuple[str, Callable[[], Verdict]]] = [
            ("pg_down", lambda: drill_postgres_down(env, tokens[0])),
            ("worker_kill", lambda: drill_worker_killed(env, database, tokens)),
            ("pipeline", lambda: drill_pipeline_worker_killed(env, database)),
            ("queue", lambda: drill_queue_full(env)),
        ]
        for name, drill in drills:
            if only and name not in only:
                continue
            log(f"drill {name}")
            try:
                verdicts.append(drill())
            except Exception as exc:  # a drill that crashes is a failed drill, not a crashed run
                verdicts.append(Verdict(name, False, [f"drill crashed: {exc!r}"]))
            finally:
                cluster_ctl("start")  # whatever happened, the next drill starts with PostgreSQL up
    finally:
        cluster_drop()
    for verdict in verdicts:
        print(f"{'PASS' if verdict.passed else 'FAIL'}  {verdict.name}")
        for line in verdict.lines:
            print(f"      {line}")
    return 0 if verdicts and all(v.passed for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
