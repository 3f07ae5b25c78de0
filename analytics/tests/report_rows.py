"""Stored report rows for tests of the pages and selectors that read them: a ROAS row, an
anomaly and a run's reconciliation, with the figures a test does not care about filled in."""

from datetime import date
from decimal import Decimal

from analytics.models import ReconciliationSummary, RoasAnomaly, RoasDaily
from analytics.report_storage import RECONCILIATION_COUNTS, REVENUE_FIELDS

# A small worked reconciliation: 10 AppsFlyer purchases, 9 at the gateway, 8 matched.
WORKED_RECONCILIATION = {
    "window_minutes": 10,
    "appsflyer_rows": 12,
    "non_primary_dropped": 1,
    "duplicates_removed": 1,
    "appsflyer_purchases": 10,
    "gateway_purchases": 9,
    "matched": 8,
    "matched_by_id": 6,
    "matched_by_time": 2,
    "unmatched_appsflyer": 2,
    "unmatched_gateway": 1,
    "match_rate": 0.8,
    "appsflyer_usd": Decimal("100"),
    "confirmed_usd": Decimal("90.5"),
    "reversed_usd": Decimal("10"),
    "net_usd": Decimal("80.5"),
    "unattributed_usd": Decimal("9"),
    "unconfirmed_usd": Decimal("20"),
    "refunds": 1,
    "chargebacks": 1,
    "chargeback_reversals": 0,
    "orphan_reversals": 0,
    "rejected_rows": 3,
}


def roas(run, day, media_source, campaign, cost, revenue, reversed_="0"):
    """The ROAS row of 2025-03-`day`: `revenue` net of `reversed_`; no ROAS without cost."""
    cost, revenue, reversed_ = Decimal(cost), Decimal(revenue), Decimal(reversed_)
    return RoasDaily.objects.create(
        run=run,
        date=date(2025, 3, day),
        media_source=media_source,
        campaign=campaign,
        cost_usd=cost,
        gross_revenue_usd=revenue + reversed_,
        reversed_usd=reversed_,
        revenue_usd=revenue,
        roas=float(revenue / cost) if cost else None,
    )


def anomaly(run, day, media_source, campaign, **figures):
    """An anomaly on 2025-03-`day`: ROAS 0.5 against a baseline of 1.45 unless `figures` say."""
    return RoasAnomaly.objects.create(
        run=run,
        date=date(2025, 3, day),
        media_source=media_source,
        campaign=campaign,
        **{
            "roas": 0.5,
            "baseline_roas": 1.45,
            "baseline_days": 2,
            "drop": 0.6552,
            "mean": 1.45,
            "std": 0.0707,
            "z": -13.435,
            "cost_usd": Decimal(100),
            "revenue_usd": Decimal(50),
            **figures,
        },
    )


def reconciliation_summary(run, **figures):
    """The reconciliation of `run` for its day: every count 0, every amount 0.00 and no match
    rate, but for `figures` (for example `**WORKED_RECONCILIATION`)."""
    counts = dict.fromkeys(RECONCILIATION_COUNTS, 0)
    money = dict.fromkeys(REVENUE_FIELDS.values(), Decimal(0))
    return ReconciliationSummary.objects.create(
        **{
            "run": run,
            "date": run.date,
            "match_rate": None,
            "data": {},
            **counts,
            **money,
            **figures,
        }
    )
