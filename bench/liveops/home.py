"""Live-ops pages' latency on the telemetry benchmark's database (5M events): the home page,
retention, and the big lists (events, players, ledger).

    .venv/bin/python bench/telemetry/run.py          # once: loads gamebackend_bench_telemetry
    flock /tmp/bench.lock .venv/bin/python bench/liveops/home.py [--requests 100] [--warmup 10]

Runs in-process with Django's test client (production settings, DEBUG off, the same
PostgreSQL on 127.0.0.1), signed in as a superuser so that every figure of the page is computed.
Each page is requested `--warmup` times, then `--requests` times sequentially; it prints the
median and p95 per page and the ratio of the home
page's median and p95 to the baselines measured in the same run: `/bench/constant` (a view that
does nothing) and `/admin/telemetry/` (Django's plain app-list page of one app, same admin chrome).
The retention report (30 cohorts, all players and per campaign) is timed too, and the events list
(unfiltered, by type, by day, and with facet counts asked for: each counted exactly from the daily
aggregates, no facet scan), the players list (by status and by campaign) and the ledger list,
each against the app-list baseline. Nothing is written to the database but the superuser
(created once) and its session.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.lib import base_env, postgres_url, with_database

DATABASE = "gamebackend_bench_telemetry"
TARGET_MS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    os.environ.update(base_env(with_database(postgres_url(), DATABASE), BENCH_ENDPOINTS="true"))

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from telemetry.models import Event, EventDayCount

    events = Event.objects.count()
    latest = EventDayCount.objects.order_by("-day").values_list("day", flat=True).first()
    day = latest.isoformat() if latest else "2000-01-01"
    staff, _ = get_user_model().objects.get_or_create(
        username="bench_home_admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(staff)

    def timed(path: str) -> dict[str, float]:
        for _ in range(args.warmup):
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
        samples = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        return {
            "p50": statistics.median(samples),
            "p95": samples[max(0, round(0.95 * len(samples)) - 1)],
        }

    pages = [
        ("baseline `/bench/constant`", "/bench/constant"),
        ("baseline `/admin/telemetry/` (app list)", "/admin/telemetry/"),
        ("home `/admin/`", "/admin/"),
        ("retention, 30 cohorts", "/admin/reports/retention/"),
        ("retention per campaign", "/admin/reports/retention/?by_campaign=on"),
        ("events list", "/admin/telemetry/event/"),
        ("events list, one type", "/admin/telemetry/event/?event_type=level_complete"),
        (f"events list, one day ({day})", f"/admin/telemetry/event/?day={day}"),
        ("events list, facet counts asked for", "/admin/telemetry/event/?_facets=True"),
        ("players list, active", "/admin/accounts/user/?status=active"),
        ("players list, one campaign", "/admin/accounts/user/?campaign=facebook%7Csummer"),
        ("ledger list", "/admin/economy/ledgerentry/"),
    ]
    results = {label: timed(path) for label, path in pages}
    print(f"{events:,} events; {args.requests} sequential requests per page after {args.warmup}")
    print("| page | p50 ms | p95 ms |")
    print("|---|---|---|")
    for label, row in results.items():
        print(f"| {label} | {row['p50']:.2f} | {row['p95']:.2f} |")
    home = results["home `/admin/`"]
    for label in ("baseline `/bench/constant`", "baseline `/admin/telemetry/` (app list)"):
        base = results[label]
        print(
            f"home / {label}: p50 {home['p50'] / base['p50']:.1f}x, "
            f"p95 {home['p95'] / base['p95']:.1f}x"
        )
    app_list = results["baseline `/admin/telemetry/` (app list)"]
    for label, row in results.items():
        if "list" in label and "baseline" not in label:
            print(f"{label} / app list: p50 {row['p50'] / app_list['p50']:.1f}x")
    verdict = "meets" if home["p95"] < TARGET_MS else "MISSES"
    print(f"home p95 {home['p95']:.1f} ms {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
