"""analytics.selectors: the stored reports as the live-ops report pages read them."""

from datetime import date
from decimal import Decimal

import pytest

from analytics import selectors
from analytics.models import (
    ArpdauDaily,
    ArpdauTotal,
    PipelineRun,
    RoasDaily,
)
from analytics.selectors import Campaign
from analytics.tests.report_rows import anomaly, reconciliation_summary, roas

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    return PipelineRun.objects.create(
        status=PipelineRun.Status.SUCCEEDED, date=date(2025, 3, 3), source="cron"
    )


@pytest.fixture
def roas_rows(run):
    """Spend until 3 March; revenue attributed to facebook on 5 and 12 March (no cost: no
    ROAS)."""
    roas(run, 1, "facebook", "spring", "100", "150")
    roas(run, 3, "facebook", "spring", "100", "50")
    roas(run, 2, "google", "", "250.5", "12.345678")
    roas(run, 3, "tiktok", "launch", "7", "1")
    roas(run, 5, "facebook", "spring", "0", "4")
    roas(run, 12, "facebook", "spring", "0", "2")
    anomaly(run, 3, "facebook", "spring")
    anomaly(run, 3, "tiktok", "launch")
    anomaly(run, 1, "google", "")


def test_campaign_keys_and_labels():
    assert Campaign("google", "").key == "google|"
    assert Campaign("google", "").label == "google / (none)"
    assert Campaign.from_key("facebook|spring|b") == Campaign("facebook", "spring|b")
    assert Campaign.from_key("facebook") == Campaign("facebook", "")


def test_roas_latest_day_is_the_last_day_with_spend(roas_rows):
    assert RoasDaily.objects.latest("date").date == date(2025, 3, 12)
    assert selectors.roas_latest_day() == date(2025, 3, 3)


def test_roas_latest_day_without_rows_is_none():
    assert selectors.roas_latest_day() is None


def test_roas_campaigns_ranked_by_cost_in_the_range(roas_rows):
    assert selectors.roas_campaigns_ranked(day_from=date(2025, 3, 1), day_to=date(2025, 3, 3)) == [
        Campaign("google", ""),  # 250.5
        Campaign("facebook", "spring"),  # 200
        Campaign("tiktok", "launch"),  # 7
    ]
    assert selectors.roas_campaigns_ranked(day_from=date(2025, 3, 3), day_to=date(2025, 3, 3)) == [
        Campaign("facebook", "spring"),
        Campaign("tiktok", "launch"),
    ]


def test_roas_rows_of_the_campaigns_in_the_range_exactly(roas_rows):
    rows = selectors.roas_rows(
        day_from=date(2025, 3, 2),
        day_to=date(2025, 3, 5),
        campaigns=[Campaign("facebook", "spring"), Campaign("google", "")],
    )
    assert [(r.media_source, r.campaign, r.date.day, r.cost_usd, r.revenue_usd) for r in rows] == [
        ("facebook", "spring", 3, Decimal("100"), Decimal("50")),
        ("facebook", "spring", 5, Decimal("0"), Decimal("4")),
        ("google", "", 2, Decimal("250.5"), Decimal("12.345678")),
    ]
    assert [r.roas for r in rows] == [0.5, None, float(Decimal("12.345678") / Decimal("250.5"))]
    assert not selectors.roas_rows(
        day_from=date(2025, 3, 1), day_to=date(2025, 3, 31), campaigns=[]
    ).exists()


def test_roas_anomalies_of_every_campaign_newest_first(roas_rows):
    found = selectors.roas_anomalies(day_from=date(2025, 3, 1), day_to=date(2025, 3, 3))
    assert [(a.date.day, a.media_source, a.campaign) for a in found] == [
        (3, "facebook", "spring"),
        (3, "tiktok", "launch"),
        (1, "google", ""),
    ]
    later = selectors.roas_anomalies(day_from=date(2025, 3, 2), day_to=date(2025, 3, 31))
    assert [(a.date.day, a.media_source) for a in later] == [(3, "facebook"), (3, "tiktok")]


def test_arpdau_rows_totals_and_ranking(run):
    for day, media_source, revenue, dau in [
        (1, "tiktok", "30", 10),
        (2, "tiktok", "45", 15),
        (2, "unity", "50.123456", 4),
        (4, "unity", "1", 1),
    ]:
        ArpdauDaily.objects.create(
            run=run,
            date=date(2025, 3, day),
            media_source=media_source,
            campaign="launch",
            revenue_usd=Decimal(revenue),
            dau=dau,
            arpdau=float(Decimal(revenue) / dau),
        )
    for day, revenue, dau in [(1, "30", 10), (2, "95.123456", 19), (4, "1", 1)]:
        ArpdauTotal.objects.create(
            run=run,
            date=date(2025, 3, day),
            revenue_usd=Decimal(revenue),
            dau=dau,
            arpdau=float(Decimal(revenue) / dau),
        )
    march_1_to_2 = {"day_from": date(2025, 3, 1), "day_to": date(2025, 3, 2)}

    assert selectors.arpdau_latest_day() == date(2025, 3, 4)
    assert selectors.arpdau_campaigns_ranked(**march_1_to_2) == [
        Campaign("tiktok", "launch"),  # 75
        Campaign("unity", "launch"),  # 50.123456
    ]
    rows = selectors.arpdau_rows(**march_1_to_2, campaigns=[Campaign("unity", "launch")])
    assert [(r.date.day, r.revenue_usd, r.dau) for r in rows] == [(2, Decimal("50.123456"), 4)]
    totals = selectors.arpdau_totals(**march_1_to_2)
    assert [(t.date.day, t.revenue_usd, t.dau) for t in totals] == [
        (1, Decimal("30"), 10),
        (2, Decimal("95.123456"), 19),
    ]


def test_arpdau_latest_day_without_rows_is_none():
    assert selectors.arpdau_latest_day() is None


def test_reconciliation_summaries_newest_run_first_with_a_limit():
    runs = [
        PipelineRun.objects.create(status="succeeded", date=date(2025, 3, day), source="cron")
        for day in (1, 2, 3)
    ]
    for number, run in enumerate(runs):
        reconciliation_summary(run, matched=number, net_usd=Decimal("1.234567") * number)

    latest_two = selectors.reconciliation_summaries(limit=2)

    assert [(s.run_id, s.date.day, s.matched, s.net_usd) for s in latest_two] == [
        (runs[2].pk, 3, 2, Decimal("2.469134")),
        (runs[1].pk, 2, 1, Decimal("1.234567")),
    ]
    assert latest_two[0].run.status == "succeeded"
