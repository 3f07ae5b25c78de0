"""`confirmed_purchases`: the payment gateway's ledger (PIPELINE.md "Inputs").

The confirmed purchases of `purchases_draw` (clock skew inside and beyond the matching window,
amounts off by a little), purchases only the gateway saw, refunds (some partial), chargebacks,
won disputes, orphan reversals, resent rows and a handful of malformed rows in the first chunk.
Column names are those of `analytics.pipeline.inputs`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics.pipeline.inputs import GATEWAY, REQUIRED_COLUMNS

from .common import PRICE_CENTS, US_PER_DAY, money_text, time_text

(
    TRANSACTION_ID,
    USER_ID,
    EVENT_TIME,
    EVENT_TYPE,
    AMOUNT,
    CURRENCY,
    AMOUNT_USD,
) = REQUIRED_COLUMNS[GATEWAY]


def confirmed_purchases(
    rng: np.random.Generator,
    base: pl.DataFrame,
    *,
    first: int,
    users: int,
    days: int,
    start_us: int,
    malformed: bool,
) -> pl.DataFrame:
    """The gateway rows of the purchases `base` (`purchases_draw`), shuffled."""
    n = base.height
    gateway = (
        base.filter(pl.col("confirmed"))
        .with_columns(
            pl.when(pl.col("has_order"))
            .then(pl.col("order_id"))
            .otherwise(pl.lit("ch_") + pl.col("id").cast(pl.String))
            .alias(TRANSACTION_ID),
        )
        .select(TRANSACTION_ID, USER_ID, "gw_us", CURRENCY, "gw_local", "gw_usd", "id")
    )
    g = gateway.height
    # Gateway-only purchases (~2.5% of purchases): the MMP never saw them.
    only = int(n * 0.025)
    only_rows = pl.DataFrame(
        {
            TRANSACTION_ID: pl.Series((first + np.arange(only)).astype(str)).str.zfill(9),
            USER_ID: pl.Series(rng.integers(0, users, only)).cast(pl.String).str.zfill(8),
            "gw_us": start_us + rng.integers(0, days * US_PER_DAY // 10**6, only) * 10**6,
            CURRENCY: ["USD"] * only,
            "gw_local": np.asarray(PRICE_CENTS)[rng.integers(0, 5, only)].astype(np.int64),
        }
    ).with_columns(
        (pl.lit("GPA.ONLY-") + pl.col(TRANSACTION_ID)).alias(TRANSACTION_ID),
        (pl.lit("u") + pl.col(USER_ID)).alias(USER_ID),
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
            pl.lit(kind).alias(EVENT_TYPE),
            gw_us=pl.col("gw_us") + pl.col("delay"),
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
                pl.lit("chargeback_reversal").alias(EVENT_TYPE),
                gw_us=pl.col("gw_us") + 3 * 86_400_000_000,
            )
            reversal_parts.append(won)
    orphans = max(1, n // 1000)
    reversal_parts.append(
        purchases_gw.head(orphans).with_columns(
            (pl.lit("GPA.ORPHAN-") + pl.col(TRANSACTION_ID)).alias(TRANSACTION_ID),
            pl.lit("refund").alias(EVENT_TYPE),
        )
    )
    columns = [TRANSACTION_ID, USER_ID, "gw_us", EVENT_TYPE, "gw_local", CURRENCY, "gw_usd"]
    ledger = pl.concat(
        [
            purchases_gw.with_columns(pl.lit("purchase").alias(EVENT_TYPE)).select(columns),
            *(part.select(columns) for part in reversal_parts),
        ]
    )
    skew_fraction = pl.Series(rng.random(ledger.height) < 0.1)
    ledger = ledger.select(
        TRANSACTION_ID,
        USER_ID,
        pl.when(skew_fraction)
        .then(time_text(pl.col("gw_us"), "%Y-%m-%dT%H:%M:%S%.6fZ"))
        .otherwise(time_text(pl.col("gw_us"), "%Y-%m-%dT%H:%M:%SZ"))
        .alias(EVENT_TIME),
        EVENT_TYPE,
        money_text(pl.col("gw_local")).alias(AMOUNT),
        CURRENCY,
        money_text(pl.col("gw_usd")).alias(AMOUNT_USD),
    )
    resent_gw = ledger.head(max(1, g // 200))  # the gateway sends a few rows twice
    frames = [ledger, resent_gw]
    if malformed:
        frames.append(_malformed(ledger.head(4)))
    return pl.concat(frames).sample(fraction=1.0, shuffle=True, seed=int(g))


def _malformed(rows: pl.DataFrame) -> pl.DataFrame:
    k = rows.height
    return rows.with_columns(
        pl.Series(TRANSACTION_ID, ["", "GPA.BAD-1", "GPA.BAD-2", "GPA.BAD-3"][:k]),
        pl.Series(EVENT_TIME, [*rows[EVENT_TIME][:1], "yesterday", *rows[EVENT_TIME][2:]]),
        pl.Series(EVENT_TYPE, ["purchase", "purchase", "reversal", "purchase"][:k]),
        pl.Series(AMOUNT, ["1.00", "1.00", "1.00", "0"][:k]),
    )
