"""What every generator of the demo data shares: the made-up world's constants, text formats
and a chunked file writer."""

from __future__ import annotations

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
US_PER_DAY = 86_400_000_000

Format = Literal["csv", "parquet"]


def money_text(cents: pl.Expr) -> pl.Expr:
    """Integer cents as decimal text (``-` never occurs here), e.g. 499 -> ``4.99``."""
    return pl.concat_str(
        (cents // 100).cast(pl.String), pl.lit("."), (cents % 100).cast(pl.String).str.zfill(2)
    )


def time_text(micros: pl.Expr, pattern: str) -> pl.Expr:
    return pl.from_epoch(micros, time_unit="us").dt.strftime(pattern)


class ChunkWriter:
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


def campaigns_table(rng: np.random.Generator, count: int) -> pl.DataFrame:
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
