"""run_pipeline end to end: inputs, errors, report files and their formatting."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from analytics.pipeline import (
    PipelineInputError,
    PipelineParams,
    PipelineUnexpectedError,
    StageTiming,
    run_pipeline,
    runner,
)
from analytics.pipeline.reports import (
    REPORT_FILES,
    money_text,
    money_value,
    ratio_value,
    seconds_text,
    time_text,
)

from .pipeline_inputs import (
    COST_COLUMNS,
    GATEWAY_COLUMNS,
    PURCHASE_COLUMNS,
    REPORT_DATE,
    af,
    gw,
    read_reports,
    run,
    session,
    write_inputs,
)

PARAMS = PipelineParams(report_date=REPORT_DATE)


# --------------------------------------------------------------------------------------------
# Rounding and formatting


@pytest.mark.parametrize(
    ("micros", "text", "value"),
    [
        (1_005_000, "1.00", 1.0),  # 1.005: tie, 0 is even
        (1_015_000, "1.02", 1.02),  # 1.015: tie, 2 is even
        (1_015_001, "1.02", 1.02),
        (1_004_999, "1.00", 1.0),
        (2_675_000, "2.68", 2.68),  # exact decimal, not the binary float 2.67499...
        (-1_005_000, "-1.00", -1.0),
        (-1_015_000, "-1.02", -1.02),
        (-4_999, "0.00", 0.0),  # never "-0.00"
        (-5_000, "0.00", 0.0),
        (-15_000, "-0.02", -0.02),
        (0, "0.00", 0.0),
        (123_456_789_000_000, "123456789.00", 123456789.0),
    ],
)
def test_money_rounds_half_to_even_on_the_exact_value(micros: int, text: str, value: float) -> None:
    written = pl.select(money_text(pl.lit(micros, dtype=pl.Int64))).item()
    assert written == text
    assert money_value(micros) == value
    assert str(money_value(micros)) != "-0.0"


@pytest.mark.parametrize(
    ("microseconds", "text"),
    [
        (0, "0.000"),
        (1_500, "0.002"),
        (2_500, "0.002"),
        (-2_500, "-0.002"),
        (-500, "0.000"),
        (600_000_000, "600.000"),
        (-599_999_500, "-600.000"),
        (123_456_789, "123.457"),
    ],
)
def test_time_difference_seconds_round_half_to_even(microseconds: int, text: str) -> None:
    assert pl.select(seconds_text(pl.lit(microseconds, dtype=pl.Int64))).item() == text


def test_ratios_round_half_to_even_to_four_decimals() -> None:
    assert ratio_value(Decimal("0.12345")) == 0.1234
    assert ratio_value(Decimal("0.12355")) == 0.1236
    assert ratio_value(Decimal("-0.00004")) == 0.0
    assert ratio_value(None) is None


def test_times_carry_a_fraction_only_when_not_zero() -> None:
    moments = pl.Series(
        [
            dt.datetime(2024, 3, 10, 1, 2, 3),
            dt.datetime(2024, 3, 10, 1, 2, 3, 500_000),
            dt.datetime(2024, 3, 10, 1, 2, 3, 1),
        ],
        dtype=pl.Datetime("us"),
    )
    assert pl.select(time_text(pl.lit(moments))).to_series().to_list() == [
        "2024-03-10T01:02:03Z",
        "2024-03-10T01:02:03.500000Z",
        "2024-03-10T01:02:03.000001Z",
    ]


# --------------------------------------------------------------------------------------------
# Whole run


def test_curated_file_has_every_column_in_file_order(tmp_path: Path) -> None:
    _, reports = run(
        tmp_path,
        purchases=[
            af(
                order="T1",
                time="2024-03-10 23:00:00.25",
                revenue="2.345",
                usd="2.005",
                source="",
                campaign="x",
                afid="A",
                platform="ios",
            ),
            af(time="2024-03-09 05:00:00", user="u2", currency="EUR", revenue="1", usd="1.10"),
        ],
        gateway=[
            gw(txn="T1", time="2024-03-10T23:00:01Z", usd="2.015"),
            gw(txn="T1", type="refund", usd="1"),
        ],
    )
    assert reports["curated"] == [
        {
            "event_time": "2024-03-10T23:00:00.250000Z",
            "user_id": "u1",
            "appsflyer_id": "A",
            "media_source": "organic",
            "campaign": "",
            "platform": "ios",
            "revenue": "2.34",
            "currency": "USD",
            "revenue_usd": "2.00",
            "order_id": "T1",
            "match_status": "matched_by_id",
            "transaction_id": "T1",
            "time_diff_seconds": "0.750",
            "confirmed_usd": "2.02",
            "reversed_usd": "1.00",
            "net_usd": "1.02",
        },
        {
            "event_time": "2024-03-09T05:00:00Z",
            "user_id": "u2",
            "appsflyer_id": "af-1",
            "media_source": "net",
            "campaign": "c1",
            "platform": "android",
            "revenue": "1.00",
            "currency": "EUR",
            "revenue_usd": "1.10",
            "order_id": "",
            "match_status": "unmatched",
            "transaction_id": "",
            "time_diff_seconds": "",
            "confirmed_usd": "0.00",
            "reversed_usd": "0.00",
            "net_usd": "0.00",
        },
    ]


def test_empty_inputs_give_empty_reports(tmp_path: Path) -> None:
    result, reports = run(tmp_path)
    assert reports["curated"] == []
    assert reports["rejected"] == []
    assert (tmp_path / "reports" / "rejected_rows.csv").read_text() == "file,line,reason,raw\n"
    assert reports["reconciliation"]["match_rate"] is None
    assert reports["arpdau"] == {
        "date": "2024-03-10",
        "total": {"revenue_usd": 0.0, "dau": 0, "arpdau": None},
        "campaigns": [],
    }
    assert result.report_files == [tmp_path / "reports" / name for name in REPORT_FILES]
    assert [s.name for s in result.stages] == [
        "inputs",
        "sessions",
        "purchases",
        "gateway",
        "reconcile",
        "reversals",
        "revenue",
        "roas",
        "anomalies",
        "arpdau",
        "reports",
    ]


def test_rejected_rows_keep_every_column_and_the_record_line(tmp_path: Path) -> None:
    data_dir = write_inputs(tmp_path / "data")
    (data_dir / "confirmed_purchases.csv").write_text(
        ",".join([*GATEWAY_COLUMNS, "note"]) + "\n"
        'T1,u1,2024-03-10T12:00:00Z,purchase,1.00,USD,1.00,"two\nlines"\n'
        'T2,u1,2024-03-10T12:00:00Z,purchase,1.00,USD,zero,"é ""quoted"""\n',
        encoding="utf-8",
    )
    result = run_pipeline(data_dir, tmp_path / "reports", PARAMS)
    rejected = read_reports(tmp_path / "reports")["rejected"]
    assert result.rejected_rows == 1
    assert [(r["file"], r["line"], r["reason"]) for r in rejected] == [
        ("confirmed_purchases", "3", "bad amount_usd")  # record index + 2, not physical line
    ]
    assert json.loads(rejected[0]["raw"]) == {
        "transaction_id": "T2",
        "user_id": "u1",
        "event_time": "2024-03-10T12:00:00Z",
        "event_type": "purchase",
        "amount": "1.00",
        "currency": "USD",
        "amount_usd": "zero",
        "note": 'é "quoted"',
    }


