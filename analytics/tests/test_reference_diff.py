"""The report comparison used by the fixture and cross-check tests catches what it must."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from analytics.tests.reference_pipeline import (
    Params,
    compute,
    diff_reports,
    load_reports,
    write_reports,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pipeline"


def _reports(tmp_path: Path) -> tuple[dict, dict]:
    exact = compute(FIXTURES, Params(report_date=date(2024, 3, 10)))
    write_reports(exact, tmp_path)
    return exact, load_reports(tmp_path)


def test_identical_reports_have_no_difference(tmp_path: Path) -> None:
    exact, written = _reports(tmp_path)

    assert diff_reports(written, exact, exact=True) == []


def test_a_figure_one_cent_off_is_reported(tmp_path: Path) -> None:
    exact, written = _reports(tmp_path)
    written["roas_d1"]["campaigns"][0]["revenue_usd"] += Decimal("0.01")

    errors = diff_reports(written, exact, exact=True)

    assert len(errors) == 1 and "roas_d1.campaigns[0].revenue_usd" in errors[0]


def test_a_missing_curated_row_and_a_changed_raw_are_reported(tmp_path: Path) -> None:
    exact, written = _reports(tmp_path)
    del written["purchases_curated"][5]
    raw = json.loads(written["rejected_rows"][0]["raw"])
    raw["Event Time"] = "2024-03-10 10:00:00"
    written["rejected_rows"][0]["raw"] = json.dumps(raw)

    errors = diff_reports(written, exact, exact=True)

    assert any("purchases_curated: 37 rows, expected 38" in e for e in errors)
    assert any("rejected_rows purchases_raw:47: raw" in e for e in errors)


def test_either_neighbour_of_an_exact_tie_is_a_correct_rounding(tmp_path: Path) -> None:
    exact, written = _reports(tmp_path)
    exact["reconciliation"]["match_rate"] = Decimal("0.03125")  # exact tie at 4 decimals
    accepted = []
    for text in ("0.0312", "0.0313", "0.0311", "0.03125"):
        written["reconciliation"]["match_rate"] = Decimal(text)
        accepted.append(diff_reports(written, exact, exact=True) == [])

    assert accepted == [True, True, False, False]


def test_reasons_must_be_consistent_when_texts_may_differ(tmp_path: Path) -> None:
    exact, written = _reports(tmp_path)
    for row in written["rejected_rows"]:
        row["reason"] = "other words: " + row["reason"]
    assert diff_reports(written, exact, exact=True, exact_reason=False) == []

    written["rejected_rows"][0]["reason"] = "something else"  # line 48 keeps the old text
    errors = diff_reports(written, exact, exact=True, exact_reason=False)
    assert any("purchases_raw:48" in e for e in errors)
