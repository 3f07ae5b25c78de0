"""Synthetic demo inputs: deterministic, shaped like the contract, agreed on by both pipelines."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command

from analytics.demo import generate_demo_data
from analytics.tests.reference_pipeline import (
    INPUT_NAMES,
    REQUIRED_COLUMNS,
    Params,
    compute,
    diff_reports,
    load_reports,
)

END = date(2024, 3, 10)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("demo")
    counts = generate_demo_data(out, purchases=2_000, days=10, seed=7, end_date=END, campaigns=20)
    return out, counts


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    args = {"purchases": 500, "days": 5, "end_date": END, "campaigns": 10}
    generate_demo_data(tmp_path / "a", seed=1, **args)
    generate_demo_data(tmp_path / "b", seed=1, **args)
    generate_demo_data(tmp_path / "c", seed=2, **args)

    for name in INPUT_NAMES:
        first = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert first == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
        assert first != (tmp_path / "c" / f"{name}.csv").read_bytes(), name


def test_files_follow_the_contract_schema(demo: tuple[Path, dict[str, int]]) -> None:
    out, counts = demo

    for name in INPUT_NAMES:
        rows = _rows(out / f"{name}.csv")
        assert len(rows) == counts[name]
        assert set(REQUIRED_COLUMNS[name]) <= set(rows[0]), name
    purchases = _rows(out / "purchases_raw.csv")
    assert {"Is Primary Attribution"} <= set(purchases[0])
    days = {r["Event Time"][:10] for r in purchases if r["Event Name"] == "af_purchase"}
    assert {"2024-03-01", "2024-03-10"} <= days
    assert "2024-02-29" not in days and "2024-03-11" not in days


def test_row_counts_are_within_the_stated_ratios(demo: tuple[Path, dict[str, int]]) -> None:
    out, counts = demo
    purchases = _rows(out / "purchases_raw.csv")
    events = Counter(r["Event Name"] for r in purchases)
    gateway_types = Counter(r["event_type"] for r in _rows(out / "confirmed_purchases.csv"))

    assert 1_700 <= events["af_purchase"] <= 2_300  # purchases + resends + non-primary copies
    assert sum(n for e, n in events.items() if e != "af_purchase") > 200  # other event names
    assert 0.90 <= gateway_types["purchase"] / 2_000 <= 1.0  # about 0.95 x purchases
    assert gateway_types["refund"] > 0 and gateway_types["chargeback"] > 0
    assert counts["sessions"] == pytest.approx(5 * 2_000, rel=0.01)
    assert counts["costs_daily"] >= 20 * 10  # every campaign every day, plus restatements


def test_realistic_mix(demo: tuple[Path, dict[str, int]]) -> None:
    out, _ = demo
    purchases = [r for r in _rows(out / "purchases_raw.csv") if r["Event Name"] == "af_purchase"]

    sources = Counter(r["Media Source"] for r in purchases)
    assert {"organic", ""} <= set(sources) and len(sources) >= 5
    assert {r["Platform"] for r in purchases} == {"android", "ios"}
    assert len({r["Event Revenue Currency"] for r in purchases}) >= 4
    primary = Counter(r["Is Primary Attribution"].strip().lower() for r in purchases)
    assert primary["false"] > 0
    with_order = sum(
        '"af_order_id"' in r["Event Value"] or "receipt" in r["Event Value"] for r in purchases
    )
    assert 0.8 < with_order / len(purchases) < 0.97


def test_reference_and_polars_pipeline_agree_on_demo_data(
    demo: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    pipeline = pytest.importorskip("analytics.pipeline")
    out, _ = demo

    pipeline.run_pipeline(out, tmp_path, pipeline.PipelineParams(report_date=END))
    exact = compute(out, Params(report_date=END))

    errors = diff_reports(load_reports(tmp_path), exact, exact=True, exact_reason=False)
    assert not errors, "\n".join(errors[:30])
    summary = exact["reconciliation"]
    assert summary["matched_by_id"] and summary["matched_by_time"]
    assert summary["duplicates_removed"] and summary["non_primary_dropped"]
    assert summary["unmatched_appsflyer"] and summary["unmatched_gateway"]
    assert summary["orphan_reversals"] and summary["chargeback_reversals"]
    assert summary["rejected_rows"] >= 10
    assert exact["roas_anomaly"]["anomalies"], "a collapsing campaign must show"


def test_parquet_output_has_the_same_rows(tmp_path: Path) -> None:
    args = {"purchases": 300, "days": 3, "seed": 5, "end_date": END, "campaigns": 5}
    csv_counts = generate_demo_data(tmp_path / "csv", **args)
    parquet_counts = generate_demo_data(tmp_path / "pq", fmt="parquet", **args)

    assert csv_counts == parquet_counts
    for name in INPUT_NAMES:
        assert pl.read_parquet(tmp_path / "pq" / f"{name}.parquet").height == csv_counts[name]
        assert not (tmp_path / "pq" / f"{name}.csv").exists()


def test_management_command_writes_and_prints_counts(tmp_path: Path) -> None:
    output = io.StringIO()

    call_command(
        "generate_demo_data",
        "--purchases=200",
        "--days=3",
        "--seed=9",
        "--end-date=2024-03-10",
        f"--out={tmp_path}",
        stdout=output,
    )

    for name in INPUT_NAMES:
        rows = len(_rows(tmp_path / f"{name}.csv"))
        assert f"{name}: {rows} rows" in output.getvalue()


def test_users_sets_the_number_of_distinct_players(tmp_path: Path) -> None:
    generate_demo_data(tmp_path, purchases=3_000, days=5, seed=3, end_date=END, users=2_500)
    sessions = pl.read_csv(tmp_path / "sessions.csv", infer_schema=False)
    purchases = pl.read_csv(tmp_path / "purchases_raw.csv", infer_schema=False)
    # 15,000 sessions drawn among 2,500 players reach nearly all of them; the default (1,000
    # players for 3,000 purchases) could not exceed 1,000.
    assert 2_400 <= sessions.get_column("user_id").n_unique() <= 2_501
    assert purchases.get_column("Customer User ID").n_unique() > 1_001
    with pytest.raises(ValueError, match="must be positive"):
        generate_demo_data(tmp_path, purchases=10, days=1, seed=1, users=0)
