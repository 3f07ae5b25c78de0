"""Step 1: curate and deduplicate the AppsFlyer purchases."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .inputs import LINE, PRIMARY_ATTRIBUTION, PURCHASES, rejected_frame
from .parsing import (
    appsflyer_time,
    campaign_key,
    decimal_micros,
    media_source_key,
    order_id_fast,
    order_ids_by_json,
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


def purchase_rows(raw: pl.DataFrame) -> pl.DataFrame:
    """Only ``af_purchase`` rows count; every other event is ignored entirely."""
    return raw.filter(pl.col("Event Name").fill_null("") == PURCHASE_EVENT)


def drop_non_primary(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows flagged ``false`` (trimmed, any case) repeat a primary row; other values are primary."""
    if PRIMARY_ATTRIBUTION not in rows.columns:
        return rows
    flag = pl.col(PRIMARY_ATTRIBUTION).fill_null("").str.strip_chars().str.to_lowercase()
    return rows.filter(flag != "false")


def check_purchases(rows: pl.DataFrame) -> pl.DataFrame:
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


def with_order_ids(valid: pl.DataFrame) -> pl.DataFrame:
    """`order_id` from Event Value; the rare documents the fast path cannot decide are parsed
    with a JSON parser, once per distinct text."""
    order_id, unsure = order_id_fast("Event Value")
    valid = valid.with_columns(order_id.alias("order_id"), unsure.alias("_unsure"))
    unsure_rows = valid.filter(pl.col("_unsure"))
    if unsure_rows.height:
        decided = order_ids_by_json(unsure_rows.get_column("Event Value").fill_null(""))
        valid = (
            valid.join(
                decided,
                left_on=pl.col("Event Value").fill_null(""),
                right_on="event_value",
                how="left",
                maintain_order="left",
            )
            .with_columns(
                pl.when(pl.col("_unsure"))
                .then(pl.col("order_id_json"))
                .otherwise(pl.col("order_id"))
                .alias("order_id")
            )
            .drop("order_id_json")
        )
        if "event_value" in valid.columns:
            valid = valid.drop("event_value")
    return valid.drop("_unsure")


def deduplicate(valid: pl.DataFrame) -> pl.DataFrame:
    """First occurrence in file order of each order id, and of each set of equal values among
    rows without an order id (the two kinds never duplicate each other)."""
    with_id = valid.filter(pl.col("order_id").is_not_null()).unique(
        subset=["order_id"], keep="first", maintain_order=True
    )
    without_id = valid.filter(pl.col("order_id").is_null()).unique(
        subset=["appsflyer_id", "user_id", "event_time", "revenue_micros", "currency"],
        keep="first",
        maintain_order=True,
    )
    return pl.concat([with_id, without_id]).sort(LINE)


def curate_purchases(raw: pl.DataFrame, columns: list[str]) -> CuratedPurchases:
    """Step 1 on the raw AppsFlyer export (all columns as text, with `LINE`)."""
    rows = purchase_rows(raw)
    primary = drop_non_primary(rows)
    checked = check_purchases(primary)
    rejected = rejected_frame(PURCHASES, checked.filter(pl.col("reason").is_not_null()), columns)
    valid = checked.filter(pl.col("reason").is_null()).select(
        LINE,
        "event_time",
        pl.col("Customer User ID").fill_null("").alias("user_id"),
        pl.col("AppsFlyer ID").fill_null("").alias("appsflyer_id"),
        media_source_key("Media Source").alias("media_source"),
        campaign_key("Media Source", "Campaign").alias("campaign"),
        pl.col("Platform").fill_null("").alias("platform"),
        "revenue_micros",
        "currency",
        "revenue_usd_micros",
        "Event Value",
    )
    valid = with_order_ids(valid).drop("Event Value")
    purchases = deduplicate(valid)
    purchases = purchases.with_row_index("af_pos").with_columns(
        pl.col("af_pos").cast(pl.Int64), pl.col(LINE).cast(pl.Int64).alias("line")
    )
    return CuratedPurchases(
        purchases=purchases.drop(LINE),
        rejected=rejected,
        appsflyer_rows=rows.height,
        non_primary_dropped=rows.height - primary.height,
        duplicates_removed=valid.height - purchases.height,
    )
