"""Synthetic pipeline inputs at any size (`manage.py generate_demo_data`): demo and test data.

Not product code: nothing of the service reads it. The demo (`bin/demo`), the tests and the
benchmarks use it to get inputs shaped like real exports at any size, so it lives beside the
pipeline whose inputs it writes, in a package of its own, one generator per input:

- `world.py`: the purchases players make (shared by the AppsFlyer and gateway rows);
- `appsflyer.py` (`purchases_raw`), `gateway.py` (`confirmed_purchases`), `costs.py`
  (`costs_daily`), `sessions.py` (`sessions`), each naming its columns from
  `analytics.pipeline.inputs`;
- `common.py`: the made-up world's constants, text formats and the chunked writer.

What the data contains: several networks and ~`campaigns` campaigns of different ROAS, organic
traffic, android/ios, several currencies, AppsFlyer resends, non-primary rows, other event names,
order ids for most purchases (Google ``GPA.…`` and Apple ids), gateway rows with clock skew
inside and beyond the window, gateway-only purchases, refunds, chargebacks, won disputes,
orphans, restated costs, a handful of malformed rows, and a few campaigns whose ROAS collapses on
the last day (so anomalies exist).

Everything is vectorised (numpy + polars) and written in chunks of at most `CHUNK` purchases, so
memory stays bounded whatever the size; the output depends only on the arguments (the random
draws happen in one fixed order: per chunk the purchases, their AppsFlyer rows, their gateway
rows, the sessions; the costs last).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from analytics.pipeline.inputs import (
    COSTS,
    GATEWAY,
    INPUT_NAMES,
    INPUT_SUFFIXES,
    PURCHASES,
    SESSIONS,
)

from .appsflyer import purchases_raw
from .common import CHUNK, ChunkWriter, Format, campaigns_table
from .costs import costs_daily
from .gateway import confirmed_purchases
from .sessions import sessions
from .world import players_lookup, purchases_draw

__all__ = ["generate_demo_data"]


def generate_demo_data(
    out_dir: Path,
    *,
    purchases: int,
    days: int,
    seed: int,
    end_date: date | None = None,
    campaigns: int = 200,
    fmt: Format = "csv",
    users: int | None = None,
) -> dict[str, int]:
    """Write the four inputs into `out_dir`; return the data rows written per input name.

    `users` is the number of distinct players (default: a third of the purchases, at least 50).
    """
    if purchases < 1 or days < 1 or campaigns < 1 or (users is not None and users < 1):
        raise ValueError("purchases, days, campaigns and users must be positive")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown format {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    end = end_date or (datetime.now(UTC).date() - timedelta(days=1))
    start = end - timedelta(days=days - 1)
    start_us = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1e6)

    seeds = np.random.SeedSequence(seed)
    base_rng = np.random.default_rng(seeds.spawn(1)[0])
    table = campaigns_table(base_rng, campaigns)
    campaign_weight = table["weight"].to_numpy()
    collapsing = max(1, campaigns // 50)  # the largest campaigns: ROAS collapses on the last day

    users = users if users is not None else max(50, purchases // 3)
    # Per user: install attribution (-1 organic) and platform. 25% of players are organic.
    user_campaign = base_rng.choice(campaigns, size=users, p=campaign_weight).astype(np.int32)
    user_campaign[base_rng.random(users) < 0.25] = -1
    user_ios = base_rng.random(users) < 0.4
    lookup = players_lookup(table, campaigns)

    for suffix in INPUT_SUFFIXES:  # never leave an ambiguous input behind
        for name in INPUT_NAMES:
            (out_dir / f"{name}{suffix}").unlink(missing_ok=True)
    ext = ".csv" if fmt == "csv" else ".parquet"
    writers = {
        name: ChunkWriter(out_dir / f"{name}{ext}", fmt) for name in (PURCHASES, GATEWAY, SESSIONS)
    }
    revenue_cents = np.zeros((campaigns + 1, days), dtype=np.int64)
    chunk_seeds = seeds.spawn((purchases + CHUNK - 1) // CHUNK + 1)[1:]
    try:
        first = 0
        for index, chunk_seed in enumerate(chunk_seeds):
            count = min(CHUNK, purchases - first)
            rng = np.random.default_rng(chunk_seed)
            malformed = index == 0
            base = purchases_draw(
                rng,
                first=first,
                count=count,
                days=days,
                start_us=start_us,
                user_campaign=user_campaign,
                user_ios=user_ios,
                lookup=lookup,
                collapsing=collapsing,
                revenue_cents=revenue_cents,
            )
            writers[PURCHASES].write(purchases_raw(rng, base, malformed=malformed))
            writers[GATEWAY].write(
                confirmed_purchases(
                    rng,
                    base,
                    first=first,
                    users=len(user_campaign),
                    days=days,
                    start_us=start_us,
                    malformed=malformed,
                )
            )
            writers[SESSIONS].write(
                sessions(
                    rng,
                    count=count,
                    days=days,
                    start_us=start_us,
                    user_campaign=user_campaign,
                    lookup=lookup,
                    malformed=malformed,
                )
            )
            first += count
    finally:
        for writer in writers.values():
            writer.close()

    cost_writer = ChunkWriter(out_dir / f"{COSTS}{ext}", fmt)
    cost_writer.write(costs_daily(base_rng, table, revenue_cents, start, collapsing))
    cost_writer.close()
    counts = {name: writer.rows for name, writer in writers.items()}
    counts[COSTS] = cost_writer.rows
    return {name: counts[name] for name in INPUT_NAMES}
