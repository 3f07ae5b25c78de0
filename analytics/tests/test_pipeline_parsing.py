"""Parsers of input text: decimals, times, dates, campaign keys and order ids."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.pipeline.parsing import (
    appsflyer_time,
    calendar_date,
    campaign_key,
    decimal_micros,
    iso_day,
    iso_time,
    later_member_ids,
    media_source_key,
    order_id_from_json,
    order_id_member,
    order_ids,
    plain_order_id,
)


def parse(expr_factory, values: list[str]) -> list:
    frame = pl.DataFrame({"text": values}, schema={"text": pl.String})
    return frame.select(expr_factory("text").alias("parsed")).get_column("parsed").to_list()


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("1.99", 1_990_000),
        ("0", 0),
        ("10.00", 10_000_000),
        ("-1.5", -1_500_000),
        ("+2", 2_000_000),
        ("0000000000000001.25", 1_250_000),
        ("0.123456", 123_456),
        ("0.0000005", 0),  # beyond micro-units: half-to-even
        ("0.0000015", 2),
        ("0.0000025", 2),
        ("9223372036854.775807", 9_223_372_036_854_775_807),
        ("9223372036854.775808", None),  # does not fit Int64 micro-units
        ("12345678901234", None),
        ("1.", None),
        (".5", None),
        ("1e3", None),
        ("1,50", None),
        (" 1.5", None),
        ("1.5 ", None),
        ("", None),
        ("abc", None),
        ("NaN", None),
        ("--1", None),
        ("\u0663", None),  # ARABIC-INDIC DIGIT THREE is not an ASCII digit
    ],
)
def test_decimal_micros(text: str, micros: int | None) -> None:
    assert parse(decimal_micros, [text]) == [micros]


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-03-10 12:34:56", dt.datetime(2024, 3, 10, 12, 34, 56)),
        ("2024-03-10T12:34:56", dt.datetime(2024, 3, 10, 12, 34, 56)),
        ("2024-03-10 12:34:56.5", dt.datetime(2024, 3, 10, 12, 34, 56, 500_000)),
        ("2024-03-10 12:34:56.000001", dt.datetime(2024, 3, 10, 12, 34, 56, 1)),
        ("2024-03-10 12:34:56.1234569", dt.datetime(2024, 3, 10, 12, 34, 56, 123_456)),
        ("2024-02-29 23:59:59", dt.datetime(2024, 2, 29, 23, 59, 59)),
        ("2023-02-29 10:00:00", None),
        ("2024-04-31 10:00:00", None),
        ("2024-13-01 10:00:00", None),
        ("2024-03-10", None),
        ("2024-03-10 12:34", None),
        ("2024-03-10 24:00:00", None),
        ("2024-03-10 23:59:60", None),
        ("2024-03-10 12:34:56Z", None),
        ("2024-03-10 12:34:56+00:00", None),
        ("2024-03-10 12:34:56.", None),
        (" 2024-03-10 12:34:56", None),
        ("2024/03/10 12:34:56", None),
        ("", None),
    ],
)
def test_appsflyer_time(text: str, moment: dt.datetime | None) -> None:
    assert parse(appsflyer_time, [text]) == [moment]


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-03-10T12:00:00Z", dt.datetime(2024, 3, 10, 12)),
        ("2024-03-10 12:00:00", dt.datetime(2024, 3, 10, 12)),
        ("2024-03-10T12:00:00.25Z", dt.datetime(2024, 3, 10, 12, 0, 0, 250_000)),
        ("2024-03-10T12:00:00.1234567+00:00", dt.datetime(2024, 3, 10, 12, 0, 0, 123_456)),
        ("2024-03-10T12:00:00+05:30", dt.datetime(2024, 3, 10, 6, 30)),
        ("2024-03-10T12:00:00+0530", dt.datetime(2024, 3, 10, 6, 30)),
        ("2024-03-10T01:00:00+02:00", dt.datetime(2024, 3, 9, 23)),  # previous UTC day
        ("2024-03-10T23:30:00-01:00", dt.datetime(2024, 3, 11, 0, 30)),  # next UTC day
        ("2024-03-10T23:30:00.5-01:00", dt.datetime(2024, 3, 11, 0, 30, 0, 500_000)),
        ("2024-03-10T23:59:59.999999-00:01", dt.datetime(2024, 3, 11, 0, 0, 59, 999_999)),
        ("2024-03-10T00:00:59.999999+00:01", dt.datetime(2024, 3, 9, 23, 59, 59, 999_999)),
        ("2024-03-10T00:01:00+00:01", dt.datetime(2024, 3, 10, 0, 0)),
        ("2024-03-10", None),
        ("2024-03-10T12:00Z", None),
        ("2024-03-10T12:00:00+05", None),
        ("2024-03-10T12:00:00+24:00", None),
        ("2024-03-10T12:00:00+05:60", None),
        ("2024-03-10T12:00:00z", None),
        ("2024-03-10T12:00:00 Z", None),
        ("2024-02-30T12:00:00Z", None),
        ("yesterday", None),
    ],
)
def test_iso_time(text: str, moment: dt.datetime | None) -> None:
    assert parse(iso_time, [text]) == [moment]
    assert parse(iso_day, [text]) == [moment.date() if moment else None]


def test_calendar_date() -> None:
    assert parse(
        calendar_date, ["2024-03-10", "2024-02-30", "2024-03-10 00:00:00", "", "10/03/2024"]
    ) == [
        dt.date(2024, 3, 10),
        None,
        None,
        None,
        None,
    ]


def test_campaign_key_normalises_organic_only() -> None:
    frame = pl.DataFrame(
        {
            "source": ["", "organic", "organic", "Organic", "net", "net"],
            "campaign": ["x", "", "spring", "spring", "", "C1"],
        }
    )
    keys = frame.select(
        media_source_key("source").alias("m"), campaign_key("source", "campaign").alias("c")
    )
    assert keys.rows() == [
        ("organic", ""),
        ("organic", ""),
        ("organic", ""),
        ("Organic", "spring"),
        ("net", ""),
        ("net", "C1"),
    ]


ORDER_ID_CASES = [
    ('{"af_order_id":"GPA.1"}', "GPA.1"),
    ('{"af_order_id": "GPA.2", "af_receipt_id": "R"}', "GPA.2"),
    ('{"af_order_id":123}', "123"),
    ('{"af_order_id":-7}', "-7"),
    ('{"af_order_id":12345678901234567890123}', "12345678901234567890123"),
    ('{"af_order_id":1.5,"af_receipt_id":"R1"}', "R1"),
    ('{"af_order_id":1e3,"af_receipt_id":"R2"}', "R2"),
    ('{"af_order_id":1.0}', None),
    ('{"af_order_id":true,"af_receipt_id":"R3"}', "R3"),
    ('{"af_order_id":"","af_receipt_id":"R4"}', "R4"),
    ('{"af_order_id":null,"af_receipt_id":77}', "77"),
    ('{"af_order_id":{"id":"x"}}', None),
    ('{"af_order_id":["x"]}', None),
    ('{"af_receipt_id":"R5"}', "R5"),
    ('{"af_order_id":" "}', " "),
    ('{"af_order_id":"a\\u0042c"}', "aBc"),
    ('{"af_order_id":"q\\"x"}', 'q"x'),
    ('{"af_order_id":"x","af_order_id":"y"}', "y"),
    ('{"note":"af_order_id","af_order_id":5}', "5"),
    ('{"nested":{"af_order_id":"n"}}', None),
    ('{"nested":{"af_order_id":"n"},"af_order_id":"top"}', "top"),
    ('{"af_order_id":"123"}', "123"),
    ('{"af_order_id":"true"}', "true"),
    ('{"af_order_id":"GPA.1"} trailing', None),
    ('{"af_order_id":"a\x01b"}', None),  # a raw control character: not JSON
    ('{"af_order_id":"GPA.3","n":-1.5e3,"t":true,"z":null}', "GPA.3"),
    ('{"af_order_id":"GPA.4","n":01}', None),
    ('{"af_order_id":"GPA.5",}', None),
    ('{ "af_order_id" : "GPA.6" , "k" : "v" }', "GPA.6"),
    ('{"af_order_id":"GPA.7","nested":{"a":1}}', "GPA.7"),
    ('{"af_order_id":"GPA.1"', None),
    ('["af_order_id"]', None),
    ('"GPA.1"', None),
    ("123", None),
    ("not json", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "order_id"), ORDER_ID_CASES)
def test_order_id_by_the_json_parser(text: str, order_id: str | None) -> None:
    assert order_id_from_json(text) == order_id


def _vectorised_order_ids(texts: list[str]) -> list[str | None]:
    return order_ids(pl.Series(texts, dtype=pl.String)).to_list()


def test_order_id_fast_path_agrees_on_every_case() -> None:
    texts = [text for text, _ in ORDER_ID_CASES]
    assert _vectorised_order_ids(texts) == [order_id for _, order_id in ORDER_ID_CASES]


def test_order_id_fast_path_decides_plain_documents_alone() -> None:
    frame = pl.DataFrame(
        {"text": ['{"af_order_id":"GPA.1","x":1}', '{"af_order_id": 42}', '{"x":1}', "", "{"]}
    )
    value, unsure = order_id_member(pl.col("text"), "af_order_id")
    assert frame.select(value.alias("id"), unsure.alias("unsure")).rows() == [
        ("GPA.1", False),
        ("42", False),
        (None, False),
        (None, False),
        (None, False),
    ]


PLAIN_SHAPES = [
    ('{"af_receipt_id":"R1","af_level":7}', "R1", True),
    ('{"af_receipt_id":"R2","note":"af_order_id"}', "R2", False),
    ('{"af_receipt_id":"R3","af_receipt_id":"R4"}', "R4", False),
    ('{"af_receipt_id":"","x":1}', None, False),
    ('{"x":1,"af_receipt_id":"R5"}', "R5", False),
    ('{"af_\\u006frder_id":"O1","af_receipt_id":"R6"}', "O1", False),
    ('{"af_level":7}', None, True),
    ("[1, 2]", None, True),
    ('{"x":"\\u0061f_receipt_id"}', None, False),
]


@pytest.mark.parametrize(("text", "order_id", "decided"), PLAIN_SHAPES)
def test_plain_order_id_decides_only_what_it_may(
    text: str, order_id: str | None, decided: bool
) -> None:
    value, is_decided = plain_order_id(pl.lit(text))
    assert pl.select(is_decided).item() == decided
    if decided:
        assert pl.select(value).item() == order_id
    assert order_id_from_json(text) == order_id
    assert _vectorised_order_ids([text]) == [order_id]


# (text, what `later_member_ids` decides: the id, or None for "left to the next tiers"), and
# what the JSON parser says.
LATER_SHAPES = [
    ('{"x":1,"af_receipt_id":"R5"}', "R5", "R5"),
    ('{"x":[1,"a",null],"af_receipt_id":7}', "7", "7"),
    (
        '{"af_content_id":"gems_1","af_meta":{"store":"play","n":2},"tags":[1,"a",null],'
        '"af_order_id":"GPA.9","af_price":4.99}',
        "GPA.9",
        "GPA.9",
    ),
    ('{ "a" : [ ] , "b" : { } , "af_order_id" : 42 }', "42", "42"),
    ('{"a":1,"af_order_id":-0,"z":{"k":true}}', "-0", "-0"),
    ('{"a":1,"af_receipt_id":"R","af_order_id":"O"}', "O", "O"),
    # Left to the next tiers: deeper nesting, the key only nested or named twice, an empty or
    # non-integer id, a leading zero, trailing whitespace, an escape, the order key mentioned.
    ('{"a":{"b":{"c":1}},"af_order_id":"X"}', None, "X"),
    ('{"a":[[1]],"af_order_id":"X"}', None, "X"),
    ('{"a":{"af_order_id":"n"}}', None, None),
    ('{"a":{"af_order_id":"n"},"af_order_id":"top"}', None, "top"),
    ('{"a":1,"af_order_id":"","af_receipt_id":"R"}', None, "R"),
    ('{"a":1,"af_order_id":1.5,"af_receipt_id":"R"}', None, "R"),
    ('{"a":1,"af_order_id":01}', None, None),
    ('{"a":1,"af_order_id":"X"} ', None, "X"),
    ('{"a":"q\\"x","af_order_id":"X"}', None, "X"),
    ('{"a":"af_order_id","af_receipt_id":"R"}', None, "R"),
    ('{"a":1,"af_receipt_id":"R"', None, None),
]


@pytest.mark.parametrize(("text", "decided", "order_id"), LATER_SHAPES)
def test_later_members_are_decided_only_where_the_document_is_plain(
    text: str, decided: str | None, order_id: str | None
) -> None:
    assert later_member_ids(pl.Series([text])).to_list() == [decided]
    assert order_id_from_json(text) == order_id
    assert _vectorised_order_ids([text]) == [order_id]


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.sampled_from('ab1 ."\\\u00e9:,{}'), max_size=6),
)
json_member = st.one_of(
    json_leaf,
    st.lists(json_leaf, max_size=2),
    st.dictionaries(st.sampled_from(["af_order_id", "k"]), json_leaf, max_size=2),
)
documents = st.dictionaries(
    st.sampled_from(["af_order_id", "af_receipt_id", "other", "af_order_id ", "af_meta"]),
    json_member,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(documents, min_size=1, max_size=8), st.booleans())
def test_order_id_fast_path_equals_the_json_parser(docs: list[dict], pretty: bool) -> None:
    separators = (", ", ": ") if pretty else (",", ":")
    texts = [json.dumps(doc, separators=separators, ensure_ascii=pretty) for doc in docs]
    assert _vectorised_order_ids(texts) == [order_id_from_json(t) for t in texts]
