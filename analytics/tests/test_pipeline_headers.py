"""Inputs shaped like real exports: extra columns never collide with the pipeline's own.

Given the hand-worked fixture dataset, when its inputs carry extra columns -- the full AppsFlyer
raw export header, a gateway export's own `reason`/`status`/`order_id`/... columns, every
internal column name the pipeline's code uses, random names --, then the six reports are those of
the plain dataset except the `raw` text of rejected rows, which holds every column as written.
A header naming a used column twice fails before anything is written, in one line.
"""

from __future__ import annotations

import ast
import csv
import json
import tempfile
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.pipeline import PipelineInputError, PipelineParams, run_pipeline
from analytics.pipeline.inputs import INPUT_NAMES, used_columns
from analytics.pipeline.reports import REPORT_FILES
from analytics.tests.reference_pipeline import (
    Params,
    diff_reports,
    load_reports,
    run_reference,
)

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_CODE = ROOT / "analytics" / "pipeline"
FIXTURES = ROOT / "fixtures" / "pipeline"
EXPORTS = ROOT / "fixtures" / "exports"
REPORT_DATE = date(2024, 3, 10)


def internal_names() -> list[str]:
    """Every string literal of the pipeline's modules that could name a column (the names of
    its internal columns among them), found by parsing the code rather than listed by hand."""
    found: set[str] = set()
    for module in sorted(PIPELINE_CODE.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(), filename=str(module))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if text and len(text) <= 60 and "\n" not in text:
                    found.add(text)
    return sorted(found)


def test_the_internal_names_found_include_those_that_collided() -> None:
    names = internal_names()
    # The collisions of the issue, and parsed-value columns of every step.
    for name in ("reason", "__line__", "_transaction_id", "_primary", "_date", "af_pos", "gw_idx"):
        assert name in names
    assert len(names) > 150


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _extra_value(name: str, record: int) -> str:
    return f'{name} "{record}", x' if record % 2 else ""


def with_extra_columns(target: Path, extras: dict[str, list[tuple[int, str]]]) -> Path:
    """fixtures/pipeline/ copied to `target` with (position, name) columns inserted per input."""
    target.mkdir(parents=True, exist_ok=True)
    for name in INPUT_NAMES:
        header, rows = _read(FIXTURES / f"{name}.csv")
        for position, column in extras.get(name, []):
            at = min(position, len(header))
            header.insert(at, column)
            for record, row in enumerate(rows):
                row.insert(min(at, len(row)), _extra_value(column, record))
        _write(target / f"{name}.csv", header, rows)
    return target


def _run(data_dir: Path, reports_dir: Path) -> dict:
    run_pipeline(data_dir, reports_dir, PipelineParams(report_date=REPORT_DATE))
    return load_reports(reports_dir)


@cache
def plain_reports() -> dict:
    with tempfile.TemporaryDirectory() as reports:
        return _run(FIXTURES, Path(reports))


def _pairs(raw: str) -> list[tuple[str, str]]:
    return [tuple(pair) for pair in json.loads(raw, object_pairs_hook=list)]


def assert_same_except_raw(actual: dict, extras: dict[str, list[tuple[int, str]]]) -> None:
    """Every report equals the plain dataset's; each rejected row's raw is the plain raw with
    the extra columns inserted where they were."""
    plain = plain_reports()
    assert sorted(actual) == sorted(plain)
    for key in plain:
        if key != "rejected_rows":
            assert actual[key] == plain[key], key
    got, wanted = actual["rejected_rows"], plain["rejected_rows"]
    assert [(r["file"], r["line"], r["reason"]) for r in got] == [
        (r["file"], r["line"], r["reason"]) for r in wanted
    ]
    for row, plain_row in zip(got, wanted, strict=True):
        expected = _pairs(plain_row["raw"])
        record = int(row["line"]) - 2
        for position, column in extras.get(row["file"], []):
            expected.insert(min(position, len(expected)), (column, _extra_value(column, record)))
        assert _pairs(row["raw"]) == expected


def test_the_plain_reports_cover_every_report() -> None:
    assert len(plain_reports()) == len(REPORT_FILES)
    assert len(plain_reports()["rejected_rows"]) == 23


def test_every_internal_name_as_an_extra_column_changes_nothing(tmp_path) -> None:
    extras = {
        name: [
            (position % 7, column)
            for position, column in enumerate(internal_names())
            if column not in used_columns(name)
        ]
        for name in INPUT_NAMES
    }
    data_dir = with_extra_columns(tmp_path / "data", extras)
    assert_same_except_raw(_run(data_dir, tmp_path / "reports"), extras)


