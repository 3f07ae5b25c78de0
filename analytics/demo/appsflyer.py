"""`purchases_raw`: the AppsFlyer raw-data export of the purchases (PIPELINE.md "Inputs").

One row per purchase the MMP saw, plus what real exports carry: resends, retargeting copies
marked non-primary, other event names, order ids of most purchases (Google ``GPA.…`` and Apple
ids, in `Event Value`), anonymous players, and a handful of malformed rows in the first chunk.
Column names are those of `analytics.pipeline.inputs`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics.pipeline.inputs import PRIMARY_ATTRIBUTION, PURCHASES, REQUIRED_COLUMNS

from .common import OTHER_EVENTS, money_text, time_text

(
    EVENT_TIME,
    EVENT_NAME,
    EVENT_REVENUE,
    EVENT_REVENUE_CURRENCY,
    EVENT_REVENUE_USD,
    EVENT_VALUE,
    APPSFLYER_ID,
    CUSTOMER_USER_ID,
    MEDIA_SOURCE,
    CAMPAIGN,
    PLATFORM,
) = REQUIRED_COLUMNS[PURCHASES]


def purchases_raw(rng: np.random.Generator, base: pl.DataFrame, *, malformed: bool) -> pl.DataFrame:
    """The AppsFlyer rows of the purchases `base` (`purchases_draw`), shuffled."""
    n = base.height
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
        time_text(pl.col("af_us"), "%Y-%m-%d %H:%M:%S").alias(EVENT_TIME),
        pl.lit("af_purchase").alias(EVENT_NAME),
        money_text(pl.col("local")).alias(EVENT_REVENUE),
        pl.col("currency").alias(EVENT_REVENUE_CURRENCY),
        money_text(pl.col("af_usd")).alias(EVENT_REVENUE_USD),
        event_value.alias(EVENT_VALUE),
        (pl.lit("af-") + pl.col("user").cast(pl.String)).alias(APPSFLYER_ID),
        pl.when(pl.col("anonymous"))
        .then(pl.lit(""))
        .otherwise(pl.col("user_id"))
        .alias(CUSTOMER_USER_ID),
        pl.when(pl.col("c") < 0)
        .then(pl.when(pl.col("id") % 2 == 0).then(pl.lit("organic")).otherwise(pl.lit("")))
        .otherwise(pl.col("media_source"))
        .alias(MEDIA_SOURCE),
        pl.col("campaign").alias(CAMPAIGN),
        pl.when(pl.col("ios")).then(pl.lit("ios")).otherwise(pl.lit("android")).alias(PLATFORM),
        pl.when(pl.col("id") % 20 == 0)
        .then(pl.lit("TRUE"))
        .when(pl.col("id") % 20 == 1)
        .then(pl.lit(""))
        .otherwise(pl.lit("true"))
        .alias(PRIMARY_ATTRIBUTION),
    )
    # AppsFlyer resends (2%), retargeting copies marked non-primary (3%), other events (20%).
    resent = af.filter(pl.Series(rng.random(n) < 0.02))
    non_primary = af.filter(pl.Series(rng.random(n) < 0.03)).with_columns(
        pl.lit(" false").alias(PRIMARY_ATTRIBUTION),
        pl.lit("retarget_rt").alias(CAMPAIGN),
    )
    others = af.sample(fraction=0.2, seed=int(rng.integers(2**31))).with_columns(
        pl.Series(EVENT_NAME, np.asarray(OTHER_EVENTS)[rng.integers(0, 4, int(n * 0.2))]),
        pl.lit("").alias(EVENT_REVENUE),
        pl.lit("").alias(EVENT_REVENUE_USD),
        pl.lit('{"af_level":7}').alias(EVENT_VALUE),
    )
    frames = [af, resent, non_primary, others]
    if malformed:
        frames.append(_malformed(af.head(6)))
    return pl.concat(frames).sample(fraction=1.0, shuffle=True, seed=int(n))


def _malformed(rows: pl.DataFrame) -> pl.DataFrame:
    k = rows.height
    return rows.with_columns(
        pl.Series(EVENT_TIME, ["2024-13-45 99:00:00", "2024-01-01", *rows[EVENT_TIME][2:]]),
        pl.Series(EVENT_REVENUE, ["1.00", "1.00", "", "-4.99", "n/a", "1.99"][:k]),
        pl.Series(EVENT_REVENUE_CURRENCY, ["USD", "USD", "USD", "USD", "USD", ""][:k]),
        pl.lit("true").alias(PRIMARY_ATTRIBUTION),
    )