def test_rejected_rows_are_sorted_by_input_then_line(tmp_path: Path) -> None:
    _, reports = run(
        tmp_path,
        purchases=[af(), af(revenue="x")],
        gateway=[gw(txn=""), gw(txn="T7"), gw(txn="T7", amount="2")],
        costs=[{"date": "x", "media_source": "", "campaign": "", "cost_usd": "1"}],
        sessions=[session("", "2024-03-10T00:00:00Z")],
    )
    assert [(r["file"], r["line"]) for r in reports["rejected"]] == [
        ("purchases_raw", "3"),
        ("confirmed_purchases", "2"),
        ("confirmed_purchases", "3"),
        ("confirmed_purchases", "4"),
        ("costs_daily", "2"),
        ("sessions", "2"),
    ]


def test_gzip_and_parquet_inputs_are_read_like_csv(tmp_path: Path) -> None:
    _, wanted = run(
        tmp_path / "csv",
        purchases=[af(order="T1"), af(revenue="bad")],
        gateway=[gw(txn="T1", time="2024-03-10T12:00:01Z")],
    )
    data_dir = tmp_path / "csv" / "data"
    other = tmp_path / "other" / "data"
    other.mkdir(parents=True)
    (other / "purchases_raw.csv.gz").write_bytes(
        gzip.compress((data_dir / "purchases_raw.csv").read_bytes())
    )
    gateway = pl.read_csv(data_dir / "confirmed_purchases.csv", infer_schema=False)
    gateway.with_columns(
        pl.col("event_time").str.to_datetime(time_unit="us", time_zone="UTC"),
        pl.col("amount").cast(pl.Float64),
    ).write_parquet(other / "confirmed_purchases.parquet")
    for name in ("costs_daily.csv", "sessions.csv"):
        (other / name).write_bytes((data_dir / name).read_bytes())
    result = run_pipeline(other, tmp_path / "other" / "reports", PARAMS)
    got = read_reports(tmp_path / "other" / "reports")
    assert got == wanted
    assert result.inputs["purchases_raw"] == other / "purchases_raw.csv.gz"
    assert result.inputs["confirmed_purchases"] == other / "confirmed_purchases.parquet"


# --------------------------------------------------------------------------------------------
# Failures leave the previous reports intact


