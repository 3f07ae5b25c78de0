"""The report tables of the admin print numbers with core.formats, right-aligned."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from accounts.tests.factories import StaffFactory
from analytics.models import ArpdauDaily, ArpdauTotal, PipelineRun, RoasDaily
from analytics.tests.report_rows import reconciliation_summary

pytestmark = pytest.mark.django_db

DAY = date(2026, 12, 3)


@pytest.fixture
def client() -> Client:
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def run() -> PipelineRun:
    return PipelineRun.objects.create(date=DAY, source="api", status="succeeded")


def cell(text: str) -> str:
    return (
        '<span class="num" style="display:block;text-align:right;'
        f'font-variant-numeric:tabular-nums">{text}</span>'
    )


def test_roas_money_has_two_decimals_and_roas_four(client: Client, run: PipelineRun) -> None:
    RoasDaily.objects.create(
        run=run,
        date=DAY,
        media_source="tiktok",
        campaign="launch",
        cost_usd=Decimal("1234.567891"),
        gross_revenue_usd=Decimal("2000.5"),
        reversed_usd=Decimal("0.004999"),
        revenue_usd=Decimal("2000.495001"),
        roas=1.6203949071234567,
    )

    page = client.get("/admin/analytics/roasdaily/").content.decode()

    for text in ("1,234.57", "2,000.50", "0.00", "1.6204"):
        assert cell(text) in page
    assert "1234.567891" not in page
    assert "1.6203949071234567" not in page


def test_arpdau_has_four_decimals(client: Client, run: PipelineRun) -> None:
    ArpdauTotal.objects.create(
        run=run, date=DAY, revenue_usd=Decimal("12.3"), dau=1530, arpdau=0.0080392156862745
    )
    ArpdauDaily.objects.create(
        run=run,
        date=DAY,
        media_source="google",
        campaign="",
        revenue_usd=Decimal("1"),
        dau=3,
        arpdau=0.3333333333333333,
    )

    total = client.get("/admin/analytics/arpdautotal/").content.decode()
    daily = client.get("/admin/analytics/arpdaudaily/").content.decode()

    assert cell("0.0080") in total and cell("12.30") in total and cell("1,530") in total
    assert cell("0.3333") in daily
    assert "0.0080392156862745" not in total and "0.3333333333333333" not in daily


def test_reconciliation_match_rate_is_a_percentage(client: Client, run: PipelineRun) -> None:
    reconciliation_summary(
        run,
        appsflyer_purchases=1200,
        gateway_purchases=1190,
        matched=1101,
        match_rate=0.9247,
        net_usd=Decimal("10500.125"),
        unattributed_usd=Decimal("7"),
        rejected_rows=2,
    )

    page = client.get("/admin/analytics/reconciliationsummary/").content.decode()

    assert cell("92.5%") in page
    assert cell("1,200") in page and cell("10,500.12") in page and cell("7.00") in page
    assert "0.9247" not in page
