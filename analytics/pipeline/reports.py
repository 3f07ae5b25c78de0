"""The six report files: rounding, formatting and atomic writing.

Rounding: every figure is rounded half-to-even ("banker's rounding") on its exact decimal value --
money from integer micro-units, ``time_diff_seconds`` from integer microseconds, ratios from exact
``Decimal`` quotients where the report computes them -- to 2 decimals for money, 4 for ratios and
ARPDAU, 3 for seconds. The contract fixes the decimals but not how ties go; half-to-even is the
default of Python's ``Decimal`` and of polars' ``round``, carries no upward bias into the totals
the UA team sums from these files, and is what the reference implementation in the tests uses.

Files are written to temporary names in the reports directory and renamed only when all six are
complete, so a failure leaves the previous reports in place.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import tempfile
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import polars as pl

CENT_MICROS = 10_000
MILLI_MICROS = 1_000
MONEY_QUANTUM = Decimal("0.01")
RATIO_QUANTUM = Decimal("0.0001")

CURATED_FILE = "purchases_curated.csv"
RECONCILIATION_FILE = "reconciliation.json"
ROAS_FILE = "roas_d1.json"
ANOMALY_FILE = "roas_anomaly.json"
ARPDAU_FILE = "arpdau_d1.json"
REJECTED_FILE = "rejected_rows.csv"
REPORT_FILES = (
    CURATED_FILE,
    RECONCILIATION_FILE,
    ROAS_FILE,
    ANOMALY_FILE,
    ARPDAU_FILE,
    REJECTED_FILE,
)


# --------------------------------------------------------------------------------------------
# Rounding and formatting, vectorised (CSV) and scalar (JSON)


def round_half_even_div(value: pl.Expr, unit: int) -> pl.Expr:
    """``value / unit`` rounded half-to-even, on integers (``unit`` even)."""
    quotient = value // unit
    remainder = value % unit  # floor modulo: 0 <= remainder < unit, also for negatives
    half = unit // 2
    round_up = (remainder > half) | ((remainder == half) & (quotient % 2 != 0))
    return quotient + round_up.cast(pl.Int64)


def fixed_point_text(units: pl.Expr, decimals: int) -> pl.Expr:
    """An integer count of 10**-decimals as text with exactly `decimals` decimals.

    Through an exact decimal: the integer cast to a decimal of that scale and divided by the
    scale keeps the scale, and polars writes decimals with all their digits.
    """
    return (units.cast(pl.Decimal(38, decimals)) / 10**decimals).cast(pl.String)


def money_text(micros: pl.Expr) -> pl.Expr:
    return fixed_point_text(round_half_even_div(micros, CENT_MICROS), 2)


def seconds_text(microseconds: pl.Expr) -> pl.Expr:
    return fixed_point_text(round_half_even_div(microseconds, MILLI_MICROS), 3)


def time_text(moment: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``: the fraction only when it is not zero."""
    return moment.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").str.replace(".000000Z", "Z", literal=True)


def _json_number(value: Decimal) -> float:
    number = float(value)
    return 0.0 if number == 0 else number  # never "-0.0"


def money_value(micros: int) -> float:
    exact = Decimal(micros).scaleb(-6)
    return _json_number(exact.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN))


def ratio_value(value: Decimal | float | None) -> float | None:
    if value is None:
        return None
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return _json_number(exact.quantize(RATIO_QUANTUM, rounding=ROUND_HALF_EVEN))


def ratio_of(numerator: int, denominator: int) -> Decimal | None:
    return None if denominator == 0 else Decimal(numerator) / Decimal(denominator)


def micros_ratio_value(numerator_micros: int, denominator: int) -> float | None:
    """A money amount in micro-units divided by a count (ARPDAU), rounded to 4 decimals."""
    if denominator == 0:
        return None
    return ratio_value(Decimal(numerator_micros).scaleb(-6) / Decimal(denominator))


# --------------------------------------------------------------------------------------------
# Report contents


def curated_frame(curated: pl.DataFrame) -> pl.LazyFrame:
    """`purchases_curated.csv` from the reconciled purchases (file order), as a query that
    `write_reports` streams to the file (formatting and writing in one pass).

    `curated` columns: event_time, user_id, appsflyer_id, media_source, campaign, platform,
    revenue_micros, currency, revenue_usd_micros, order_id, match_status, transaction_id,
    time_diff_us, confirmed_micros, reversed_micros, net_micros (the last five null/0 when
    unmatched).
    """
    # Lazy, so that each rounded figure is computed once for its several uses.
    return curated.lazy().select(
        time_text(pl.col("event_time")).alias("event_time"),
        "user_id",
        "appsflyer_id",
        "media_source",
        "campaign",
        "platform",
        money_text(pl.col("revenue_micros")).alias("revenue"),
        "currency",
        money_text(pl.col("revenue_usd_micros")).alias("revenue_usd"),
        pl.col("order_id").fill_null(""),
        "match_status",
        pl.col("transaction_id").fill_null(""),
        seconds_text(pl.col("time_diff_us")).fill_null("").alias("time_diff_seconds"),
        money_text(pl.col("confirmed_micros").fill_null(0)).alias("confirmed_usd"),
        money_text(pl.col("reversed_micros").fill_null(0)).alias("reversed_usd"),
        money_text(pl.col("net_micros").fill_null(0)).alias("net_usd"),
    )


