import datetime
from decimal import Decimal

from core.csv_export import csv_cell, csv_download, csv_lines


def test_text_that_would_run_as_a_formula_is_prefixed():
    assert [csv_cell(t) for t in ("=SUM(A1)", "+1", "-x", "@cmd", "a=b", "")] == [
        "'=SUM(A1)",
        "'+1",
        "'-x",
        "'@cmd",
        "a=b",
        "",
    ]


def test_numbers_days_and_none_are_exact():
    assert csv_cell(Decimal("-12.345678")) == "-12.345678"
    assert csv_cell(-3) == "-3"
    assert csv_cell(0.1) == "0.1"
    assert csv_cell(None) == ""
    assert csv_cell(True) == "true"
    assert csv_cell(datetime.date(2026, 12, 3)) == "2026-12-03"


def test_lines_quote_separators_and_quotes():
    lines = list(csv_lines(["campaign", "roas"], [['a,"b"', Decimal("1.5")], ["-5", None]]))
    assert lines == ["campaign,roas\r\n", '"a,""b""",1.5\r\n', "'-5,\r\n"]


def test_download_streams_an_attachment():
    response = csv_download(filename="roas.csv", header=["x"], rows=iter([[1], [2]]))
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="roas.csv"'
    assert b"".join(response.streaming_content) == b"x\r\n1\r\n2\r\n"
