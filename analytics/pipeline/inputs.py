"""Finding, checking and scanning the four input files.

Every CSV column is read as text (no inference) so that a rejected row keeps its original text,
and every value is parsed by `parsing`. A parquet input is cast to text the same way, except that
timestamp columns are written as ISO text in UTC first.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# Optional columns a step reads when they exist.
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    PURCHASES: (PRIMARY_ATTRIBUTION,),
    GATEWAY: (),
    COSTS: (),
    SESSIONS: (),
}

# The 1-based line of a record, the header being line 1 (also for records spanning lines).
LINE = "__line__"
# Every input column the steps do not use is kept (for the rejected rows' original text) under
# a generated name: the NUL prefix never occurs in a name the pipeline uses itself, so internal
# columns (`LINE`, "reason", parsed values, ...) never meet an input's own header names.
EXTRA_PREFIX = "\x00input column "


def used_columns(name: str) -> tuple[str, ...]:
    """The columns of input `name` that some step reads: required, then optional."""
    return REQUIRED_COLUMNS[name] + OPTIONAL_COLUMNS[name]


@dataclass(frozen=True)
class Header:
    """An input's header as written (`names`, in order, repeats and empty names included) and
    the frame column holding each (`columns`): a used column under its contract name, every
    other one under a generated name (`EXTRA_PREFIX`)."""

    names: tuple[str, ...]
    columns: tuple[str, ...]

    @classmethod
    def plain(cls, names: Iterable[str]) -> Header:
        """A header whose frame columns are its own names (unique names; tests, parquet)."""
        names = tuple(names)
        return cls(names=names, columns=names)

    @classmethod
    def of(cls, input_name: str, names: Iterable[str]) -> Header:
        names = tuple(names)
        used = set(used_columns(input_name))
        columns = tuple(
            name if name in used else f"{EXTRA_PREFIX}{index}" for index, name in enumerate(names)
        )
        return cls(names=names, columns=columns)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def used(self) -> list[str]:
        """The frame columns some step reads (those not under a generated name)."""
        return [column for column in self.columns if not column.startswith(EXTRA_PREFIX)]

    def raw(self) -> list[tuple[str, str]]:
        """(original name, frame column) of every column, in header order."""
        return list(zip(self.names, self.columns, strict=True))


@dataclass(frozen=True)
class InputFile:
    name: str
    path: Path
    header: Header


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


def _is_parquet(path: Path) -> bool:
    return path.name.endswith(".parquet")


def scan_input(source: InputFile) -> pl.LazyFrame:
    """All columns as text under the frame names of `source.header`, plus the record's line
    number in `LINE`."""
    header = source.header
    if _is_parquet(source.path):
        lazy = pl.scan_parquet(source.path)
        text_columns = []
        for (column, dtype), frame_name in zip(
            lazy.collect_schema().items(), header.columns, strict=True
        ):
            expr = pl.col(column)
            if isinstance(dtype, pl.Datetime):
                if dtype.time_zone is not None:
                    expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                expr = expr.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
            text_columns.append(expr.cast(pl.String).alias(frame_name))
        lazy = lazy.select(text_columns)
    else:
        # Renamed by position right after parsing: repeated or colliding header names never
        # reach a query. Only the columns a query selects are materialised.
        lazy = pl.scan_csv(source.path, **_csv_options(header))
    return lazy.with_row_index(LINE, offset=2)


def _csv_options(header: Header) -> dict[str, Any]:
    """How every CSV input is parsed (the main pass and the read-back of rejected rows)."""
    return {
        "infer_schema": False,
        "empty_string_is_null": False,
        "truncate_ragged_lines": True,
        "raise_if_empty": True,
        "new_columns": list(header.columns),
    }


def _csv_header(path: Path) -> list[str]:
    """The first record of a CSV file as written (polars renames repeats, so it is read here)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def _unreadable(path: Path, error: BaseException) -> PipelineInputError:
    text = str(error).strip()
    first_line = text.splitlines()[0] if text else type(error).__name__
    return PipelineInputError(f"{path.name}: unreadable ({first_line})")


def read_header(name: str, path: Path) -> InputFile:
    """The header of an input, checked: every required column present, and no used column
    named twice. Nothing is read beyond the header."""
    try:
        if _is_parquet(path):
            names = list(pl.scan_parquet(path).collect_schema().names())
        else:
            width = len(
                pl.scan_csv(path, infer_schema=False, n_rows=0, raise_if_empty=True)
                .collect_schema()
                .names()
            )
            names = _csv_header(path)
            if len(names) != width:
                raise PipelineInputError(
                    f"{path.name}: unreadable (header of {len(names)} columns read as {width})"
                )
    except PipelineInputError:
        raise
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, csv.Error) as error:
        raise _unreadable(path, error) from error
    for column in used_columns(name):
        positions = [str(index + 1) for index, value in enumerate(names) if value == column]
        if len(positions) > 1:
            raise PipelineInputError(
                f"{path.name}: column {column!r} is named {len(positions)} times in the header "
                f"(columns {', '.join(positions)})"
            )
    empty = [str(index + 1) for index, value in enumerate(names) if value.strip() == ""]
    for column in REQUIRED_COLUMNS[name]:
        if column not in names:
            hint = f" (header column {', '.join(empty)} has no name)" if empty else ""
            raise PipelineInputError(f"{path.name}: missing required column {column!r}{hint}")
    return InputFile(name=name, path=path, header=Header.of(name, names))


