"""Vectorised parsers for the text values of the inputs.

Every parser takes a string expression and yields a typed expression that is null when the text
does not parse, so a validation step can turn the nulls into rejected rows. All of them validate
the full text with an anchored regular expression first (ASCII digits only) and then compute the
value from fixed positions, which is several times faster than a chrono format with optional
parts on millions of rows.

Conventions (PIPELINE.md "Precision"):

* money is an ``Int64`` number of micro-units (1 USD = 1_000_000); a value with more than six
  decimals is rounded half-to-even to the micro-unit; a value of 9,223,372,036,854.775808 or
  more (beyond ``Int64`` micro-units) does not parse;
* times are naive ``Datetime("us")`` values in UTC;
* a decimal is ``[+-]?digits[.digits]`` -- no exponent, no whitespace, no leading or trailing dot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import polars as pl

MICROS_PER_UNIT = 1_000_000
MICROS_PER_MINUTE = 60 * MICROS_PER_UNIT

DECIMAL_PATTERN = r"^[+-]?0*[0-9]{1,13}(?:\.[0-9]+)?$"
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
_ZONE = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])"
APPSFLYER_TIME_PATTERN = f"^{_DATE}[T ]{_CLOCK}$"
ISO_TIME_PATTERN = f"^{_DATE}[T ]{_CLOCK}{_ZONE}?$"
# An ISO time already in UTC (``Z`` or no zone): its day is its first ten characters.
UTC_TIME_PATTERN = f"^{_DATE}[T ]{_CLOCK}Z?$"
DATE_PATTERN = f"^{_DATE}$"

ORGANIC = "organic"


def _text(column: str | pl.Expr) -> pl.Expr:
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.fill_null("")


def decimal_micros(column: str | pl.Expr) -> pl.Expr:
    """``Int64`` micro-units of a decimal text, null when it is not a decimal."""
    text = _text(column)
    checked = pl.when(text.str.contains(DECIMAL_PATTERN)).then(text)
    return (checked.cast(pl.Decimal(38, 6), strict=False) * MICROS_PER_UNIT).cast(
        pl.Int64, strict=False
    )


def _clock_datetime(text: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Date + ``HH:MM:SS[.fraction]`` taken at fixed positions of an already validated text."""
    fraction = text.str.slice(19).str.extract(r"^\.([0-9]+)", 1)
    micros = fraction.str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int64).fill_null(0)
    return day.cast(pl.Datetime("us")) + pl.duration(
        hours=text.str.slice(11, 2).cast(pl.Int64, strict=False),
        minutes=text.str.slice(14, 2).cast(pl.Int64, strict=False),
        seconds=text.str.slice(17, 2).cast(pl.Int64, strict=False),
        microseconds=micros,
    )


def _calendar_date(text: pl.Expr) -> pl.Expr:
    # strptime rejects impossible days (2023-02-29, 2024-04-31) by returning null.
    return text.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def date_prefix(text: pl.Expr) -> pl.Expr:
    """The calendar date of the first ten characters of an already validated text."""
    return _calendar_date(text)


