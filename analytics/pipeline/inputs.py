"""Finding, checking and scanning the four input files.

Every CSV column is read as text (no inference) so that a rejected row keeps its original text,
and every value is parsed by `parsing`. A parquet input is cast to text the same way, except that
timestamp columns are written as ISO text in UTC first.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .errors import PipelineInputError
from .parsing import raw_json

PURCHASES = "purchases_raw"
GATEWAY = "confirmed_purchases"
COSTS = "costs_daily"
SESSIONS = "sessions"
INPUT_NAMES = (PURCHASES, GATEWAY, COSTS, SESSIONS)
INPUT_SUFFIXES = (".csv", ".csv.gz", ".parquet")

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    PURCHASES: (
        "Event Time",
        "Event Name",
        "Event Revenue",
        "Event Revenue Currency",
        "Event Revenue USD",
        "Event Value",
        "AppsFlyer ID",
        "Customer User ID",
        "Media Source",
        "Campaign",
        "Platform",
    ),
    GATEWAY: (
        "transaction_id",
        "user_id",
        "event_time",
        "event_type",
        "amount",
        "currency",
        "amount_usd",
    ),
    COSTS: ("date", "media_source", "campaign", "cost_usd"),
    SESSIONS: ("user_id", "session_start", "media_source", "campaign"),
}
PRIMARY_ATTRIBUTION = "Is Primary Attribution"

# The 1-based line of a record, the header being line 1 (also for records spanning lines).
LINE = "__line__"


def resolve_inputs(data_dir: Path) -> dict[str, Path]:
    """The one file of each input; missing or ambiguous inputs fail before anything is read."""
    resolved: dict[str, Path] = {}
    for name in INPUT_NAMES:
        found = [data_dir / f"{name}{suffix}" for suffix in INPUT_SUFFIXES]
        found = [path for path in found if path.is_file()]
        if not found:
            raise PipelineInputError(
                f"{name}: missing input file ({name}.csv, {name}.csv.gz or {name}.parquet "
                f"in {data_dir})"
            )
        if len(found) > 1:
            names = ", ".join(path.name for path in found)
            raise PipelineInputError(f"{name}: ambiguous input, several files: {names}")
        resolved[name] = found[0]
    return resolved


def scan_input(path: Path) -> pl.LazyFrame:
    """All columns as text, plus the record's line number in `LINE`."""
    if path.name.endswith(".parquet"):
        lazy = pl.scan_parquet(path)
        text_columns = []
        for column, dtype in lazy.collect_schema().items():
            expr = pl.col(column)
            if isinstance(dtype, pl.Datetime):
                if dtype.time_zone is not None:
                    expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                expr = expr.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
            text_columns.append(expr.cast(pl.String).alias(column))
        lazy = lazy.select(text_columns)
    else:
        lazy = pl.scan_csv(
            path,
            infer_schema=False,
            empty_string_is_null=False,
            truncate_ragged_lines=True,
            raise_if_empty=True,
        )
    return lazy.with_row_index(LINE, offset=2)


def input_columns(name: str, path: Path) -> list[str]:
    """The header of an input, checked for its required columns."""
    try:
        if path.name.endswith(".parquet"):
            columns = list(pl.scan_parquet(path).collect_schema().names())
        else:
            columns = list(
                pl.scan_csv(path, infer_schema=False, n_rows=0, raise_if_empty=True)
                .collect_schema()
                .names()
            )
    except (pl.exceptions.PolarsError, OSError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise PipelineInputError(f"{path.name}: unreadable ({first_line})") from error
    for column in REQUIRED_COLUMNS[name]:
        if column not in columns:
            raise PipelineInputError(f"{path.name}: missing required column {column!r}")
    return columns


def rejected_frame(
    name: str, checked: pl.DataFrame, columns: list[str], reason: str | pl.Expr = "reason"
) -> pl.DataFrame:
    """Rows of `checked` turned into rejected rows: file, line, reason, raw."""
    reason_expr = pl.col(reason) if isinstance(reason, str) else reason
    return checked.select(
        pl.lit(name).alias("file"),
        pl.col(LINE).cast(pl.Int64).alias("line"),
        reason_expr.alias("reason"),
        raw_json(columns).alias("raw"),
    )


def rows_by_line(raw: pl.LazyFrame, reasons: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Every column's original text of the rows listed in `reasons` (`LINE`, reason), in the
    order of `reasons`: a second pass over the input filtered to those lines (nothing is read
    again when there are none)."""
    if reasons.height == 0:
        return pl.DataFrame(
            schema={LINE: pl.UInt32, **dict.fromkeys(columns, pl.String), "reason": pl.String}
        )
    lines = reasons.get_column(LINE)
    found = (
        raw.select(LINE, *columns)
        .filter(pl.col(LINE).is_in(lines.implode()))
        .collect(engine="streaming")
    )
    return reasons.join(found, on=LINE, how="left", maintain_order="left").select(
        LINE, *columns, "reason"
    )


REJECTED_SCHEMA = {"file": pl.String, "line": pl.Int64, "reason": pl.String, "raw": pl.String}