def rejected_frame(
    name: str, checked: pl.DataFrame, header: Header, reason: str | pl.Expr = "reason"
) -> pl.DataFrame:
    """Rows of `checked` turned into rejected rows: file, line, reason, raw."""
    reason_expr = pl.col(reason) if isinstance(reason, str) else reason
    return checked.select(
        pl.lit(name).alias("file"),
        pl.col(LINE).cast(pl.Int64).alias("line"),
        reason_expr.alias("reason"),
        raw_json(header.raw()).alias("raw"),
    )


def rows_by_line(
    raw: pl.LazyFrame, reasons: pl.DataFrame, header: Header, path: Path | None = None
) -> pl.DataFrame:
    """Every column's original text of the rows listed in `reasons` (`LINE`, reason, and the
    text of any used columns, which is checked against what is read back), in the order of
    `reasons`. For a plain CSV file (`path`) only the lines of those records are parsed again;
    otherwise (or when the file's lines do not map to its records simply) a second pass over
    `raw` is filtered to those lines. Nothing is read again when there are none."""
    columns = list(header.columns)
    if reasons.height == 0:
        return pl.DataFrame(
            schema={LINE: pl.UInt32, **dict.fromkeys(columns, pl.String), "reason": pl.String}
        )
    lines = reasons.get_column(LINE)
    found = None
    if path is not None and path.name.endswith(".csv"):
        found = _records_from_text(path, header, lines)
        known = [column for column in reasons.columns if column in columns]
        if found is not None and not _agrees(found, reasons, known):
            found = None
    if found is None:
        found = (
            raw.select(LINE, *columns)
            .filter(pl.col(LINE).is_in(lines.implode()))
            .collect(engine="streaming")
        )
    return (
        reasons.select(LINE, "reason")
        .join(found, on=LINE, how="left", maintain_order="left")
        .select(LINE, *columns, "reason")
    )


def _agrees(found: pl.DataFrame, reasons: pl.DataFrame, known: list[str]) -> bool:
    """Whether the records read back are those of `reasons`: same lines, and the same text
    in every used column `reasons` carries (where it has one)."""
    if found.height != reasons.height:
        return False
    both = reasons.select(LINE, *known).join(
        found.select(LINE, *known), on=LINE, how="left", suffix="_found"
    )
    same = [
        (pl.col(column).is_null() | pl.col(column).eq_missing(pl.col(f"{column}_found"))).all()
        for column in known
    ]
    return not known or bool(both.select(pl.all_horizontal(same)).item())


def _records_from_text(path: Path, header: Header, lines: pl.Series) -> pl.DataFrame | None:
    """The records numbered `lines` (`LINE`) of a CSV file, parsed as the main pass parses
    them, from the text of their physical lines alone; None when the physical lines cannot be
    mapped to records here (line ends other than \\n, which the line reader drops).

    A record spans lines while its count of quote characters is odd, so the physical lines
    with an odd count of quotes (few, usually none) give the map from records to lines.
    """
    wanted = sorted(set((lines - 1).to_list()) | {0})
    physical = pl.scan_lines(path, name="text", row_index_name="_index")

    def text_of(indexes: list[int]) -> pl.LazyFrame:
        chosen = pl.Series(indexes, dtype=pl.UInt32).implode()
        return physical.filter(pl.col("_index").is_in(chosen)).select("text")

    # One pass gives the lines with an odd count of quotes, the size check, and the text of
    # the wanted records for the common case of records on one line each.
    odd, size, text = pl.collect_all(
        [
            physical.filter(pl.col("text").str.count_matches('"', literal=True) % 2 == 1).select(
                "_index"
            ),
            physical.select(
                pl.col("text").str.len_bytes().sum().alias("bytes"), pl.len().alias("lines")
            ),
            text_of(wanted),
        ],
        engine="streaming",
    )
    with path.open("rb") as handle:
        handle.seek(0, 2)
        total = handle.tell()
        handle.seek(max(total - 1, 0))
        ends_with_newline = handle.read(1) == b"\n"
    line_count = int(size.item(0, "lines"))
    newlines = line_count if ends_with_newline else line_count - 1
    if int(size.item(0, "bytes") or 0) + newlines != total:
        return None
    toggles = odd.get_column("_index").to_list()
    if len(toggles) % 2:
        return None
    physical_lines = wanted
    if toggles:
        # The lines t1..t2 of each pair of odd lines hold one record.
        spans = dict(zip(toggles[0::2], toggles[1::2], strict=True))
        chosen = set(wanted)
        physical_lines = []
        index, record, last = 0, 0, wanted[-1]
        while record <= last:
            end = spans.get(index, index)
            if record in chosen:
                physical_lines.extend(range(index, end + 1))
            record += 1
            index = end + 1
        text = text_of(physical_lines).collect(engine="streaming")
    if text.height != len(physical_lines):
        return None
    data = ("\n".join(text.get_column("text").to_list()) + "\n").encode()
    parsed = pl.read_csv(data, **_csv_options(header))
    if parsed.height != len(wanted) - 1:
        return None
    return parsed.with_columns(
        pl.Series(LINE, [record + 1 for record in wanted[1:]], dtype=pl.UInt32)
    ).select(LINE, *header.columns)


REJECTED_SCHEMA = {"file": pl.String, "line": pl.Int64, "reason": pl.String, "raw": pl.String}
