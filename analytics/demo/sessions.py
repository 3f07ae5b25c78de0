"""`sessions`: the game's session export (PIPELINE.md "Inputs").

`SESSIONS_PER_PURCHASE` sessions per purchase of the chunk, of random players on random days,
each with its player's install attribution, plus two malformed rows in the first chunk. Column
names are those of `analytics.pipeline.inputs`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics.pipeline.inputs import REQUIRED_COLUMNS, SESSIONS

from .common import SESSIONS_PER_PURCHASE, US_PER_DAY, time_text

USER_ID, SESSION_START, MEDIA_SOURCE, CAMPAIGN = REQUIRED_COLUMNS[SESSIONS]


def sessions(
    rng: np.random.Generator,
    *,
    count: int,
    days: int,
    start_us: int,
    user_campaign: np.ndarray,
    lookup: pl.DataFrame,
    malformed: bool,
) -> pl.DataFrame:
    """The sessions of a chunk of `count` purchases."""
    users = len(user_campaign)
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
        (pl.lit("u") + pl.col("user").cast(pl.String).str.zfill(8)).alias(USER_ID),
        time_text(pl.col("start"), "%Y-%m-%dT%H:%M:%SZ").alias(SESSION_START),
        pl.col("media_source").alias(MEDIA_SOURCE),
        pl.col("campaign").alias(CAMPAIGN),
    )
    if malformed:
        bad = sessions.head(2).with_columns(
            pl.Series(USER_ID, ["", "u00000001"]),
            pl.Series(SESSION_START, ["2024-01-01T00:00:00Z", "not a time"]),
        )
        sessions = pl.concat([sessions, bad])
    return sessions
