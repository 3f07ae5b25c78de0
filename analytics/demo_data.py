"""Synthetic pipeline inputs at any size (`manage.py generate_demo_data`).

Writes the four inputs of PIPELINE.md (purchases_raw, confirmed_purchases, costs_daily, sessions)
with what real exports contain: several networks and ~`campaigns` campaigns of different ROAS,
organic traffic, android/ios, several currencies, AppsFlyer resends, non-primary rows, other event
names, order ids for most purchases (Google ``GPA.…`` and Apple ids), gateway rows with clock skew
inside and beyond the window, gateway-only purchases, refunds, chargebacks, won disputes, orphans,
restated costs, a handful of malformed rows, and a few campaigns whose ROAS collapses on the last
day (so anomalies exist).

Everything is vectorised (numpy + polars) and written in chunks of at most `CHUNK` purchases, so
memory stays bounded whatever the size; the output depends only on the arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

CHUNK = 1_000_000
SESSIONS_PER_PURCHASE = 5
MEDIA_SOURCES = (
    "googleadwords_int",
    "Facebook Ads",
    "unityads_int",
    "applovin_int",
    "ironsource_int",
    "tiktokglobal_int",
    "mintegral_int",
    "snapchat_int",
)
CAMPAIGN_THEMES = ("search", "uac", "lookalike", "rewarded", "playable", "retarget", "broad")
CURRENCIES = ("USD", "EUR", "GBP", "BRL", "JPY", "INR")
CURRENCY_SHARE = (0.50, 0.20, 0.10, 0.08, 0.07, 0.05)
UNITS_PER_USD = (1.0, 0.92, 0.79, 5.0, 150.0, 83.0)
PRICE_CENTS = (99, 199, 299, 499, 999, 1999, 4999, 9999)
PRICE_SHARE = (0.30, 0.20, 0.15, 0.15, 0.10, 0.06, 0.03, 0.01)
OTHER_EVENTS = ("af_level_achieved", "af_tutorial_completion", "af_ad_view", "af_login")
AF_COLUMNS = (
    "Event Time",
    "Event Name",
    "Event Revenue",
    "Event Revenue Currency",
    "Event Revenue USD",
    "Event Value",
    "AppsFlyer ID",
    "Customer User ID",
    "Media Source",
    "Campaign",
    "Platform",
    "Is Primary Attribution",
)
GW_COLUMNS = (
    "transaction_id",
    "user_id",
    "event_time",
    "event_type",
    "amount",
    "currency",
    "amount_usd",
)
COST_COLUMNS = ("date", "media_source", "campaign", "cost_usd", "installs")
SESSION_COLUMNS = ("user_id", "session_start", "media_source", "campaign")
US_PER_DAY = 86_400_000_000

Format = Literal["csv", "parquet"]


def _money(cents: pl.Expr) -> pl.Expr:
    """Integer cents as decimal text (``-` never occurs here), e.g. 499 -> ``4.99``."""
    return pl.concat_str(
        (cents // 100).cast(pl.String), pl.lit("."), (cents % 100).cast(pl.String).str.zfill(2)
    )


def _time_text(micros: pl.Expr, pattern: str) -> pl.Expr:
    return pl.from_epoch(micros, time_unit="us").dt.strftime(pattern)


class _ChunkWriter:
    """Appends DataFrame chunks to one CSV or parquet file."""

    def __init__(self, path: Path, fmt: Format) -> None:
        self.path, self.fmt, self.rows = path, fmt, 0
        self._handle = open(path, "wb") if fmt == "csv" else None  # noqa: SIM115
        self._parquet: Any = None  # a pyarrow ParquetWriter once the first frame arrives

    def write(self, frame: pl.DataFrame) -> None:
        if self.fmt == "csv":
            frame.write_csv(self._handle, include_header=self.rows == 0)
        else:
            import pyarrow.parquet as pq

            table = frame.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table)
        self.rows += frame.height

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._parquet is not None:
            self._parquet.close()


def _campaigns(rng: np.random.Generator, count: int) -> pl.DataFrame:
    sources = rng.integers(0, len(MEDIA_SOURCES), count)
    themes = rng.integers(0, len(CAMPAIGN_THEMES), count)
    # Zipf-like weights: a few campaigns carry most of the traffic; index 0 is the largest.
    weights = 1.0 / np.arange(1, count + 1) ** 0.8
    return pl.DataFrame(
        {
            "media_source": [MEDIA_SOURCES[s] for s in sources],
            "campaign": [
                f"{CAMPAIGN_THEMES[t]}_{i:03d}" for i, t in enumerate(themes)
            ],  # count is small (hundreds): a list comprehension over campaigns, not rows
            "weight": weights / weights.sum(),
            "roas": np.round(np.exp(rng.normal(-0.1, 0.6, count)), 3),
        }
    )


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
    table = _campaigns(base_rng, campaigns)
    campaign_weight = table["weight"].to_numpy()
    collapsing = max(1, campaigns // 50)  # the largest campaigns: ROAS collapses on the last day

    users = users if users is not None else max(50, purchases // 3)
    # Per user: install attribution (-1 organic) and platform. 25% of players are organic.
    user_campaign = base_rng.choice(campaigns, size=users, p=campaign_weight).astype(np.int32)
    user_campaign[base_rng.random(users) < 0.25] = -1
    user_ios = base_rng.random(users) < 0.4
    lookup = pl.DataFrame(
        {
            "c": pl.Series(np.arange(-1, campaigns, dtype=np.int32)),
            "media_source": ["organic", *table["media_source"].to_list()],
            "campaign": ["", *table["campaign"].to_list()],
        }
    )

    for suffix in (".csv", ".csv.gz", ".parquet"):  # never leave an ambiguous input behind
        for name in ("purchases_raw", "confirmed_purchases", "costs_daily", "sessions"):
            (out_dir / f"{name}{suffix}").unlink(missing_ok=True)
    ext = ".csv" if fmt == "csv" else ".parquet"
    writers = {
        name: _ChunkWriter(out_dir / f"{name}{ext}", fmt)
        for name in ("purchases_raw", "confirmed_purchases", "sessions")
    }
    revenue_cents = np.zeros((campaigns + 1, days), dtype=np.int64)
    chunk_seeds = seeds.spawn((purchases + CHUNK - 1) // CHUNK + 1)[1:]
    try:
        first = 0
        for index, chunk_seed in enumerate(chunk_seeds):
            count = min(CHUNK, purchases - first)
            chunk = _chunk(
                np.random.default_rng(chunk_seed),
                first=first,
                count=count,
                days=days,
                start_us=start_us,
                user_campaign=user_campaign,
                user_ios=user_ios,
                lookup=lookup,
                collapsing=collapsing,
                revenue_cents=revenue_cents,
                malformed=index == 0,
            )
            for name, frame in chunk:
                writers[name].write(frame)
            first += count
    finally:
        for writer in writers.values():
            writer.close()

    costs = _costs(base_rng, table, revenue_cents, start, collapsing)
    cost_writer = _ChunkWriter(out_dir / f"costs_daily{ext}", fmt)
    cost_writer.write(costs)
    cost_writer.close()
    counts = {name: writer.rows for name, writer in writers.items()}
    counts["costs_daily"] = cost_writer.rows
    return {
        name: counts[name]
        for name in ("purchases_raw", "confirmed_purchases", "costs_daily", "sessions")
    }


def _chunk(
    rng: np.random.Generator,
    *,
    first: int,
    count: int,
    days: int,
    start_us: int,
    user_campaign: np.ndarray,
    user_ios: np.ndarray,
    lookup: pl.DataFrame,
    collapsing: int,
    revenue_cents: np.ndarray,
    malformed: bool,
) -> Iterator[tuple[str, pl.DataFrame]]:
    users = len(user_campaign)
    user = rng.integers(0, users, count)
    day = rng.integers(0, days, count)
    campaign = user_campaign[user]
    # The collapsing campaigns keep only 15% of their purchases on the last day.
    keep = ~((campaign >= 0) & (campaign < collapsing) & (day == days - 1))
    keep |= rng.random(count) < 0.15
    user, day, campaign = user[keep], day[keep], campaign[keep]
    n = len(user)
    ids = first + np.arange(n, dtype=np.int64)
    ios = user_ios[user]
    af_us = start_us + day * US_PER_DAY + rng.integers(0, 86_400, n) * 1_000_000
    currency = rng.choice(len(CURRENCIES), n, p=CURRENCY_SHARE)
    price = np.asarray(PRICE_CENTS)[rng.choice(len(PRICE_CENTS), n, p=PRICE_SHARE)]
    rate = np.asarray(UNITS_PER_USD)[currency]
    local = np.round(price * rate).astype(np.int64)
    local = np.where(np.asarray(CURRENCIES)[currency] == "JPY", local // 100 * 100, local)
    af_usd = np.maximum(1, np.round(local / rate * rng.normal(1.0, 0.01, n))).astype(np.int64)
    has_order = rng.random(n) < 0.9
    # Gateway: ~93% of purchases confirmed; skew mostly small, some near and beyond the window.
    confirmed = rng.random(n) < 0.93
    skew_kind = rng.random(n)
    skew_s = np.where(
        skew_kind < 0.85,
        rng.normal(0, 40, n),
        np.where(skew_kind < 0.95, rng.uniform(-590, 590, n), rng.uniform(-1800, 1800, n)),
    )
    gw_us = af_us + np.round(skew_s * 1e6 / 1000).astype(np.int64) * 1000
    amount_shift = np.select(
        [skew_kind < 0.02, skew_kind > 0.99], [np.ones(n), np.full(n, 3)], np.zeros(n)
    ).astype(np.int64)
    gw_local = np.maximum(1, local + amount_shift)
    gw_usd = np.maximum(1, np.round(price * rng.normal(1.0, 0.005, n))).astype(np.int64)
    np.add.at(revenue_cents, (campaign[confirmed] + 1, day[confirmed]), gw_usd[confirmed])

    base = pl.DataFrame(
        {
            "id": ids,
            "user": user.astype(np.int64),
            "c": campaign,
            "ios": ios,
            "af_us": af_us,
            "gw_us": gw_us,
            "currency": np.asarray(CURRENCIES)[currency],
            "local": local,
            "af_usd": af_usd,
            "gw_local": gw_local,
            "gw_usd": gw_usd,
            "has_order": has_order,
            "receipt": rng.random(n) < 0.5,
            "anonymous": rng.random(n) < 0.02,
            "confirmed": confirmed,
        }
    ).join(lookup, on="c", how="left", maintain_order="left")
    google_id = pl.concat_str(
        pl.lit("GPA"),
        *[((pl.col("id") // 10**k) % 10**4).cast(pl.String).str.zfill(4) for k in (12, 8, 4)],
        (pl.col("id") % 10**5).cast(pl.String).str.zfill(5),
        separator="-",
    ).str.replace("GPA-", "GPA.", literal=True)
    order_id = (
        pl.when(pl.col("ios"))
        .then((pl.col("id") + 1_000_000_000_000_000).cast(pl.String))
        .otherwise(google_id)
    )
    user_id = pl.lit("u") + pl.col("user").cast(pl.String).str.zfill(8)
    base = base.with_columns(order_id=order_id, user_id=user_id)
    event_value = (
        pl.when(~pl.col("has_order"))
        .then(pl.when(pl.col("receipt")).then(pl.lit("")).otherwise(pl.lit('{"af_level":3}')))
        .when(pl.col("ios") & pl.col("receipt"))
        .then(pl.concat_str(pl.lit('{"af_receipt_id":"'), pl.col("order_id"), pl.lit('"}')))
        .otherwise(
            pl.concat_str(
                pl.lit('{"af_order_id":"'),
                pl.col("order_id"),
                pl.lit('","af_content_id":"gems_pack"}'),
            )
        )
    )
    af = base.select(
        _time_text(pl.col("af_us"), "%Y-%m-%d %H:%M:%S").alias("Event Time"),
        pl.lit("af_purchase").alias("Event Name"),
        _money(pl.col("local")).alias("Event Revenue"),
        pl.col("currency").alias("Event Revenue Currency"),
        _money(pl.col("af_usd")).alias("Event Revenue USD"),
        event_value.alias("Event Value"),
        (pl.lit("af-") + pl.col("user").cast(pl.String)).alias("AppsFlyer ID"),
        pl.when(pl.col("anonymous"))
        .then(pl.lit(""))
        .otherwise(pl.col("user_id"))
        .alias("Customer User ID"),
        pl.when(pl.col("c") < 0)
        .then(pl.when(pl.col("id") % 2 == 0).then(pl.lit("organic")).otherwise(pl.lit("")))
        .otherwise(pl.col("media_source"))
        .alias("Media Source"),
        pl.col("campaign").alias("Campaign"),
        pl.when(pl.col("ios")).then(pl.lit("ios")).otherwise(pl.lit("android")).alias("Platform"),
        pl.when(pl.col("id") % 20 == 0)
        .then(pl.lit("TRUE"))
        .when(pl.col("id") % 20 == 1)
        .then(pl.lit(""))
        .otherwise(pl.lit("true"))
        .alias("Is Primary Attribution"),
    )
    # AppsFlyer resends (2%), retargeting copies marked non-primary (3%), other events (20%).
    resent = af.filter(pl.Series(rng.random(n) < 0.02))
    non_primary = af.filter(pl.Series(rng.random(n) < 0.03)).with_columns(
        pl.lit(" false").alias("Is Primary Attribution"),
        pl.lit("retarget_rt").alias("Campaign"),
    )
    others = af.sample(fraction=0.2, seed=int(rng.integers(2**31))).with_columns(
        pl.Series("Event Name", np.asarray(OTHER_EVENTS)[rng.integers(0, 4, int(n * 0.2))]),
        pl.lit("").alias("Event Revenue"),
        pl.lit("").alias("Event Revenue USD"),
        pl.lit('{"af_level":7}').alias("Event Value"),
    )
    frames = [af, resent, non_primary, others]
    if malformed:
        frames.append(_malformed_appsflyer(af.head(6)))
    yield "purchases_raw", pl.concat(frames).sample(fraction=1.0, shuffle=True, seed=int(n))

    gateway = (
        base.filter(pl.col("confirmed"))
        .with_columns(
            transaction_id=pl.when(pl.col("has_order"))
            .then(pl.col("order_id"))
            .otherwise(pl.lit("ch_") + pl.col("id").cast(pl.String)),
        )
        .select("transaction_id", "user_id", "gw_us", "currency", "gw_local", "gw_usd", "id")
    )
    g = gateway.height
    # Gateway-only purchases (~2.5% of purchases): the MMP never saw them.
    only = int(n * 0.025)
    only_rows = pl.DataFrame(
        {
            "transaction_id": pl.Series((first + np.arange(only)).astype(str)).str.zfill(9),
            "user_id": pl.Series(rng.integers(0, users, only)).cast(pl.String).str.zfill(8),
            "gw_us": start_us + rng.integers(0, days * US_PER_DAY // 10**6, only) * 10**6,
            "currency": ["USD"] * only,
            "gw_local": np.asarray(PRICE_CENTS)[rng.integers(0, 5, only)].astype(np.int64),
        }
    ).with_columns(
        transaction_id=pl.lit("GPA.ONLY-") + pl.col("transaction_id"),
        user_id=pl.lit("u") + pl.col("user_id"),
        gw_usd=pl.col("gw_local"),
        id=pl.lit(-1, dtype=pl.Int64),
    )
    purchases_gw = pl.concat([gateway, only_rows.select(gateway.columns)])
    # Reversals: refunds 3% (40% partial), chargebacks 1%, won disputes for 30% of those.
    pick = rng.random(purchases_gw.height)
    delay = rng.integers(3_600, 7 * 86_400, purchases_gw.height) * 1_000_000
    reversal_parts = []
    for kind, low, high in (("refund", 0.0, 0.03), ("chargeback", 0.03, 0.04)):
        chosen = purchases_gw.with_columns(pl.Series("delay", delay)).filter(
            pl.Series((pick >= low) & (pick < high))
        )
        partial = pl.Series(rng.random(chosen.height) < (0.4 if kind == "refund" else 0.0))
        chosen = chosen.with_columns(
            gw_us=pl.col("gw_us") + pl.col("delay"),
            event_type=pl.lit(kind),
            gw_local=pl.when(partial)
            .then(pl.max_horizontal(1, pl.col("gw_local") // 2))
            .otherwise(pl.col("gw_local")),
            gw_usd=pl.when(partial)
            .then(pl.max_horizontal(1, pl.col("gw_usd") // 2))
            .otherwise(pl.col("gw_usd")),
        )
        reversal_parts.append(chosen)
        if kind == "chargeback":
            won = chosen.filter(pl.Series(rng.random(chosen.height) < 0.3)).with_columns(
                gw_us=pl.col("gw_us") + 3 * 86_400_000_000,
                event_type=pl.lit("chargeback_reversal"),
            )
            reversal_parts.append(won)
    orphans = max(1, n // 1000)
    reversal_parts.append(
        purchases_gw.head(orphans).with_columns(
            transaction_id=pl.lit("GPA.ORPHAN-") + pl.col("transaction_id"),
            event_type=pl.lit("refund"),
        )
    )
    columns = ["transaction_id", "user_id", "gw_us", "event_type", "gw_local", "currency", "gw_usd"]
    ledger = pl.concat(
        [
            purchases_gw.with_columns(event_type=pl.lit("purchase")).select(columns),
            *(part.select(columns) for part in reversal_parts),
        ]
    )
    skew_fraction = pl.Series(rng.random(ledger.height) < 0.1)
    ledger = ledger.select(
        "transaction_id",
        "user_id",
        pl.when(skew_fraction)
        .then(_time_text(pl.col("gw_us"), "%Y-%m-%dT%H:%M:%S%.6fZ"))
        .otherwise(_time_text(pl.col("gw_us"), "%Y-%m-%dT%H:%M:%SZ"))
        .alias("event_time"),
        "event_type",
        _money(pl.col("gw_local")).alias("amount"),
        "currency",
        _money(pl.col("gw_usd")).alias("amount_usd"),
    )
    resent_gw = ledger.head(max(1, g // 200))  # the gateway sends a few rows twice
    frames = [ledger, resent_gw]
    if malformed:
        frames.append(_malformed_gateway(ledger.head(4)))
    yield "confirmed_purchases", pl.concat(frames).sample(fraction=1.0, shuffle=True, seed=int(g))

    sessions_n = count * SESSIONS_PER_PURCHASE
    session_user = rng.integers(0, users, sessions_n)
    sessions = pl.DataFrame(
        {
            "user": session_user.astype(np.int64),
            "c": user_campaign[session_user],
            "start": start_us
            + rng.integers(0, days, sessions_n) * US_PER_DAY
            + rng.integers(0, 86_400, sessions_n) * 1_000_000,
        }
    ).join(lookup, on="c", how="left", maintain_order="left")
    sessions = sessions.select(
        (pl.lit("u") + pl.col("user").cast(pl.String).str.zfill(8)).alias("user_id"),
        _time_text(pl.col("start"), "%Y-%m-%dT%H:%M:%SZ").alias("session_start"),
        "media_source",
        "campaign",
    )
    if malformed:
        bad = sessions.head(2).with_columns(
            pl.Series("user_id", ["", "u00000001"]),
            pl.Series("session_start", ["2024-01-01T00:00:00Z", "not a time"]),
        )
        sessions = pl.concat([sessions, bad])
    yield "sessions", sessions


def _malformed_appsflyer(rows: pl.DataFrame) -> pl.DataFrame:
    k = rows.height
    return rows.with_columns(
        pl.Series("Event Time", ["2024-13-45 99:00:00", "2024-01-01", *rows["Event Time"][2:]]),
        pl.Series("Event Revenue", ["1.00", "1.00", "", "-4.99", "n/a", "1.99"][:k]),
        pl.Series("Event Revenue Currency", ["USD", "USD", "USD", "USD", "USD", ""][:k]),
        pl.lit("true").alias("Is Primary Attribution"),
    )


def _malformed_gateway(rows: pl.DataFrame) -> pl.DataFrame:
    k = rows.height
    return rows.with_columns(
        pl.Series("transaction_id", ["", "GPA.BAD-1", "GPA.BAD-2", "GPA.BAD-3"][:k]),
        pl.Series("event_time", [*rows["event_time"][:1], "yesterday", *rows["event_time"][2:]]),
        pl.Series("event_type", ["purchase", "purchase", "reversal", "purchase"][:k]),
        pl.Series("amount", ["1.00", "1.00", "1.00", "0"][:k]),
    )


def _costs(
    rng: np.random.Generator,
    table: pl.DataFrame,
    revenue_cents: np.ndarray,
    start: date,
    collapsing: int,
) -> pl.DataFrame:
    campaigns, days = revenue_cents.shape[0] - 1, revenue_cents.shape[1]
    paid = revenue_cents[1:]
    # Spend follows each campaign's usual revenue (the last day excluded, so a collapse shows).
    usual = paid[:, :-1].mean(axis=1) if days > 1 else paid[:, 0].astype(float)
    usual = np.where(usual > 0, usual, rng.uniform(2_000, 20_000, campaigns))
    roas = table["roas"].to_numpy()
    cost = np.round(
        usual[:, None] / roas[:, None] * np.exp(rng.normal(0, 0.15, (campaigns, days)))
    ).astype(np.int64)
    cost[:collapsing, -1] = np.round(usual[:collapsing] / roas[:collapsing]).astype(np.int64)
    dates = pl.date_range(start, start + timedelta(days=days - 1), eager=True)
    frame = pl.DataFrame(
        {
            "date": np.tile(dates.to_numpy(), campaigns),
            "media_source": np.repeat(table["media_source"].to_numpy(), days),
            "campaign": np.repeat(table["campaign"].to_numpy(), days),
            "cents": cost.reshape(-1),
            "installs": rng.integers(0, 500, campaigns * days),
        }
    )
    # Restatements: 2% of rows first appear with a wrong figure, then with the final one.
    restated = frame.filter(pl.Series(rng.random(frame.height) < 0.02)).with_columns(
        cents=pl.col("cents") * 13 // 10
    )
    rows = pl.concat([restated, frame]).select(
        pl.col("date").cast(pl.String),
        "media_source",
        "campaign",
        _money(pl.col("cents")).alias("cost_usd"),
        pl.col("installs").cast(pl.String),
    )
    bad = rows.head(1).with_columns(pl.lit("abc").alias("cost_usd"))
    return pl.concat([rows, bad])
