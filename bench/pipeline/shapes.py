"""Data shapes of the pipeline benchmark: the demo data rewritten the way real exports differ.

Each shape is a directory of the four inputs derived from a generated demo dataset (`base`) by a
polars rewrite, or generated with other parameters (`players`). A shape changes what the data
looks like, never how much of it there is (except `sessions`, whose players multiply):

* `base`: `manage.py generate_demo_data` as it is (a third as many players as purchases);
* `players`: as many distinct players as purchases (1M at 1M purchases), in every input;
* `event_value`: Event Value JSON with the order id not first, among extra members (a nested
  object, numbers, an escaped quote in some);
* `extra_columns`: the full AppsFlyer raw in-app events header (fixtures/exports/build.py), a
  gateway export with its own columns (`reason`, `status`, `order_id`, ...), costs and sessions
  with columns of their own;
* `sessions`: sessions 5x purchases with high-cardinality users: each session's player split in
  eight, so several times as many distinct players per day as in `base`;
* `restated`: every cost row restated four times (the last valid row wins), some restatements
  unparseable.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "fixtures" / "exports"))

from build import APPSFLYER_HEADER, COSTS_HEADER, GATEWAY_HEADER, SESSIONS_HEADER  # noqa: E402

INPUTS = ("purchases_raw", "confirmed_purchases", "costs_daily", "sessions")
SHAPES = ("base", "players", "event_value", "extra_columns", "sessions", "restated")


def _scan(source: Path, name: str) -> pl.LazyFrame:
    return pl.scan_csv(source / f"{name}.csv", infer_schema=False, empty_string_is_null=False)


def _link(source: Path, target: Path, names: tuple[str, ...]) -> None:
    for name in names:
        path = target / f"{name}.csv"
        path.unlink(missing_ok=True)
        path.hardlink_to(source / f"{name}.csv")


def _event_value(source: Path, target: Path) -> None:
    index = pl.int_range(pl.len())
    value = pl.col("Event Value")
    rewritten = (
        pl.when(value.str.starts_with('{"'))
        .then(
            pl.concat_str(
                pl.lit('{"af_content_id":"gems_'),
                (index % 7).cast(pl.String),
                pl.lit('","af_quantity":'),
                (index % 3 + 1).cast(pl.String),
                pl.lit(',"af_price":4.99,"af_meta":{"store":"play","sku":"p'),
                (index % 11).cast(pl.String),
                pl.when(index % 50 == 0).then(pl.lit('\\"x')).otherwise(pl.lit("")),
                pl.lit('"},'),
                value.str.slice(1),
            )
        )
        .otherwise(value)
    )
    _scan(source, "purchases_raw").with_columns(rewritten.alias("Event Value")).sink_csv(
        target / "purchases_raw.csv"
    )
    _link(source, target, ("confirmed_purchases", "costs_daily", "sessions"))


def _filler(column: str) -> pl.Expr:
    index = pl.int_range(pl.len())
    if column == "reason":
        return pl.when(index % 9 == 0).then(pl.lit("requested_by_customer")).otherwise(pl.lit(""))
    return pl.concat_str(
        pl.lit(column.lower().replace(" ", "_")[:6] + "-"), (index % 97).cast(pl.String)
    )


def _with_header(source: Path, target: Path, name: str, header: list[str]) -> None:
    lazy = _scan(source, name)
    present = set(lazy.collect_schema().names())
    extra_present = [c for c in lazy.collect_schema().names() if c not in header]
    lazy.select(
        *(pl.col(c) if c in present else _filler(c).alias(c) for c in header),
        *extra_present,
    ).sink_csv(target / f"{name}.csv")


def _extra_columns(source: Path, target: Path) -> None:
    _with_header(source, target, "purchases_raw", APPSFLYER_HEADER)
    _with_header(source, target, "confirmed_purchases", GATEWAY_HEADER)
    _with_header(source, target, "costs_daily", COSTS_HEADER)
    _with_header(source, target, "sessions", SESSIONS_HEADER)


def _sessions(source: Path, target: Path) -> None:
    index = pl.int_range(pl.len())
    _scan(source, "sessions").with_columns(
        pl.when(pl.col("user_id") != "")
        .then(pl.concat_str(pl.col("user_id"), pl.lit("-"), (index % 8).cast(pl.String)))
        .otherwise(pl.col("user_id"))
        .alias("user_id")
    ).sink_csv(target / "sessions.csv")
    _link(source, target, ("purchases_raw", "confirmed_purchases", "costs_daily"))


def _restated(source: Path, target: Path) -> None:
    costs = pl.read_csv(source / "costs_daily.csv", infer_schema=False)
    versions = [
        costs.with_columns(
            pl.when(pl.int_range(pl.len()) % 5 == version)
            .then(pl.lit("n/a"))
            .otherwise(
                pl.col("cost_usd")
                .cast(pl.Float64, strict=False)
                .mul(1 + version / 10)
                .round(2)
                .cast(pl.String)
            )
            .alias("cost_usd")
        )
        for version in range(1, 5)
    ]
    pl.concat([*versions, costs]).write_csv(target / "costs_daily.csv")
    _link(source, target, ("purchases_raw", "confirmed_purchases", "sessions"))


DERIVED: dict[str, Callable[[Path, Path], None]] = {
    "event_value": _event_value,
    "extra_columns": _extra_columns,
    "sessions": _sessions,
    "restated": _restated,
}


def derive(shape: str, base: Path, target: Path) -> None:
    """Write shape `shape` of the `base` data into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    DERIVED[shape](base, target)
