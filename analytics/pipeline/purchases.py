"""Step 1: curate and deduplicate the AppsFlyer purchases."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .inputs import LINE, PRIMARY_ATTRIBUTION, PURCHASES, Header, rejected_frame, rows_by_line
from .parsing import (
    appsflyer_time,
    campaign_key,
    decimal_micros,
    media_source_key,
    plain_order_id,
    undecided_order_ids,
)

PURCHASE_EVENT = "af_purchase"


@dataclass(frozen=True)
class CuratedPurchases:
    """Deduplicated purchases in file order and what happened to the other rows.

    `purchases` columns: af_pos (0-based file order), line, event_time, user_id, appsflyer_id,
    media_source, campaign (normalised keys), platform, revenue_micros, currency,
    revenue_usd_micros, order_id (null when none).
    """

    purchases: pl.DataFrame
    rejected: pl.DataFrame
    appsflyer_rows: int
    non_primary_dropped: int
    duplicates_removed: int


def purchase_rows(raw: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Only ``af_purchase`` rows count; every other event is ignored entirely."""
    return raw.lazy().filter(pl.col("Event Name").fill_null("") == PURCHASE_EVENT)


def primary_flag(header: Header) -> pl.Expr:
    """Rows flagged ``false`` (trimmed, any case) repeat a primary row; other values are primary
    (and without the column every row is)."""
    if PRIMARY_ATTRIBUTION not in header:
        return pl.lit(True)
    flag = pl.col(PRIMARY_ATTRIBUTION).fill_null("").str.strip_chars().str.to_lowercase()
    return flag != "false"


def check_purchases(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Parsed values plus `reason` (null for a valid row; the first failing column otherwise)."""
    parsed = rows.with_columns(
        appsflyer_time("Event Time").alias("event_time"),
        decimal_micros("Event Revenue").alias("revenue_micros"),
        decimal_micros("Event Revenue USD").alias("revenue_usd_micros"),
        pl.col("Event Revenue Currency").fill_null("").alias("currency"),
    )
    reason = (
        pl.when(pl.col("event_time").is_null())
        .then(pl.lit("bad Event Time"))
        .when(pl.col("revenue_micros").is_null())
        .then(pl.lit("bad Event Revenue"))
        .when(pl.col("revenue_micros") < 0)
        .then(pl.lit("negative Event Revenue"))
        .when(pl.col("currency") == "")
        .then(pl.lit("empty Event Revenue Currency"))
        .when(pl.col("revenue_usd_micros").is_null())
        .then(pl.lit("bad Event Revenue USD"))
        .when(pl.col("revenue_usd_micros") < 0)
        .then(pl.lit("negative Event Revenue USD"))
    )
    return parsed.with_columns(reason.alias("reason"))


def deduplicate(valid: pl.DataFrame) -> pl.DataFrame:
    """First occurrence in file order of each order id, and of each set of equal values among
    rows without an order id (the two kinds never duplicate each other). The value key is only
    built for the rows without an order id."""
    has_order = valid.get_column("order_id").is_not_null()
    first = has_order & valid.get_column("order_id").is_first_distinct()
    without = (~has_order).arg_true()
    if without.len():
        by_values = valid[without].select(
            pl.struct(
                "appsflyer_id", "user_id", "event_time", "revenue_micros", "currency"
            ).is_first_distinct()
        )
        first = first.scatter(without, by_values.to_series())
    return valid.filter(first)


def curate_purchases(
    raw: pl.DataFrame | pl.LazyFrame, header: Header, path: Path | None = None
) -> CuratedPurchases:
    """Step 1 on the raw AppsFlyer export (all columns as text under the frame names of
    `header`, with `LINE`).

    One streaming pass over the used columns of the input collects the parsed values (the
    Event Value text only where the plain order-id patterns do not decide); the original text
    of every column is read back (from `path` when given) for the rejected rows alone (few).
    """
    lazy = raw.lazy()
    event_value = pl.col("Event Value").fill_null("")
    plain, decided = plain_order_id(event_value)
    rows = check_purchases(purchase_rows(lazy).with_columns(primary_flag(header).alias("_primary")))
    rejected_text = rows.filter(pl.col("_primary") & pl.col("reason").is_not_null()).select(
        LINE, *header.used(), "reason"
    )
    checked, rejected_reasons = pl.collect_all(
        [
            rows.select(
                LINE,
                "_primary",
                "reason",
                "event_time",
                pl.col("Customer User ID").fill_null("").alias("user_id"),
                pl.col("AppsFlyer ID").fill_null("").alias("appsflyer_id"),
                media_source_key("Media Source").alias("media_source"),
                campaign_key("Media Source", "Campaign").alias("campaign"),
                pl.col("Platform").fill_null("").alias("platform"),
                "revenue_micros",
                "currency",
                "revenue_usd_micros",
                plain.alias("order_id"),
                pl.when(~decided).then(event_value).alias("_event_value"),
            ),
            rejected_text,
        ],
        engine="streaming",
    )
    primary = pl.col("_primary")
    appsflyer_rows = checked.height
    non_primary = int((~checked.get_column("_primary")).sum())
    valid = checked.filter(primary & pl.col("reason").is_null()).drop("_primary", "reason")
    del checked
    rejected = rejected_frame(PURCHASES, rows_by_line(lazy, rejected_reasons, header, path), header)
    undecided = valid.get_column("_event_value").is_not_null().arg_true()
    if undecided.len():
        rest = undecided_order_ids(valid.get_column("_event_value").gather(undecided))
        valid = valid.with_columns(valid.get_column("order_id").scatter(undecided, rest))
    valid = valid.drop("_event_value")
    purchases = deduplicate(valid)
    purchases = purchases.with_row_index("af_pos").with_columns(
        pl.col("af_pos").cast(pl.Int64), pl.col(LINE).cast(pl.Int64).alias("line")
    )
    return CuratedPurchases(
        purchases=purchases.drop(LINE),
        rejected=rejected,
        appsflyer_rows=appsflyer_rows,
        non_primary_dropped=non_primary,
        duplicates_removed=valid.height - purchases.height,
    )
