"""Step 2: the payment gateway ledger."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .inputs import GATEWAY, LINE, Header, rejected_frame, rows_by_line
from .parsing import decimal_micros, iso_time

PURCHASE = "purchase"
REFUND = "refund"
CHARGEBACK = "chargeback"
CHARGEBACK_REVERSAL = "chargeback_reversal"
EVENT_TYPES = (PURCHASE, REFUND, CHARGEBACK, CHARGEBACK_REVERSAL)
CONTRACT_VALUES = (
    "transaction_id",
    "user_id",
    "event_time",
    "event_type",
    "amount_micros",
    "currency",
    "amount_usd_micros",
)
CONFLICTING = "conflicting purchase"


@dataclass(frozen=True)
class GatewayRows:
    """Valid gateway rows after step 2.

    `purchases`: gw_idx, line, transaction_id (unique), user_id, event_time, amount_micros,
    currency, amount_usd_micros. `reversals`: line, transaction_id, event_time, event_type,
    amount_usd_micros (orphans included).
    """

    purchases: pl.DataFrame
    reversals: pl.DataFrame
    rejected: pl.DataFrame


def check_gateway(raw: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Parsed values plus `reason` (null when valid; the first failing column otherwise)."""
    parsed = raw.lazy().with_columns(
        pl.col("transaction_id").fill_null("").alias("_transaction_id"),
        pl.col("user_id").fill_null("").alias("_user_id"),
        iso_time("event_time").alias("_event_time"),
        pl.col("event_type").fill_null("").alias("_event_type"),
        decimal_micros("amount").alias("amount_micros"),
        pl.col("currency").fill_null("").alias("_currency"),
        decimal_micros("amount_usd").alias("amount_usd_micros"),
    )
    reason = (
        pl.when(pl.col("_transaction_id") == "")
        .then(pl.lit("empty transaction_id"))
        .when(pl.col("_event_time").is_null())
        .then(pl.lit("bad event_time"))
        .when(~pl.col("_event_type").is_in(EVENT_TYPES))
        .then(pl.lit("unknown event_type"))
        .when(pl.col("amount_micros").is_null())
        .then(pl.lit("bad amount"))
        .when(pl.col("amount_micros") <= 0)
        .then(pl.lit("amount not positive"))
        .when(pl.col("_currency") == "")
        .then(pl.lit("empty currency"))
        .when(pl.col("amount_usd_micros").is_null())
        .then(pl.lit("bad amount_usd"))
        .when(pl.col("amount_usd_micros") <= 0)
        .then(pl.lit("amount_usd not positive"))
    )
    return parsed.with_columns(reason.alias("reason"))


def prepare_gateway(
    raw: pl.DataFrame | pl.LazyFrame, header: Header, path: Path | None = None
) -> GatewayRows:
    """Step 2: one row per set of identical rows, then conflicting purchases rejected (every
    file line of them) and their reversals left as orphans.

    One streaming pass over the used columns collects the parsed values; the original text of
    every column of the invalid rows and the conflicting purchases (known only after the
    deduplication) is read back by line (from `path` when given), only when there are some.
    """
    lazy = raw.lazy()
    rows = check_gateway(lazy)
    # The valid rows straight from the pass (no frame of every row beside them), and at most
    # two copies of them at once: the rows and their distinct rows.
    values, invalid_reasons = pl.collect_all(
        [
            rows.filter(pl.col("reason").is_null()).select(
                LINE,
                pl.col("_transaction_id").alias("transaction_id"),
                pl.col("_user_id").alias("user_id"),
                pl.col("_event_time").alias("event_time"),
                pl.col("_event_type").alias("event_type"),
                "amount_micros",
                pl.col("_currency").alias("currency"),
                "amount_usd_micros",
            ),
            rows.filter(pl.col("reason").is_not_null()).select(LINE, *header.used(), "reason"),
        ],
        engine="streaming",
    )
    distinct = values.unique(subset=list(CONTRACT_VALUES), keep="first", maintain_order=True)
    is_purchase = pl.col("event_type") == PURCHASE
    conflicting_ids = (
        distinct.lazy()
        .filter(is_purchase)
        .group_by("transaction_id")
        .len()
        .filter(pl.col("len") > 1)
        .collect()
        .get_column("transaction_id")
    )
    conflicting = values.filter(
        is_purchase & pl.col("transaction_id").is_in(conflicting_ids.implode())
    ).select(LINE, "transaction_id", pl.lit(CONFLICTING).alias("reason"))
    del values
    # A valid transaction id is its original text (never empty, so never a missing field).
    reasons = pl.concat([invalid_reasons, conflicting], how="diagonal").sort(LINE)
    rejected_rows = rows_by_line(lazy, reasons, header, path)
    rejected = rejected_frame(GATEWAY, rejected_rows, header)
    purchases = (
        distinct.filter(is_purchase & ~pl.col("transaction_id").is_in(conflicting_ids.implode()))
        .with_row_index("gw_idx")
        .select(
            pl.col("gw_idx").cast(pl.Int64),
            pl.col(LINE).cast(pl.Int64).alias("line"),
            "transaction_id",
            "user_id",
            "event_time",
            "amount_micros",
            "currency",
            "amount_usd_micros",
        )
    )
    reversals = distinct.filter(~is_purchase).select(
        pl.col(LINE).cast(pl.Int64).alias("line"),
        "transaction_id",
        "event_time",
        "event_type",
        "amount_usd_micros",
    )
    return GatewayRows(purchases=purchases, reversals=reversals, rejected=rejected)