def appsflyer_time(column: str | pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD[ T]HH:MM:SS[.fraction]`` without a zone; null otherwise."""
    text = _text(column)
    valid = text.str.contains(APPSFLYER_TIME_PATTERN)
    return pl.when(valid).then(_clock_datetime(text, _calendar_date(text)))


def _zone_minutes(text: pl.Expr) -> pl.Expr:
    """Signed offset in minutes of a validated ISO text, null when it has none (or ``Z``)."""
    # The offset is within the last six characters, which never reach the date's hyphens.
    zone = text.str.slice(-6).str.extract(r"([+-][0-9]{2}):?([0-9]{2})$", 0)
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    return sign * (
        zone.str.slice(1, 2).cast(pl.Int64, strict=False) * 60
        + zone.str.slice(-2, 2).cast(pl.Int64, strict=False)
    )


def iso_time(column: str | pl.Expr) -> pl.Expr:
    """ISO 8601 date-time with seconds, optional fraction and optional ``Z``/``±HH:MM``/``±HHMM``
    zone; converted to UTC (no zone means UTC); null otherwise."""
    text = _text(column)
    valid = text.str.contains(ISO_TIME_PATTERN)
    local = _clock_datetime(text, _calendar_date(text))
    return pl.when(valid).then(
        local - pl.duration(minutes=_zone_minutes(text).fill_null(0)),
    )


def iso_day(column: str | pl.Expr) -> pl.Expr:
    """The UTC day of an ISO 8601 date-time (as `iso_time`), without building the time.

    Only the offset can move the day: local minutes of the day minus the offset, floored to
    whole days (seconds and fractions never cross midnight once the offset is in minutes).
    """
    text = _text(column)
    valid = text.str.contains(ISO_TIME_PATTERN)
    local_minutes = text.str.slice(11, 2).cast(pl.Int64, strict=False) * 60 + text.str.slice(
        14, 2
    ).cast(pl.Int64, strict=False)
    shift = ((local_minutes - _zone_minutes(text)) // 1440).fill_null(0)
    return pl.when(valid).then(_calendar_date(text) + pl.duration(days=shift))


def calendar_date(column: str | pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD``; null otherwise."""
    text = _text(column)
    return pl.when(text.str.contains(DATE_PATTERN)).then(_calendar_date(text))


def media_source_key(media_source: str | pl.Expr) -> pl.Expr:
    """Empty media source is ``organic``."""
    text = _text(media_source)
    return pl.when(text == "").then(pl.lit(ORGANIC)).otherwise(text)


def campaign_key(media_source: str | pl.Expr, campaign: str | pl.Expr) -> pl.Expr:
    """Organic traffic always has the empty campaign."""
    return (
        pl.when(media_source_key(media_source) == ORGANIC)
        .then(pl.lit(""))
        .otherwise(_text(campaign))
    )


# --------------------------------------------------------------------------------------------
# Order id from the AppsFlyer Event Value JSON

ORDER_ID_KEYS = ("af_order_id", "af_receipt_id")


def order_id_member(event_value: pl.Expr, key: str) -> tuple[pl.Expr, pl.Expr]:
    """(value, needs_full_parse) for one top-level member, decided without a JSON parser.

    ``json_path_match`` tells whether the document is a valid object with that member and gives
    its text, but not its JSON type ("123" and 123 read alike). When the text has no backslash
    and the quoted key occurs exactly once, that occurrence is the top-level key, so what follows
    its colon tells the type: a quote (string) or an integer literal (its digits as written). Any
    other document holding the member is left to the full parser.
    """
    member = event_value.str.json_path_match(f"$.{key}")
    simple = ~event_value.str.contains("\\", literal=True) & (
        event_value.str.count_matches(f'"{key}"', literal=True) == 1
    )
    is_string = event_value.str.contains(f'"{key}"' + r'\s*:\s*"')
    integer = event_value.str.extract(f'"{key}"' + r"\s*:\s*(-?(?:0|[1-9][0-9]*))\s*[,}]", 1)
    value = (
        pl.when(member.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(is_string)
        .then(pl.when(member != "").then(member))
        .otherwise(integer)
    )
    return value, member.is_not_null() & ~simple


_WS = r"[ \t\n\r]*"
_JSON_STRING = r'"[^"\\\x00-\x1f]*"'
_JSON_SCALAR = (
    f"(?:{_JSON_STRING}|-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)"
)


def _first_member_document(key: str) -> str:
    """A flat JSON object (no escapes) whose first member is `key` with a non-empty string (the
    most common shape, and the cheapest to recognise): group 1 is it."""
    return (
        f'^\\{{{_WS}"{key}"{_WS}:{_WS}"([^"\\\\\\x00-\\x1f]+)"{_WS}'
        f"(?:,{_WS}{_JSON_STRING}{_WS}:{_WS}{_JSON_SCALAR}{_WS})*\\}}$"
    )


_FLAT_OBJECT = (
    f"\\{{{_WS}(?:{_JSON_STRING}{_WS}:{_WS}{_JSON_SCALAR}{_WS}"
    f"(?:,{_WS}{_JSON_STRING}{_WS}:{_WS}{_JSON_SCALAR}{_WS})*)?\\}}"
)
_FLAT_ARRAY = f"\\[{_WS}(?:{_JSON_SCALAR}{_WS}(?:,{_WS}{_JSON_SCALAR}{_WS})*)?\\]"
_MEMBER = f"{_JSON_STRING}{_WS}:{_WS}(?:{_JSON_SCALAR}|{_FLAT_OBJECT}|{_FLAT_ARRAY}){_WS}"
_ID_VALUE = '"[^"\\\\\\x00-\\x1f]+"|-?(?:0|[1-9][0-9]*)'


def _plain_document(key: str) -> str:
    """A JSON object without escapes, its members' values scalars or flat objects and arrays of
    scalars, with a top-level member `key` whose value is a non-empty string or an integer.
    Exact only where `key` occurs once in the text: then no other member can be it. No capture
    group, so matching runs on the regex engine's DFA."""
    return (
        f"^\\{{{_WS}(?:{_MEMBER},{_WS})*"
        f'"{key}"{_WS}:{_WS}(?:{_ID_VALUE}){_WS}'
        f"(?:,{_WS}{_MEMBER})*\\}}$"
    )


def _member_value(key: str) -> str:
    """Group 1: the value of the first occurrence of `key` as a member with a non-empty string
    or an integer value, as written (a string with its quotes). On a `_plain_document` naming
    `key` once, that is its top-level member."""
    return f'"{key}"{_WS}:{_WS}({_ID_VALUE})'


def later_member_ids(texts: pl.Series) -> pl.Series:
    """The id of each text that is a `_plain_document` with ``af_order_id`` named once, or that
    never mentions ``af_order_id`` and is one with ``af_receipt_id`` named once (a string as its
    text, an integer as its digits); null for every other text. For what `plain_order_id` left
    undecided (the id after other members, flat objects among them): each regular expression
    runs only on the texts it may decide."""
    frame = texts.fill_null("").alias("text").to_frame()
    text = pl.col("text")
    once = {key: text.str.count_matches(f'"{key}"', literal=True) == 1 for key in ORDER_ID_KEYS}
    candidates = frame.with_row_index("_pos").with_columns(
        pl.when(once["af_order_id"])
        .then(pl.lit("af_order_id"))
        .when(
            ~text.str.contains("af_order_id", literal=True)
            & ~text.str.contains("\\", literal=True)
            & once["af_receipt_id"]
        )
        .then(pl.lit("af_receipt_id"))
        .alias("_key")
    )
    ids = pl.repeat(None, frame.height, dtype=pl.String, eager=True)
    for key in ORDER_ID_KEYS:
        # Two eager steps: in one lazy query polars would merge both filters into one
        # predicate and match the document's expression on every text.
        found = (
            candidates.filter(pl.col("_key") == key)
            .filter(text.str.contains(_plain_document(key)))
            .select(
                "_pos",
                text.str.extract(_member_value(key), 1)
                .str.strip_prefix('"')
                .str.strip_suffix('"')
                .alias("id"),
            )
        )
        if found.height:
            ids = ids.scatter(found.get_column("_pos"), found.get_column("id"))
    return ids


def plain_order_id(event_value: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(order id, decided) of the common Event Value shapes, without a JSON parser.

    Decided: a flat document (`_first_member_document`) whose first member is ``af_order_id``
    and that names it once; one that never mentions ``af_order_id`` and whose first member is
    ``af_receipt_id``, named once; and any text without a backslash that mentions neither key
    (no id: without escapes a key is spelled literally). Everything else is left undecided.
    """
    no_escape = ~event_value.str.contains("\\", literal=True)
    once = {
        key: event_value.str.count_matches(f'"{key}"', literal=True) == 1 for key in ORDER_ID_KEYS
    }
    by_order = pl.when(once["af_order_id"]).then(
        event_value.str.extract(_first_member_document("af_order_id"), 1)
    )
    no_order_key = no_escape & ~event_value.str.contains("af_order_id", literal=True)
    by_receipt = pl.when(no_order_key & once["af_receipt_id"]).then(
        event_value.str.extract(_first_member_document("af_receipt_id"), 1)
    )
    no_key = no_order_key & ~event_value.str.contains("af_receipt_id", literal=True)
    order_id = pl.coalesce(by_order, by_receipt)
    return order_id, order_id.is_not_null() | no_key


def order_ids(event_values: pl.Series) -> pl.Series:
    """The order id of each Event Value (step 1): ``af_order_id``, else ``af_receipt_id``.

    `plain_order_id` first, then `undecided_order_ids` on what it left undecided.
    """
    texts = event_values.fill_null("").alias("text")
    plain_id, plain_decided = plain_order_id(pl.col("text"))
    first = texts.to_frame().select(plain_id.alias("order_id"), plain_decided.alias("decided"))
    plain = first.get_column("order_id")
    undecided = (~first.get_column("decided")).arg_true()
    if undecided.len() == 0:
        return plain.alias("order_id")
    rest = undecided_order_ids(texts.gather(undecided))
    return plain.scatter(undecided, rest).alias("order_id")


def undecided_order_ids(event_values: pl.Series) -> pl.Series:
    """`order_ids` of texts `plain_order_id` did not decide, in three tiers, each on what the
    previous one left: `later_member_ids`, then the member analysis of `order_id_member`
    (``af_receipt_id`` only where the order id is missing and the text mentions it), then a
    JSON parser once per distinct remaining text."""
    texts = event_values.fill_null("").alias("text")
    ids = later_member_ids(texts)
    undecided = ids.is_null().arg_true()
    if undecided.len() == 0:
        return ids.alias("order_id")
    text = pl.col("text")
    order, unsure = order_id_member(text, "af_order_id")
    receipt, receipt_unsure = order_id_member(text, "af_receipt_id")
    mentions_receipt = text.str.contains("af_receipt_id", literal=True)
    rest = (
        texts.gather(undecided)
        .to_frame()
        .lazy()
        .with_columns(order.alias("order"), unsure.alias("unsure"))
        .with_columns(
            pl.when(pl.col("order").is_null() & ~pl.col("unsure") & mentions_receipt)
            .then(pl.struct(receipt.alias("order"), receipt_unsure.alias("unsure")))
            .otherwise(pl.struct("order", "unsure"))
            .alias("decided")
        )
        .select("text", pl.col("decided").struct.unnest())
        .collect()
    )
    unsure_texts = rest.filter("unsure").get_column("text")
    if unsure_texts.len():
        parsed = dict(order_ids_by_json(unsure_texts).iter_rows())
        by_parser = rest.get_column("text").replace_strict(
            parsed, default=None, return_dtype=pl.String
        )
        rest = rest.with_columns(
            pl.when("unsure").then(by_parser).otherwise(pl.col("order")).alias("order")
        )
    return ids.scatter(undecided, rest.get_column("order")).alias("order_id")


class _JsonInteger(str):
    """The text of a JSON integer literal, kept as written."""


def order_id_from_json(text: str) -> str | None:
    """The order id rule on one Event Value, with a real JSON parser (for unusual documents)."""
    try:
        document = json.loads(text, parse_int=_JsonInteger)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    for key in ORDER_ID_KEYS:
        value = document.get(key)
        if isinstance(value, _JsonInteger):
            return str.__str__(value)
        if isinstance(value, str) and value != "":
            return value
    return None


def order_ids_by_json(event_values: Iterable[str]) -> pl.DataFrame:
    """Order ids of distinct Event Value texts, for the few rows the fast path cannot decide."""
    texts = sorted(set(event_values))
    return pl.DataFrame(
        {"event_value": texts, "order_id_json": [order_id_from_json(t) for t in texts]},
        schema={"event_value": pl.String, "order_id_json": pl.String},
    )


def _json_text(value: pl.Expr) -> pl.Expr:
    """A string as a JSON string literal, escaped by polars' own JSON encoder."""
    encoded = pl.struct(value.alias("v")).struct.json_encode()
    return encoded.str.strip_prefix('{"v":').str.strip_suffix("}")


def raw_json(columns: Iterable[tuple[str, str]]) -> pl.Expr:
    """The row as a JSON object of column -> original text, in header order.

    `columns` pairs each header name with the frame column holding it. The object is assembled
    member by member, so a header that repeats an (unused) name or has empty names still gives
    every column as written.
    """
    parts: list[pl.Expr] = []
    for index, (name, column) in enumerate(columns):
        key = pl.select(_json_text(pl.lit(name, dtype=pl.String))).item()
        parts.append(pl.lit(("{" if index == 0 else ",") + key + ":"))
        parts.append(_json_text(pl.col(column).fill_null("")))
    if not parts:
        return pl.lit("{}")
    return pl.concat_str([*parts, pl.lit("}")])
