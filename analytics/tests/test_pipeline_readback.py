"""Reading back the original text of rejected rows by line.

Given a CSV input, when some of its records are rejected, then every column's text of exactly
those records is read back from the lines of the file that hold them -- also for records
spanning lines, empty records, ragged records and a byte order mark -- without a second pass of
the CSV reader over the input; where the lines cannot be mapped to records that way (CR LF line
ends), the second pass gives the same text.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analytics.pipeline.inputs import LINE, Header, InputFile, rows_by_line, scan_input

HEADER = Header.plain(["a", "b", "c"])
WANTED = [3, 5]


def _never_read(tmp_path: Path) -> pl.LazyFrame:
    """A frame whose collection fails (its file does not exist): the second pass must not run."""
    return pl.scan_csv(tmp_path / "absent.csv", infer_schema=False)


def _write(tmp_path: Path, data: bytes) -> tuple[Path, pl.DataFrame]:
    path = tmp_path / "input.csv"
    path.write_bytes(data)
    full = scan_input(InputFile(name="input", path=path, header=HEADER)).collect()
    return path, full


def _reasons(full: pl.DataFrame) -> pl.DataFrame:
    return full.filter(pl.col(LINE).is_in(WANTED)).select(LINE, "a", pl.lit("r").alias("reason"))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"a,b,c\n1,2,3\nx,y,z\n4,5,6\n7,8,9\n",
            [(3, "x", "y", "z", "r"), (5, "7", "8", "9", "r")],
        ),
        (
            b'a,b,c\n1,"2\nq",3\n"x\n\n""y",y,z\n4,5,6\n7,"8\n",9',
            [(3, 'x\n\n"y', "y", "z", "r"), (5, "7", "8\n", "9", "r")],
        ),
        (
            b"\xef\xbb\xbfa,b,c\n1,2,3\nx,y\n4,5,6\n7,8,9,10\n",
            [(3, "x", "y", "", "r"), (5, "7", "8", "9", "r")],
        ),
        (b"a,b,c\n1,2,3\n\n4,5,6\n7,8,9", [(3, "", "", "", "r"), (5, "7", "8", "9", "r")]),
    ],
    ids=["plain", "spanning-lines", "bom-ragged", "empty-record"],
)
def test_rejected_rows_are_read_from_their_lines(
    tmp_path: Path, data: bytes, expected: list[tuple[object, ...]]
) -> None:
    path, full = _write(tmp_path, data)
    reasons = _reasons(full)

    found = rows_by_line(_never_read(tmp_path), reasons, HEADER, path)

    assert found.rows() == expected
    assert found.drop("reason").equals(full.filter(pl.col(LINE).is_in(WANTED)))


def test_crlf_line_ends_fall_back_to_a_second_pass(tmp_path: Path) -> None:
    path, full = _write(tmp_path, b'a,b,c\r\n1,2,3\r\n"x\r\ny",y,z\r\n4,5,6\r\n7,8,9\r\n')
    reasons = _reasons(full)
    lazy = scan_input(InputFile(name="input", path=path, header=HEADER))

    with pytest.raises(FileNotFoundError):
        rows_by_line(_never_read(tmp_path), reasons, HEADER, path)
    found = rows_by_line(lazy, reasons, HEADER, path)

    assert found.rows() == [(3, "x\r\ny", "y", "z", "r"), (5, "7", "8", "9", "r")]


def test_no_rejected_rows_read_nothing(tmp_path: Path) -> None:
    path, full = _write(tmp_path, b"a,b,c\n1,2,3\n")

    found = rows_by_line(_never_read(tmp_path), _reasons(full), HEADER, path)

    assert found.height == 0
    assert found.columns == [LINE, "a", "b", "c", "reason"]
