"""Steps 4-8: reversals, activity-view revenue, ROAS, anomalies and ARPDAU."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from analytics.pipeline import PipelineParams
from analytics.pipeline import revenue as revenue_module

from .pipeline_inputs import REPORT_DATE, af, cost, gw, run, session

D = "2024-03-10"


def day(offset: int) -> str:
    return (REPORT_DATE + dt.timedelta(days=offset)).isoformat()


def test_reversals_are_clamped_per_purchase_and_orphans_change_nothing(tmp_path: Path) -> None:
    _, reports = run(
        tmp_path,
        purchases=[af(order="T1", usd="10"), af(order="T2", usd="10"), af(order="T3", usd="10")],
        gateway=[
            gw(txn="T1", usd="10.00"),
            gw(txn="T1", type="refund", usd="6"),
            gw(txn="T1", type="chargeback", usd="6", time="2024-03-10T13:00:00Z"),
            gw(txn="T2", usd="10.00"),
            gw(txn="T2", type="chargeback", usd="3"),
            gw(txn="T2", type="chargeback_reversal", usd="5", time="2024-03-10T14:00:00Z"),
            gw(txn="T3", usd="10.00"),
            gw(txn="T3", type="refund", usd="2.5"),
            gw(txn="T404", type="refund", usd="99"),
        ],
    )
    curated = [(r["confirmed_usd"], r["reversed_usd"], r["net_usd"]) for r in reports["curated"]]
    assert curated == [
        ("10.00", "10.00", "0.00"),
        ("10.00", "0.00", "10.00"),
        ("10.00", "2.50", "7.50"),
    ]
    assert reports["reconciliation"]["revenue_usd"] == {
        "appsflyer": 30.0,
        "confirmed": 30.0,
        "reversed": 12.5,
        "net": 17.5,
        "unattributed": 0.0,
        "unconfirmed": 0.0,
    }
    assert reports["reconciliation"]["orphan_reversals"] == 1
    # The activity view books every reversal in full, unclamped: 30 - (12 + 3 - 5 + 2.5).
    assert reports["roas"]["campaigns"] == [
        {
            "media_source": "net",
            "campaign": "c1",
            "cost_usd": 0.0,
            "gross_revenue_usd": 30.0,
            "reversed_usd": 12.5,
            "revenue_usd": 17.5,
            "roas": None,
        }
    ]


def test_reversals_count_on_their_own_day_and_purchases_on_the_appsflyer_day(
    tmp_path: Path,
) -> None:
    result, _ = run(
        tmp_path,
        purchases=[
            # AppsFlyer just before midnight, gateway just after: the purchase is on D-1.
            af(order="T1", time=f"{day(-1)} 23:59:59.999999", usd="1"),
            af(order="T2", time=f"{D} 08:00:00", source="", campaign="x", usd="1"),
        ],
        gateway=[
            gw(txn="T1", time=f"{D}T00:00:00.000001Z", usd="4.00"),
            gw(txn="T2", time=f"{D}T08:00:00Z", usd="3.00"),
            gw(txn="T1", type="chargeback", time=f"{D}T10:00:00+02:00", usd="1.50"),
            gw(txn="T1", type="refund", time=f"{day(1)}T00:30:00+01:00", usd="1.00"),
            gw(txn="T1", type="refund", time=f"{day(1)}T12:00:00Z", usd="0.25"),
        ],
        costs=[cost(day(-1), "net", "c1", "2.00"), cost(D, "net", "c1", "0")],
    )
    rows = [
        (
            r["date"].isoformat(),
            r["media_source"],
            r["campaign"],
            r["cost_usd"],
            r["gross_revenue_usd"],
            r["reversed_usd"],
            r["revenue_usd"],
            r["roas"],
        )
        for r in result.roas_daily.iter_rows(named=True)
    ]
    assert rows == [
        (day(-1), "net", "c1", Decimal("2"), Decimal("4"), Decimal("0"), Decimal("4"), 2.0),
        (D, "net", "c1", Decimal("0"), Decimal("0"), Decimal("2.5"), Decimal("-2.5"), None),
        (D, "organic", "", Decimal("0"), Decimal("3"), Decimal("0"), Decimal("3"), None),
        (day(1), "net", "c1", Decimal("0"), Decimal("0"), Decimal("0.25"), Decimal("-0.25"), None),
    ]


def test_unmatched_gateway_revenue_is_only_in_the_day_total(tmp_path: Path) -> None:
    result, reports = run(
        tmp_path,
        purchases=[af(order="T1", usd="9.99", user="u1"), af(order="NOPE", user="u9", usd="5")],
        gateway=[
            gw(txn="T1", usd="2.00"),
            gw(txn="T2", user="u2", time=f"{D}T18:00:00Z", usd="3.00"),
            gw(txn="T2", type="refund", time=f"{D}T19:00:00Z", usd="0.50"),
            gw(txn="T3", user="u3", time=f"{day(-1)}T18:00:00Z", usd="7.00"),
            gw(txn="T3", type="refund", time=f"{D}T19:00:00Z", usd="1.00"),
        ],
        sessions=[session("u1", f"{D}T01:00:00Z"), session("u2", f"{D}T02:00:00Z", "", "")],
    )
    assert reports["reconciliation"]["revenue_usd"]["unattributed"] == 8.5
    assert reports["reconciliation"]["revenue_usd"]["unconfirmed"] == 5.0
    assert reports["reconciliation"]["unmatched_gateway"] == 2
    assert reports["arpdau"] == {
        "date": D,
        "total": {"revenue_usd": 3.5, "dau": 2, "arpdau": 1.75},  # 2 + 3 - 0.5 - 1
        "campaigns": [
            {"media_source": "net", "campaign": "c1", "revenue_usd": 2.0, "dau": 1, "arpdau": 2.0},
            {
                "media_source": "organic",
                "campaign": "",
                "revenue_usd": 0.0,
                "dau": 1,
                "arpdau": 0.0,
            },
        ],
    }
    totals = {
        r["date"].isoformat(): (r["revenue_usd"], r["dau"])
        for r in result.arpdau_totals.iter_rows(named=True)
    }
    assert totals == {day(-1): (Decimal("7"), 0), D: (Decimal("3.5"), 2)}


def test_restated_costs_last_valid_row_wins_and_organic_is_one_key(tmp_path: Path) -> None:
    result, reports = run(
        tmp_path,
        costs=[
            cost(D, "net", "c1", "10.00"),
            cost(D, "net", "c1", "12.50"),
            cost(D, "net", "c1", "-1"),  # invalid: rejected, does not restate
            cost(D, "net", "C1", "3"),
            cost(D, "", "spring", "1"),
            cost(D, "organic", "", "2"),
            cost("2024-03-32", "net", "c1", "1"),
            cost(D, "net", "c2", "1e2"),
        ],
    )
    assert reports["roas"]["campaigns"] == [
        {
            "media_source": "net",
            "campaign": "C1",
            "cost_usd": 3.0,
            "gross_revenue_usd": 0.0,
            "reversed_usd": 0.0,
            "revenue_usd": 0.0,
            "roas": 0.0,
        },
        {
            "media_source": "net",
            "campaign": "c1",
            "cost_usd": 12.5,
            "gross_revenue_usd": 0.0,
            "reversed_usd": 0.0,
            "revenue_usd": 0.0,
            "roas": 0.0,
        },
        {
            "media_source": "organic",
            "campaign": "",
            "cost_usd": 2.0,
            "gross_revenue_usd": 0.0,
            "reversed_usd": 0.0,
            "revenue_usd": 0.0,
            "roas": 0.0,
        },
    ]
    assert [(r["line"], r["reason"]) for r in reports["rejected"]] == [
        ("4", "negative cost_usd"),
        ("8", "bad date"),
        ("9", "bad cost_usd"),
    ]
    assert result.roas_daily.height == 3


def test_roas_every_day_and_campaign_is_in_the_result(tmp_path: Path) -> None:
    result, reports = run(
        tmp_path,
        purchases=[af(order="T1", time=f"{day(-3)} 10:00:00")],
        gateway=[gw(txn="T1", time=f"{day(-3)}T10:00:00Z", usd="6.00")],
        costs=[cost(day(-3), "net", "c1", "4.00"), cost(day(-2), "net", "c9", "1.00")],
    )
    assert result.roas_daily.select("date", "campaign", "revenue_usd", "roas").rows() == [
        (REPORT_DATE - dt.timedelta(3), "c1", Decimal("6"), 1.5),
        (REPORT_DATE - dt.timedelta(2), "c9", Decimal("0"), 0.0),
    ]
    assert reports["roas"] == {"date": D, "campaigns": []}


def anomaly_inputs(revenues: list[tuple[int, str, str]], day_cost: str = "10"):
    """(days back, cost, revenue) baseline rows plus day D with `day_cost` and revenue 1."""
    purchases, gateway, costs = [], [], []
    for back, cost_usd, revenue in [*revenues, (0, day_cost, "1.00")]:
        date = day(-back)
        costs.append(cost(date, "net", "c1", cost_usd))
        if revenue != "0":
            txn = f"T{back}"
            purchases.append(af(order=txn, time=f"{date} 10:00:00"))
            gateway.append(gw(txn=txn, time=f"{date}T10:00:00Z", usd=revenue))
    return {"purchases": purchases, "gateway": gateway, "costs": costs}


def test_anomaly_baseline_is_a_ratio_of_sums_with_sample_std(tmp_path: Path) -> None:
    inputs = anomaly_inputs(
        [(1, "10", "5"), (2, "20", "4"), (3, "0", "50"), (7, "10", "3"), (8, "10", "90")]
    )
    _, reports = run(tmp_path, **inputs)
    # Baseline days D-1, D-2, D-7 (D-3 had no cost, D-8 is outside): 12 / 40 = 0.3.
    # Daily ROAS 0.5, 0.2, 0.3: mean 1/3, sample std 0.152752523...; ROAS on D 0.1.
    assert reports["anomaly"] == {
        "date": D,
        "rule": {"days": 7, "min_days": 3, "drop": 0.3, "min_spend": 1.0},
        "anomalies": [
            {
                "media_source": "net",
                "campaign": "c1",
                "roas": 0.1,
                "baseline_roas": 0.3,
                "baseline_days": 3,
                "drop": 0.6667,
                "mean": 0.3333,
                "std": 0.1528,
                "z": -1.5275,
                "cost_usd": 10.0,
                "revenue_usd": 1.0,
            }
        ],
    }


def test_anomaly_needs_min_days_min_spend_a_positive_baseline_and_the_drop(
    tmp_path: Path,
) -> None:
    two_days = anomaly_inputs([(1, "10", "5"), (2, "10", "5")])
    _, reports = run(tmp_path / "a", **two_days)
    assert reports["anomaly"]["anomalies"] == []

    params = PipelineParams(report_date=REPORT_DATE, anomaly_min_days=1)
    one_day = anomaly_inputs([(4, "10", "5")])
    _, reports = run(tmp_path / "b", params=params, **one_day)
    [entry] = reports["anomaly"]["anomalies"]
    assert (entry["baseline_days"], entry["mean"], entry["std"], entry["z"]) == (1, 0.5, None, None)

    cheap = anomaly_inputs([(1, "10", "5"), (2, "10", "5"), (3, "10", "5")], day_cost="0.99")
    _, reports = run(tmp_path / "c", **cheap)
    assert reports["anomaly"]["anomalies"] == []

    no_revenue = anomaly_inputs([(1, "10", "0"), (2, "10", "0"), (3, "10", "0")])
    _, reports = run(tmp_path / "d", **no_revenue)
    assert reports["anomaly"]["anomalies"] == []

    small_drop = anomaly_inputs([(1, "10", "1.2"), (2, "10", "1.2"), (3, "10", "1.2")])
    _, reports = run(tmp_path / "e", **small_drop)  # drop 1 - 0.1 / 0.12 = 0.1667
    assert reports["anomaly"]["anomalies"] == []

    equal_days = anomaly_inputs([(1, "10", "5"), (2, "10", "5"), (3, "10", "5")])
    _, reports = run(tmp_path / "f", **equal_days)
    [entry] = reports["anomaly"]["anomalies"]
    assert (entry["drop"], entry["std"], entry["z"]) == (0.8, 0.0, None)


def test_arpdau_counts_distinct_players_per_attribution_and_per_day(tmp_path: Path) -> None:
    result, reports = run(
        tmp_path,
        purchases=[af(order="T1", user="u1", source="net", campaign="c2")],
        gateway=[gw(txn="T1", user="u1", usd="3.00")],
        sessions=[
            session("u1", f"{D}T01:00:00Z", "net", "c1"),
            session("u1", f"{D}T02:00:00Z", "net", "c1"),
            session("u1", f"{D}T03:00:00Z", "organic", "ignored"),
            session("u2", f"{D}T23:30:00-01:00", "net", "c1"),  # next UTC day
            session("u3", f"{day(-1)}T23:30:00-01:00", "", ""),  # D in UTC
            session("", f"{D}T01:00:00Z"),
            session("u4", "2024-03-10"),
        ],
    )
    assert reports["arpdau"] == {
        "date": D,
        "total": {"revenue_usd": 3.0, "dau": 2, "arpdau": 1.5},
        "campaigns": [
            {"media_source": "net", "campaign": "c1", "revenue_usd": 0.0, "dau": 1, "arpdau": 0.0},
            {"media_source": "net", "campaign": "c2", "revenue_usd": 3.0, "dau": 0, "arpdau": None},
            {
                "media_source": "organic",
                "campaign": "",
                "revenue_usd": 0.0,
                "dau": 2,
                "arpdau": 0.0,
            },
        ],
    }
    assert [(r["file"], r["line"], r["reason"]) for r in reports["rejected"]] == [
        ("sessions", "7", "empty user_id"),
        ("sessions", "8", "bad session_start"),
    ]
    assert result.arpdau_daily.filter(
        result.arpdau_daily["date"] == REPORT_DATE + dt.timedelta(1)
    ).rows() == [(REPORT_DATE + dt.timedelta(1), "net", "c1", Decimal("0"), 1, 0.0)]


def test_a_user_key_collision_recounts_on_the_user_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = [
        session("u1", f"{D}T01:00:00Z", "net", "c1"),
        session("u2", f"{D}T02:00:00Z", "net", "c1"),
        session("u3", f"{D}T03:00:00Z", "net", "c2"),
        session("u3", f"{D}T04:00:00Z", "organic", "ignored"),
        session("u4", f"{D}T23:30:00-01:00", "net", "c1"),  # next UTC day
        session("", f"{D}T01:00:00Z"),
    ]
    _, hashed = run(tmp_path / "hashed", sessions=sessions)
    exact_runs: list[int] = []
    exact = revenue_module.exact_active_players

    def counting_exact(*args: Any, **kwargs: Any) -> revenue_module.ActivePlayers:
        exact_runs.append(1)
        return exact(*args, **kwargs)

    # Every user id under one key: counted on the keys, D would have one player.
    one_key = pl.lit(7, pl.UInt64).alias("_user_key")
    monkeypatch.setattr(revenue_module, "_user_key", lambda user: one_key)
    monkeypatch.setattr(revenue_module, "exact_active_players", counting_exact)
    _, collided = run(tmp_path / "collided", sessions=sessions)
    assert exact_runs == [1]
    assert collided["arpdau"] == hashed["arpdau"]
    assert hashed["arpdau"]["total"]["dau"] == 3
    campaigns = hashed["arpdau"]["campaigns"]
    assert [(c["media_source"], c["campaign"], c["dau"]) for c in campaigns] == [
        ("net", "c1", 2),
        ("net", "c2", 1),
        ("organic", "", 1),
    ]
    assert collided["rejected"] == hashed["rejected"]
    assert [(r["line"], r["reason"]) for r in hashed["rejected"]] == [("7", "empty user_id")]
