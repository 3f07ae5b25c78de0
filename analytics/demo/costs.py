"""`costs_daily`: the ad networks' spend per day and campaign (PIPELINE.md "Inputs").

Spend follows each campaign's confirmed revenue (`revenue_cents`, from `purchases_draw`) at
the campaign's ROAS, with daily noise; the collapsing campaigns keep their usual spend on the
last day while their revenue drops. Some rows are restated (a wrong figure first, the final one
after it) and one is malformed. Column names are those of `analytics.pipeline.inputs`.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from analytics.pipeline.inputs import COSTS, REQUIRED_COLUMNS

from .common import money_text

DATE, MEDIA_SOURCE, CAMPAIGN, COST_USD = REQUIRED_COLUMNS[COSTS]
INSTALLS = "installs"  # in real exports too; the pipeline does not read it


def costs_daily(
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
        pl.col("date").cast(pl.String).alias(DATE),
        pl.col("media_source").alias(MEDIA_SOURCE),
        pl.col("campaign").alias(CAMPAIGN),
        money_text(pl.col("cents")).alias(COST_USD),
        pl.col("installs").cast(pl.String).alias(INSTALLS),
    )
    bad = rows.head(1).with_columns(pl.lit("abc").alias(COST_USD))
    return pl.concat([rows, bad])
