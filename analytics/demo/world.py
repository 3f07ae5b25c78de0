"""The purchases players make in the made-up world, before any export sees them.

`purchases_draw` draws one chunk of purchases: who bought what, when, in which currency, through
which campaign, and what the gateway will confirm (with its clock skew and amounts). The
AppsFlyer and gateway generators both derive their rows from it, so they agree purchase by
purchase; `revenue_cents` collects the confirmed revenue per campaign and day, which the costs
generator turns into spend.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .common import CURRENCIES, CURRENCY_SHARE, PRICE_CENTS, PRICE_SHARE, UNITS_PER_USD, US_PER_DAY


def players_lookup(table: pl.DataFrame, campaigns: int) -> pl.DataFrame:
    """Campaign index (-1 organic) to media source and campaign name."""
    return pl.DataFrame(
        {
            "c": pl.Series(np.arange(-1, campaigns, dtype=np.int32)),
            "media_source": ["organic", *table["media_source"].to_list()],
            "campaign": ["", *table["campaign"].to_list()],
        }
    )


def purchases_draw(
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
) -> pl.DataFrame:
    """One chunk of about `count` purchases, numbered from `first` (one row per purchase)."""
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
    return base