def roas_report(report_date: datetime.date, roas_today: pl.DataFrame) -> dict[str, Any]:
    campaigns = [
        {
            "media_source": row["media_source"],
            "campaign": row["campaign"],
            "cost_usd": money_value(row["cost_micros"]),
            "gross_revenue_usd": money_value(row["gross_micros"]),
            "reversed_usd": money_value(row["reversed_micros"]),
            "revenue_usd": money_value(row["revenue_micros"]),
            "roas": ratio_value(ratio_of(row["revenue_micros"], row["cost_micros"])),
        }
        for row in roas_today.sort("media_source", "campaign").iter_rows(named=True)
    ]
    return {"date": report_date.isoformat(), "campaigns": campaigns}


def anomaly_entry(anomaly: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "media_source": anomaly["media_source"],
        "campaign": anomaly["campaign"],
        "roas": ratio_value(anomaly["roas"]),
        "baseline_roas": ratio_value(anomaly["baseline_roas"]),
        "baseline_days": anomaly["baseline_days"],
        "drop": ratio_value(anomaly["drop"]),
        "mean": ratio_value(anomaly["mean"]),
        "std": ratio_value(anomaly["std"]),
        "z": ratio_value(anomaly["z"]),
        "cost_usd": money_value(anomaly["cost_micros"]),
        "revenue_usd": money_value(anomaly["revenue_micros"]),
    }


def anomaly_report(
    report_date: datetime.date, rule: Mapping[str, Any], entries: list[dict[str, Any]]
) -> dict[str, Any]:
    return {"date": report_date.isoformat(), "rule": dict(rule), "anomalies": entries}


def arpdau_report(
    report_date: datetime.date, campaigns_today: pl.DataFrame, total_today: pl.DataFrame
) -> dict[str, Any]:
    total_revenue = int(total_today.get_column("revenue_micros").sum() or 0)
    total_dau = int(total_today.get_column("dau").sum() or 0)
    campaigns = [
        {
            "media_source": row["media_source"],
            "campaign": row["campaign"],
            "revenue_usd": money_value(row["revenue_micros"]),
            "dau": row["dau"],
            "arpdau": micros_ratio_value(row["revenue_micros"], row["dau"]),
        }
        for row in campaigns_today.sort("media_source", "campaign").iter_rows(named=True)
    ]
    return {
        "date": report_date.isoformat(),
        "total": {
            "revenue_usd": money_value(total_revenue),
            "dau": total_dau,
            "arpdau": micros_ratio_value(total_revenue, total_dau),
        },
        "campaigns": campaigns,
    }


# --------------------------------------------------------------------------------------------
# Writing


def _write_json(handle: Any, content: Mapping[str, Any]) -> None:
    handle.write(json.dumps(content, indent=2, ensure_ascii=False).encode() + b"\n")


def write_reports(
    reports_dir: Path,
    *,
    curated: pl.LazyFrame,
    reconciliation: Mapping[str, Any],
    roas: Mapping[str, Any],
    anomaly: Mapping[str, Any],
    arpdau: Mapping[str, Any],
    rejected: pl.DataFrame,
) -> list[Path]:
    """Write all six files to temporary names, then rename them into place."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    writers: list[tuple[str, Any]] = [
        (CURATED_FILE, lambda h: curated.sink_csv(h.name)),
        (RECONCILIATION_FILE, lambda h: _write_json(h, reconciliation)),
        (ROAS_FILE, lambda h: _write_json(h, roas)),
        (ANOMALY_FILE, lambda h: _write_json(h, anomaly)),
        (ARPDAU_FILE, lambda h: _write_json(h, arpdau)),
        (REJECTED_FILE, lambda h: rejected.write_csv(h)),
    ]
    pending: list[tuple[Path, Path]] = []
    try:
        for name, write in writers:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, kept on success
                dir=reports_dir, prefix=f".{name}.", suffix=".tmp", delete=False
            )
            pending.append((Path(handle.name), reports_dir / name))
            with handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(handle.name, 0o644)  # readable like any report, not 0600
        for temporary, final in pending:
            os.replace(temporary, final)
    except BaseException:
        for temporary, _ in pending:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        raise
    return [final for _, final in pending]