def previous_reports(reports_dir: Path) -> dict[str, str]:
    reports_dir.mkdir(parents=True, exist_ok=True)
    for name in REPORT_FILES:
        (reports_dir / name).write_text(f"previous {name}\n")
    return {name: f"previous {name}\n" for name in REPORT_FILES}


def assert_untouched(reports_dir: Path, previous: dict[str, str]) -> None:
    assert {p.name: p.read_text() for p in reports_dir.iterdir()} == previous


def test_missing_file_fails_before_writing(tmp_path: Path) -> None:
    data_dir = write_inputs(tmp_path / "data")
    (data_dir / "sessions.csv").unlink()
    previous = previous_reports(tmp_path / "reports")
    with pytest.raises(PipelineInputError, match=r"^sessions: missing input file"):
        run_pipeline(data_dir, tmp_path / "reports", PARAMS)
    assert_untouched(tmp_path / "reports", previous)


def test_ambiguous_input_fails(tmp_path: Path) -> None:
    data_dir = write_inputs(tmp_path / "data")
    pl.DataFrame({c: [] for c in COST_COLUMNS}).write_parquet(data_dir / "costs_daily.parquet")
    with pytest.raises(
        PipelineInputError,
        match=r"^costs_daily: ambiguous input, several files: costs_daily.csv, costs_daily.parq",
    ):
        run_pipeline(data_dir, tmp_path / "reports", PARAMS)
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("column", PURCHASE_COLUMNS[:-1])
def test_missing_required_column_names_file_and_column(tmp_path: Path, column: str) -> None:
    data_dir = write_inputs(tmp_path / "data")
    columns = [c for c in PURCHASE_COLUMNS if c != column]
    with (data_dir / "purchases_raw.csv").open("w", newline="") as handle:
        csv.writer(handle).writerow(columns)
    previous = previous_reports(tmp_path / "reports")
    with pytest.raises(PipelineInputError) as raised:
        run_pipeline(data_dir, tmp_path / "reports", PARAMS)
    assert str(raised.value) == f"purchases_raw.csv: missing required column {column!r}"
    assert_untouched(tmp_path / "reports", previous)


def test_file_without_header_fails(tmp_path: Path) -> None:
    data_dir = write_inputs(tmp_path / "data")
    (data_dir / "costs_daily.csv").write_text("")
    with pytest.raises(PipelineInputError, match=r"^costs_daily.csv: unreadable"):
        run_pipeline(data_dir, tmp_path / "reports", PARAMS)


def test_a_failure_after_computing_leaves_previous_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = write_inputs(tmp_path / "data", purchases=[af()])
    previous = previous_reports(tmp_path / "reports")

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runner, "arpdau_report", broken)
    with pytest.raises(PipelineUnexpectedError) as raised:
        run_pipeline(data_dir, tmp_path / "reports", PARAMS)
    assert str(raised.value) == "unexpected error in the reports stage: RuntimeError: disk on fire"
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert_untouched(tmp_path / "reports", previous)


def test_a_failure_while_writing_removes_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = write_inputs(tmp_path / "data", purchases=[af()])
    previous = previous_reports(tmp_path / "reports")

    def failing_write(self, *args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_csv", failing_write)
    with pytest.raises(PipelineUnexpectedError) as raised:
        run_pipeline(data_dir, tmp_path / "reports", PARAMS)
    assert str(raised.value) == (
        "unexpected error in the reports stage: OSError: no space left on device"
    )
    assert_untouched(tmp_path / "reports", previous)


def test_stages_are_reported_as_they_finish(tmp_path: Path) -> None:
    data_dir = write_inputs(tmp_path / "data", purchases=[af(), af(user="u2")])
    seen: list[StageTiming] = []
    result = run_pipeline(data_dir, tmp_path / "reports", PARAMS, on_stage=seen.append)
    assert seen == result.stages
    assert {s.name: s.rows for s in seen}["purchases"] == 2
    assert all(s.seconds >= 0 for s in seen)


def test_the_parameters_round_trip_through_their_stored_json() -> None:
    params = PipelineParams(
        report_date=REPORT_DATE,
        window_minutes=0,
        anomaly_drop=0.25,
        anomaly_days=14,
        anomaly_min_days=5,
        anomaly_min_spend=Decimal("12.345"),
    )
    stored = params.to_json(data_dir=Path("/in"), reports_dir="/out")
    assert stored == {
        "data_dir": "/in",
        "reports_dir": "/out",
        "window_minutes": 0,
        "anomaly_drop": 0.25,
        "anomaly_days": 14,
        "anomaly_min_days": 5,
        "anomaly_min_spend": "12.345",
    }
    assert json.loads(json.dumps(stored)) == stored
    assert PipelineParams.from_json(json.loads(json.dumps(stored)), report_date=REPORT_DATE) == (
        params
    )
    other_day = PipelineParams.from_json(stored, report_date=REPORT_DATE - dt.timedelta(days=1))
    assert other_day.report_date == REPORT_DATE - dt.timedelta(days=1)
    assert other_day != params
