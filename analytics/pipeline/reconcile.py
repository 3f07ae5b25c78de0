"""Step 3: one-to-one reconciliation of AppsFlyer purchases with gateway purchases.

By id first, then by time. The time match is the greedy rule of the contract: among all
candidate pairs, take the closest first, skipping pairs with a side already taken; ties by
earlier AppsFlyer time, then AppsFlyer file order, then smaller transaction id.

Candidates come from an equi-join on (user, currency, time bucket) where a bucket is one window
wide and each gateway row is offered to its own bucket and both neighbours: any pair within the
window lies in adjacent buckets, and no user's whole history is ever crossed with itself.

The greedy assignment is resolved by rounds of "mutual best": a remaining pair is accepted when it
ranks first among the remaining pairs of its purchase and among those of its gateway row; then
every pair touching an accepted side is dropped. Because the ranking is a strict total order this
accepts exactly the pairs the sequential greedy scan accepts (the best remaining pair is always
mutually best, and a mutually best pair can only be preceded in the scan by pairs that are
skipped), and each round is a few vectorised operations.
"""

from __future__ import annotations

import polars as pl

from .parsing import MICROS_PER_MINUTE

AMOUNT_TOLERANCE_MICROS = 10_000  # 0.01 in the local currency, compared exactly

MATCHED_BY_ID = "matched_by_id"
MATCHED_BY_TIME = "matched_by_time"
UNMATCHED = "unmatched"

PAIR_SCHEMA = {"af_pos": pl.Int64, "gw_idx": pl.Int64}


def match_by_id(purchases: pl.DataFrame, gateway: pl.DataFrame) -> pl.DataFrame:
    """(af_pos, gw_idx) where the order id equals a gateway purchase's transaction id."""
    return (
        purchases.filter(pl.col("order_id").is_not_null())
        .select("af_pos", "order_id")
        .join(
            gateway.select("gw_idx", "transaction_id"),
            left_on="order_id",
            right_on="transaction_id",
            how="inner",
        )
        .select("af_pos", "gw_idx")
    )


def time_candidates(
    purchases: pl.DataFrame, gateway: pl.DataFrame, window_minutes: int
) -> pl.DataFrame:
    """Every candidate pair of the time match, ranked.

    `purchases`: af_pos, event_time, user_id, currency, revenue_micros.
    `gateway`: gw_idx, event_time, user_id, currency, amount_micros, transaction_id.
    Returns af_pos, gw_idx, rank (0 = best) sorted by rank.
    """
    window = window_minutes * MICROS_PER_MINUTE
    width = max(window, 1)
    left = purchases.filter(pl.col("user_id") != "").select(
        "af_pos",
        "user_id",
        "currency",
        pl.col("event_time").alias("af_time"),
        pl.col("revenue_micros").alias("af_amount"),
        (pl.col("event_time").dt.epoch("us") // width).alias("bucket"),
    )
    right = gateway.filter(pl.col("user_id") != "").select(
        "gw_idx",
        "user_id",
        "currency",
        pl.col("event_time").alias("gw_time"),
        pl.col("amount_micros").alias("gw_amount"),
        "transaction_id",
        (pl.col("event_time").dt.epoch("us") // width).alias("bucket"),
    )
    offered = pl.concat([right.with_columns(pl.col("bucket") + shift) for shift in (-1, 0, 1)])
    pairs = left.join(offered, on=["user_id", "currency", "bucket"], how="inner")
    abs_dt = (pl.col("gw_time") - pl.col("af_time")).dt.total_microseconds().abs()
    return (
        pairs.with_columns(abs_dt.alias("abs_dt"))
        .filter(
            (pl.col("abs_dt") <= window)
            & ((pl.col("af_amount") - pl.col("gw_amount")).abs() <= AMOUNT_TOLERANCE_MICROS)
        )
        .sort(["abs_dt", "af_time", "af_pos", "transaction_id"])
        .with_row_index("rank")
        .select("af_pos", "gw_idx", pl.col("rank").cast(pl.Int64))
    )


def greedy_assign(candidates: pl.DataFrame) -> pl.DataFrame:
    """The greedy one-to-one assignment over ranked candidates (af_pos, gw_idx, rank)."""
    accepted: list[pl.DataFrame] = []
    remaining = candidates
    while remaining.height:
        ranked = remaining.with_columns(
            pl.col("rank").min().over("af_pos").alias("af_best"),
            pl.col("rank").min().over("gw_idx").alias("gw_best"),
        )
        chosen = ranked.filter(
            (pl.col("rank") == pl.col("af_best")) & (pl.col("rank") == pl.col("gw_best"))
        ).select("af_pos", "gw_idx")
        accepted.append(chosen)
        remaining = remaining.filter(
            ~pl.col("af_pos").is_in(chosen.get_column("af_pos").implode())
            & ~pl.col("gw_idx").is_in(chosen.get_column("gw_idx").implode())
        )
    if not accepted:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    return pl.concat(accepted).select(pl.col("af_pos").cast(pl.Int64), pl.col("gw_idx"))


def reconcile(purchases: pl.DataFrame, gateway: pl.DataFrame, window_minutes: int) -> pl.DataFrame:
    """Matches as af_pos, gw_idx, match_status (by id, then by time among the rest)."""
    by_id = match_by_id(purchases, gateway)
    rest_purchases = purchases.join(by_id.select("af_pos"), on="af_pos", how="anti")
    rest_gateway = gateway.join(by_id.select("gw_idx"), on="gw_idx", how="anti")
    by_time = greedy_assign(time_candidates(rest_purchases, rest_gateway, window_minutes))
    return pl.concat(
        [
            by_id.with_columns(pl.lit(MATCHED_BY_ID).alias("match_status")),
            by_time.with_columns(pl.lit(MATCHED_BY_TIME).alias("match_status")),
        ]
    )