column_names = st.one_of(
    st.sampled_from(internal_names()),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(INPUT_NAMES),
        st.lists(st.tuples(st.integers(0, 14), column_names), min_size=1, max_size=6),
        min_size=1,
    )
)
def test_extra_columns_change_nothing_but_the_raw_text(extras) -> None:
    extras = {
        name: [(p, c) for p, c in columns if c not in used_columns(name)]
        for name, columns in extras.items()
    }
    with tempfile.TemporaryDirectory() as work:
        data_dir = with_extra_columns(Path(work) / "data", extras)
        assert_same_except_raw(_run(data_dir, Path(work) / "reports"), extras)


def test_real_export_headers_give_the_fixture_reports(tmp_path) -> None:
    """fixtures/exports/: the fixture records under the full AppsFlyer raw in-app events header
    and a gateway export with its own columns (built by fixtures/exports/build.py)."""
    header, _ = _read(EXPORTS / "purchases_raw.csv")
    assert len(header) == 81
    assert {"reason", "status", "order_id", "kind", "fee", "net", "customer"} <= set(
        _read(EXPORTS / "confirmed_purchases.csv")[0]
    )
    actual = _run(EXPORTS, tmp_path / "polars")
    run_reference(EXPORTS, tmp_path / "reference", Params(report_date=REPORT_DATE))
    assert diff_reports(actual, load_reports(tmp_path / "reference"), exact=True) == []
    plain = plain_reports()
    for key in plain:
        if key != "rejected_rows":
            assert actual[key] == plain[key], key
    gateway_rows = [r for r in actual["rejected_rows"] if r["file"] == "confirmed_purchases"]
    first = dict(_pairs(gateway_rows[0]["raw"]))
    assert list(first) == _read(EXPORTS / "confirmed_purchases.csv")[0]
    assert first["metadata"] == '{"reason": "x", "__line__": 1}'
    assert first["description"].endswith("\nline two")


def _header_case(tmp_path: Path, name: str, header: list[str]) -> Path:
    data_dir = with_extra_columns(tmp_path / "data", {})
    _, rows = _read(data_dir / f"{name}.csv")
    _write(
        data_dir / f"{name}.csv", header, [row + [""] * (len(header) - len(row)) for row in rows]
    )
    return data_dir


def _original_header(name: str) -> list[str]:
    return _read(FIXTURES / f"{name}.csv")[0]


@pytest.mark.parametrize(
    ("name", "header", "message"),
    [
        (
            "confirmed_purchases",
            [*_original_header("confirmed_purchases"), "user_id"],
            "confirmed_purchases.csv: column 'user_id' is named 2 times in the header "
            "(columns 2, 9)",
        ),
        (
            "purchases_raw",
            ["Is Primary Attribution", *_original_header("purchases_raw")],
            "purchases_raw.csv: column 'Is Primary Attribution' is named 2 times in the header "
            "(columns 1, 13)",
        ),
        (
            "sessions",
            ["user_id", "", "session_end", "media_source", "campaign"],
            "sessions.csv: missing required column 'session_start' (header column 2 has no name)",
        ),
    ],
)
def test_a_bad_header_fails_in_one_line_before_anything_is_written(
    tmp_path, name, header, message
) -> None:
    data_dir = _header_case(tmp_path, name, header)
    reports = tmp_path / "reports"
    with pytest.raises(PipelineInputError) as raised:
        run_pipeline(data_dir, reports, PipelineParams(report_date=REPORT_DATE))
    assert str(raised.value) == message
    assert not reports.exists()


def test_repeated_and_empty_names_of_unused_columns_are_kept_as_written(tmp_path) -> None:
    header = [*_original_header("confirmed_purchases"), "note", "", "note", "reason"]
    data_dir = _header_case(tmp_path, "confirmed_purchases", header)
    actual = _run(data_dir, tmp_path / "reports")
    row = next(r for r in actual["rejected_rows"] if r["file"] == "confirmed_purchases")
    assert [key for key, _ in _pairs(row["raw"])] == header


def test_a_parquet_input_with_internal_names_as_columns(tmp_path) -> None:
    import polars as pl

    extras = {"confirmed_purchases": [(7, "reason"), (8, "__line__"), (0, "gw_idx")]}
    data_dir = with_extra_columns(tmp_path / "data", extras)
    csv_path = data_dir / "confirmed_purchases.csv"
    pl.read_csv(csv_path, infer_schema=False).write_parquet(csv_path.with_suffix(".parquet"))
    csv_path.unlink()
    actual = _run(data_dir, tmp_path / "reports")
    plain = plain_reports()
    for key in plain:
        if key != "rejected_rows":
            assert actual[key] == plain[key], key
    gateway = [r for r in actual["rejected_rows"] if r["file"] == "confirmed_purchases"]
    assert [r["line"] for r in gateway] == [
        r["line"] for r in plain["rejected_rows"] if r["file"] == "confirmed_purchases"
    ]
    assert [key for key, _ in _pairs(gateway[0]["raw"])][:1] == ["gw_idx"]
