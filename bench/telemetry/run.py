"""Telemetry benchmark: /stats latency over millions of events, batched ingestion throughput.

    .venv/bin/python bench/telemetry/run.py [--events 5000000] [--players 100000] [--days 30]

1. Recreates the PostgreSQL database `gamebackend_bench_telemetry` (loopback), migrates, creates
   the players and loads the events with one INSERT ... SELECT over generate_series (secondary
   indexes dropped during the load and rebuilt after), then fills the daily aggregates from the
   events with GROUP BY, the way ingestion would have, and checks they agree.
2. Starts gunicorn (gunicorn.conf.py, production settings) on 127.0.0.1 and measures /stats
   latency, sequential requests over one keep-alive connection: all time, the last 7 days and
   one day, each without and with a token; baseline: /bench/constant, the same way.
3. Measures ingestion with wrk: batches of 100 events (fresh eventIds) from several connections,
   each request as a different player; baselines in the same run: single-event POST /event and
   /bench/constant with the same connections.
4. Checks the aggregates against the raw events again, prints the figures and writes them to
   the "Telemetry" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.lib import (
    ROOT,
    Server,
    base_env,
    database_recreate,
    log,
    migrate,
    players_create,
    postgres_url,
    running,
    with_database,
)

DATABASE = "gamebackend_bench_telemetry"
OUT_DIR = ROOT / "bench" / ".out" / "telemetry"
DOC = ROOT / "docs" / "benchmarks.md"
LUA = Path(__file__).resolve().parent / "ingest.lua"
EVENT_TYPES = [
    "session_start",
    "level_start",
    "level_complete",
    "ad_view",
    "purchase",
    "tutorial_step",
    "item_equip",
    "shop_open",
    "quest_accept",
    "quest_complete",
    "friend_invite",
    "session_end",
]


# --- 1. data -----------------------------------------------------------------------------------


def events_load(url: str, *, events: int, days: int, first_day: date) -> dict[str, float]:
    """Load `events` events over `days` UTC days for every benchmark player, and aggregates."""
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET work_mem = '256MB'")
        player_ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM accounts_user WHERE username LIKE 'tbench\\_%' ORDER BY id"
            )
        ]
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'telemetry_event' "
            "AND indexname <> 'telemetry_event_pkey'"
        ).fetchall()
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')

        started = time.perf_counter()
        conn.execute("SELECT setseed(0.42)")
        conn.execute(
            """
            INSERT INTO telemetry_event
                (player_id, event_type, meta, timestamp, received_at, event_id)
            SELECT (%(players)s::bigint[])[1 + floor(random() * %(n_players)s)::int],
                   (%(types)s::text[])[1 + floor(power(random(), 2) * %(n_types)s)::int],
                   jsonb_build_object('level', g %% 100),
                   ts, ts + interval '2 seconds',
                   CASE WHEN g %% 2 = 0 THEN gen_random_uuid() END
            FROM (
                SELECT g, %(start)s::timestamptz + random() * %(span)s::interval AS ts
                FROM generate_series(1, %(events)s) AS g
            ) AS generated
            """,
            {
                "players": player_ids,
                "n_players": len(player_ids),
                "types": EVENT_TYPES,
                "n_types": len(EVENT_TYPES),
                "start": datetime.combine(first_day, datetime.min.time(), tzinfo=UTC),
                "span": timedelta(days=days) - timedelta(microseconds=1),
                "events": events,
            },
        )
        timings["insert_events_s"] = time.perf_counter() - started

        started = time.perf_counter()
        for _name, definition in indexes:
            conn.execute(definition)
        timings["rebuild_indexes_s"] = time.perf_counter() - started

        started = time.perf_counter()
        conn.execute(
            """
            INSERT INTO telemetry_eventdaycount (day, event_type, shard, event_count)
            SELECT (timestamp AT TIME ZONE 'UTC')::date, event_type, player_id % 16, count(*)
            FROM telemetry_event GROUP BY 1, 2, 3
            """
        )
        conn.execute(
            """
            INSERT INTO telemetry_playereventdaycount (player_id, day, event_type, event_count)
            SELECT player_id, (timestamp AT TIME ZONE 'UTC')::date, event_type, count(*)
            FROM telemetry_event GROUP BY 1, 2, 3
            """
        )
        conn.execute(
            """
            INSERT INTO telemetry_playeractiveday (player_id, day, previous_active_day)
            SELECT player_id, day,
                   COALESCE(lag(day) OVER (PARTITION BY player_id ORDER BY day), '1970-01-01')
            FROM (
                SELECT DISTINCT player_id, (timestamp AT TIME ZONE 'UTC')::date AS day
                FROM telemetry_event
            ) AS active
            """
        )
        conn.execute(
            """
            INSERT INTO telemetry_activedaypaircount (day, previous_active_day, shard, players)
            SELECT day, previous_active_day, player_id % 16, count(*)
            FROM telemetry_playeractiveday GROUP BY 1, 2, 3
            """
        )
        timings["fill_aggregates_s"] = time.perf_counter() - started

        started = time.perf_counter()
        for table in (
            "telemetry_event",
            "telemetry_eventdaycount",
            "telemetry_playereventdaycount",
            "telemetry_playeractiveday",
            "telemetry_activedaypaircount",
            "accounts_user",
        ):
            conn.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum_analyze_s"] = time.perf_counter() - started
    return timings


def aggregates_check(url: str) -> dict[str, object]:
    """The aggregates against the raw events: totals, per-day totals and distinct players."""
    with psycopg.connect(url) as conn:
        events = conn.execute("SELECT count(*) FROM telemetry_event").fetchone()[0]
        counted = conn.execute("SELECT sum(event_count) FROM telemetry_eventdaycount").fetchone()[0]
        mine = conn.execute(
            "SELECT sum(event_count) FROM telemetry_playereventdaycount"
        ).fetchone()[0]
        players = conn.execute("SELECT count(DISTINCT player_id) FROM telemetry_event").fetchone()[
            0
        ]
        first_days = conn.execute(
            "SELECT sum(players) FROM telemetry_activedaypaircount "
            "WHERE previous_active_day = '1970-01-01'"
        ).fetchone()[0]
        pair_mismatches = conn.execute(
            """
            SELECT count(*) FROM (
                SELECT day, previous_active_day, count(*) AS n
                FROM telemetry_playeractiveday GROUP BY 1, 2
            ) AS raw
            FULL JOIN (
                SELECT day, previous_active_day, sum(players) AS n
                FROM telemetry_activedaypaircount GROUP BY 1, 2 HAVING sum(players) > 0
            ) AS agg USING (day, previous_active_day)
            WHERE raw.n IS DISTINCT FROM agg.n
            """
        ).fetchone()[0]
        active_day_mismatches = conn.execute(
            """
            SELECT count(*) FROM (
                SELECT player_id, day,
                       COALESCE(lag(day) OVER (PARTITION BY player_id ORDER BY day),
                                '1970-01-01') AS previous_active_day
                FROM (
                    SELECT DISTINCT player_id, (timestamp AT TIME ZONE 'UTC')::date AS day
                    FROM telemetry_event
                ) AS active
            ) AS raw
            FULL JOIN telemetry_playeractiveday AS stored USING (player_id, day)
            WHERE raw.previous_active_day IS DISTINCT FROM stored.previous_active_day
            """
        ).fetchone()[0]
        per_day_mismatches = conn.execute(
            """
            SELECT count(*) FROM (
                SELECT (timestamp AT TIME ZONE 'UTC')::date AS day, event_type, count(*) AS n
                FROM telemetry_event GROUP BY 1, 2
            ) AS raw
            FULL JOIN (
                SELECT day, event_type, sum(event_count) AS n
                FROM telemetry_eventdaycount GROUP BY 1, 2
            ) AS agg USING (day, event_type)
            WHERE raw.n IS DISTINCT FROM agg.n
            """
        ).fetchone()[0]
    result = {
        "events": int(events),
        "global_counts_sum": int(counted or 0),
        "player_counts_sum": int(mine or 0),
        "distinct_players": int(players),
        "players_first_days": int(first_days or 0),
        "per_day_type_mismatches": int(per_day_mismatches),
        "active_day_mismatches": int(active_day_mismatches),
        "day_pair_mismatches": int(pair_mismatches),
    }
    result["consistent"] = (
        result["events"] == result["global_counts_sum"] == result["player_counts_sum"]
        and result["distinct_players"] == result["players_first_days"]
        and result["per_day_type_mismatches"] == 0
        and result["active_day_mismatches"] == 0
        and result["day_pair_mismatches"] == 0
    )
    return result


# --- 2. /stats latency ---------------------------------------------------------------------------


def latencies(port: int, path: str, *, token: str | None, requests: int, warmup: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples: list[float] = []
    body = b""
    try:
        for attempt in range(warmup + requests):
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
            if attempt >= warmup:
                samples.append(elapsed * 1000)
    finally:
        connection.close()
    samples.sort()
    return {
        "path": path,
        "token": bool(token),
        "requests": requests,
        "p50_ms": round(samples[len(samples) // 2], 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "last_body": json.loads(body),
    }


# --- 3. ingestion ---------------------------------------------------------------------------


def wrk(url: str, scenario: str, tokens: Path, *, threads: int, connections: int, seconds: int):
    env = {
        **os.environ,
        "TELEMETRY_SCENARIO": scenario,
        "TELEMETRY_TOKENS": str(tokens),
        "TELEMETRY_THREADS": str(threads),
    }
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("BENCHJSON "))
    figures = json.loads(line.removeprefix("BENCHJSON "))
    figures["per_second"] = round(figures["ok"] / (figures["duration_us"] / 1e6), 1)
    return figures


# --- 4. report ------------------------------------------------------------------------------


def section_write(text: str) -> None:
    """Replace (or append) the '## Telemetry' section of docs/benchmarks.md, nothing else."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Telemetry\n.*?(?=^## |\Z)", re.S | re.M)
    section = text.rstrip("\n") + "\n\n"
    if pattern.search(current):
        updated = pattern.sub(lambda _match: section, current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + section
    DOC.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    # A terminated run still stops its gunicorn (the `running` block's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--players", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--stats-requests", type=int, default=300)
    parser.add_argument("--ingest-seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--no-doc", action="store_true", help="Do not write docs/benchmarks.md.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep the database a previous run loaded (for trying changes; figures not recorded).",
    )
    args = parser.parse_args()
    command = " ".join([".venv/bin/python", "bench/telemetry/run.py", *sys.argv[1:]])
    OUT_DIR.mkdir(parents=True, exist_ok=True)

    admin_url = postgres_url()
    tokens_file = OUT_DIR / "tokens.txt"
    first_day = datetime.now(UTC).date() - timedelta(days=args.days)
    if args.reuse:
        args.no_doc = True
        url = with_database(admin_url, DATABASE)
        env = base_env(url, BENCH_ENDPOINTS="true")
        migrate(env)
        tokens = players_create(env, "tbench", args.players, tokens_file)
        load: dict[str, float] = {
            "insert_events_s": 0,
            "rebuild_indexes_s": 0,
            "fill_aggregates_s": 0,
            "vacuum_analyze_s": 0,
            "total_s": 0,
            "players_s": 0,
        }
    else:
        log(f"database {DATABASE}: recreate and migrate")
        url = database_recreate(admin_url, DATABASE)
        env = base_env(url, BENCH_ENDPOINTS="true")
        migrate(env)

        log(f"{args.players} players")
        started = time.perf_counter()
        tokens = players_create(env, "tbench", args.players, tokens_file)
        players_s = time.perf_counter() - started

        log(f"{args.events} events over {args.days} days from {first_day}")
        started = time.perf_counter()
        load = events_load(url, events=args.events, days=args.days, first_day=first_day)
        load["total_s"] = time.perf_counter() - started
        load["players_s"] = players_s
        log(f"loaded: {json.dumps({k: round(v, 1) for k, v in load.items()})}")
    check_loaded = aggregates_check(url)
    log(f"aggregates after load: {check_loaded}")
    if not check_loaded["consistent"]:
        raise SystemExit("aggregates disagree with the events after the load")

    # Ingestion tokens: players that already have 30 days of history.
    ingest_tokens = OUT_DIR / "ingest_tokens.txt"
    ingest_tokens.write_text("\n".join(tokens[: max(args.connections * 50, 400)]) + "\n")
    week_from = (datetime.now(UTC).date() - timedelta(days=7)).isoformat()
    week_to = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    one_day = (first_day + timedelta(days=args.days // 2)).isoformat()
    stats_paths = [
        ("all time", "/stats"),
        ("7 days", f"/stats?from={week_from}&to={week_to}"),
        ("1 day", f"/stats?from={one_day}&to={one_day}"),
    ]

    server = Server(env, log_path=OUT_DIR / "gunicorn.log")
    with running(server):
        log("/stats latency")
        baseline = latencies(
            server.port, "/bench/constant", token=None, requests=args.stats_requests, warmup=20
        )
        stats_rows = []
        for label, path in stats_paths:
            for token in (None, tokens[1]):
                row = latencies(
                    server.port, path, token=token, requests=args.stats_requests, warmup=20
                )
                row["label"] = label
                stats_rows.append(row)
                log(f"  {label:8} token={bool(token)!s:5} p50 {row['p50_ms']} p95 {row['p95_ms']}")

        log("ingestion")
        threads = 2
        constant = wrk(
            server.url,
            "constant",
            ingest_tokens,
            threads=threads,
            connections=args.connections,
            seconds=args.ingest_seconds,
        )
        single = wrk(
            server.url,
            "single",
            ingest_tokens,
            threads=threads,
            connections=args.connections,
            seconds=args.ingest_seconds,
        )
        batch = wrk(
            server.url,
            "batch",
            ingest_tokens,
            threads=threads,
            connections=args.connections,
            seconds=args.ingest_seconds,
        )
        after = latencies(server.port, stats_paths[0][1], token=None, requests=5, warmup=0)

    check_after = aggregates_check(url)
    log(f"aggregates after ingestion: {check_after}")
    events_per_second = batch["per_second"] * 100
    expected_total = check_loaded["events"] + 100 * batch["ok"] + single["ok"]
    figures = {
        "load": load,
        "stats_baseline": {k: v for k, v in baseline.items() if k != "last_body"},
        "stats": [{k: v for k, v in row.items() if k != "last_body"} for row in stats_rows],
        "ingest_constant": constant,
        "ingest_single": single,
        "ingest_batch": batch,
        "batched_events_per_second": events_per_second,
        "check_after": check_after,
        "stats_total_after": after["last_body"]["totalEvents"],
        "expected_total_after": expected_total,
    }
    (OUT_DIR / "figures.json").write_text(json.dumps(figures, indent=2))

    worst_p95 = max(row["p95_ms"] for row in stats_rows)
    lines = [
        "## Telemetry",
        "",
        f"Command: `{command}` (PostgreSQL 15 on 127.0.0.1, gunicorn with `gunicorn.conf.py`, "
        f"production settings, 2-core machine shared with other work). Run on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Data: {check_loaded['events']:,} events over {args.days} days, "
        f"{check_loaded['distinct_players']:,} players, loaded in {load['total_s']:.0f} s "
        f"(insert {load['insert_events_s']:.0f} s, "
        f"index rebuild {load['rebuild_indexes_s']:.0f} s, "
        f"aggregates {load['fill_aggregates_s']:.0f} s, vacuum {load['vacuum_analyze_s']:.0f} s); "
        f"aggregates checked against the raw events: "
        f"{'consistent' if check_loaded['consistent'] else 'INCONSISTENT'}.",
        "",
        f"`/stats` latency, {args.stats_requests} sequential requests each over one keep-alive "
        "connection (target p95 <= 50 ms):",
        "",
        "| request | token | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|",
        f"| baseline `/bench/constant` | no | {baseline['p50_ms']} | {baseline['p95_ms']} | "
        f"{baseline['p99_ms']} |",
    ]
    for row in stats_rows:
        lines.append(
            f"| {row['label']} `{row['path']}` | {'yes' if row['token'] else 'no'} | "
            f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} |"
        )
    lines += [
        "",
        f"Worst /stats p95: {worst_p95} ms ({worst_p95 / max(baseline['p95_ms'], 0.01):.1f}x the "
        "constant view's p95).",
        "",
        f"Ingestion, wrk {threads} threads x {args.connections} connections, "
        f"{args.ingest_seconds} s each, every request a different player (target >= 10,000 "
        "events/s batched):",
        "",
        "| scenario | requests/s | events/s | p50 ms | p95 ms | non-2xx / socket errors |",
        "|---|---|---|---|---|---|",
    ]
    for name, run, per_request in (
        ("baseline `GET /bench/constant`", constant, 0),
        ("`POST /event` (1 event)", single, 1),
        ("`POST /events/batch` (100 events)", batch, 100),
    ):
        bad = run["requests"] - run["ok"]
        lines.append(
            f"| {name} | {run['per_second']:,.0f} | "
            f"{run['per_second'] * per_request:,.0f} | {run['p50_us'] / 1000:.1f} | "
            f"{run['p95_us'] / 1000:.1f} | {bad} / {run['socket_errors']} |"
        )
    lines += [
        "",
        f"Batched: {events_per_second:,.0f} events/s = "
        f"{events_per_second / max(single['per_second'], 1):.1f}x single-event POSTs, "
        f"{batch['per_second'] / max(constant['per_second'], 1):.2f}x the constant view's "
        "request rate. "
        f"After ingestion the aggregates still match the raw events: "
        f"{'yes' if check_after['consistent'] else 'NO'} "
        f"({check_after['events']:,} events).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_doc:
        section_write(text)
        log(f"wrote the Telemetry section of {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
