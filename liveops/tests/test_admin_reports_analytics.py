"""ROAS, ARPDAU and reconciliation report pages: exact rows, charts and anomaly marks, and who
may read them."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.admin_factories import admin_client, staff_in
from analytics.models import (
    ArpdauDaily,
    ArpdauTotal,
    PipelineRun,
    RoasAnomaly,
)
from analytics.tests.report_rows import (
    WORKED_RECONCILIATION,
    anomaly,
    reconciliation_summary,
    roas,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    return PipelineRun.objects.create(
        status=PipelineRun.Status.SUCCEEDED, date=date(2025, 3, 3), source="cron"
    )


@pytest.fixture
def roas_rows(run):
    roas(run, 1, "facebook", "spring<sale>", "100", "150")
    roas(run, 2, "facebook", "spring<sale>", "100", "140")
    roas(run, 3, "facebook", "spring<sale>", "100", "50")
    roas(run, 3, "google", "", "10", "12")
    anomaly(run, 3, "facebook", "spring<sale>")


def test_roas_page_marks_the_anomaly_in_the_table_and_the_chart(roas_rows):
    client = admin_client(staff_in("analyst"))

    response = client.get(reverse("admin-reports:roas"))

    assert response.status_code == 200
    days = response.context["days"]
    assert (days.low, days.high) == (date(2025, 2, 2), date(2025, 3, 3))  # up to the latest
    # ranked by cost: facebook first
    assert [chart["name"] for chart in response.context["charts"]] == [
        "facebook / spring<sale>",
        "google / (none)",
    ]
    svg = str(response.context["charts"][0]["svg"])
    assert "ROAS 2025-03-01: 1.50" in svg
    assert "ROAS 2025-03-03: 0.5 (anomaly)" in svg
    assert svg.count('class="mark"') == 1
    assert "spring&lt;sale&gt;" in svg and "spring<sale>" not in svg
    table = [(item["row"].date.day, item["anomaly"]) for item in response.context["table"]]
    assert table == [(1, False), (2, False), (3, True), (3, False)]
    page = response.content.decode()
    assert page.count('<tr class="anomaly">') == 2  # the anomalies table and the ROAS row


def test_roas_page_shows_only_the_picked_campaign(roas_rows):
    client = admin_client(staff_in("analyst"))
    response = client.get(
        reverse("admin-reports:roas"),
        {"campaign": "google|", "day_from": "2025-03-01", "day_to": "2025-03-03"},
    )
    assert [chart["name"] for chart in response.context["charts"]] == ["google / (none)"]
    assert [item["row"].campaign for item in response.context["table"]] == [""]


def test_arpdau_page_charts_totals_and_campaigns(run):
    for day, revenue, dau in [(1, "30", 10), (2, "45", 15)]:
        ArpdauTotal.objects.create(
            run=run,
            date=date(2025, 3, day),
            revenue_usd=Decimal(revenue),
            dau=dau,
            arpdau=float(revenue) / dau,
        )
        ArpdauDaily.objects.create(
            run=run,
            date=date(2025, 3, day),
            media_source="tiktok",
            campaign="launch",
            revenue_usd=Decimal(revenue),
            dau=dau,
            arpdau=float(revenue) / dau,
        )
    client = admin_client(staff_in("analyst"))

    response = client.get(reverse("admin-reports:arpdau"))

    assert response.status_code == 200
    assert "all 2025-03-02: 3" in str(response.context["total_chart"])
    assert "tiktok / launch 2025-03-01: 3" in str(response.context["campaign_chart"])
    assert [(row.date.day, row.dau) for row in response.context["rows"]] == [(1, 10), (2, 15)]


def test_reconciliation_page_lists_each_run(run):
    reconciliation_summary(run, **WORKED_RECONCILIATION)
    client = admin_client(staff_in("analyst"))

    response = client.get(reverse("admin-reports:reconciliation"))

    assert response.status_code == 200
    chart = str(response.context["chart"])
    assert "purchases by id: 6" in chart and "purchases unmatched gateway: 1" in chart
    page = response.content.decode()
    for figure in ["90.50", "80.50", "9.00", "20.00", "80.0%"]:
        assert f'<td class="num">{figure}</td>' in page
    assert "<td>2025-03-03</td>" in page  # report days are ISO days


@pytest.mark.parametrize("name", ["roas", "arpdau", "reconciliation"])
@pytest.mark.parametrize(
    ("role", "status"), [("analyst", 200), ("support", 403), ("economy", 403), (None, 403)]
)
def test_who_can_read_the_analytics_reports(name, role, status):
    client = admin_client(staff_in(role))
    assert client.get(reverse(f"admin-reports:{name}")).status_code == status


@pytest.mark.parametrize(("role", "status"), [("analyst", 200), ("support", 403), ("economy", 403)])
def test_who_can_see_runs_and_queue_one(role, status):
    client = admin_client(staff_in(role))
    assert client.get(reverse("admin:analytics_pipelinerun_changelist")).status_code == status
    assert client.get(reverse("admin:analytics_pipelinerun_run")).status_code == status
    response = client.post(reverse("admin:analytics_pipelinerun_run"), {"date": "2025-03-03"})
    assert PipelineRun.objects.filter(date=date(2025, 3, 3)).exists() is (status == 200)
    assert response.status_code == (302 if status == 200 else 403)


def test_an_active_run_page_refreshes_itself_until_it_ends(run):
    client = admin_client(staff_in("analyst"))
    queued = PipelineRun.objects.create(status="queued", date=date(2025, 3, 4), source="admin")
    active = client.get(reverse("admin:analytics_pipelinerun_change", args=[queued.pk]))
    assert '<meta http-equiv="refresh" content="2">' in active.content.decode()
    done = client.get(reverse("admin:analytics_pipelinerun_change", args=[run.pk]))
    assert 'http-equiv="refresh"' not in done.content.decode()
    assert "Status: <strong>succeeded</strong>" in done.content.decode()


def test_the_index_lists_the_reports_of_the_role():
    analyst = admin_client(staff_in("analyst")).get(reverse("admin:index")).content.decode()
    assert reverse("admin-reports:roas") in analyst
    assert reverse("admin-reports:economy-flows") in analyst
    support = admin_client(staff_in("support")).get(reverse("admin:index")).content.decode()
    assert reverse("admin-reports:roas") not in support


def test_the_default_roas_range_ends_at_the_last_day_with_spend(run):
    # Spend until 3 March; revenue keeps being attributed to the campaign until 12 March
    # (rows without cost, so without ROAS). The default range is the 30 days up to 3 March.
    roas(run, 2, "facebook", "spring", "100", "150")
    roas(run, 3, "facebook", "spring", "100", "50")
    for day in (5, 9, 12):
        roas(run, day, "facebook", "spring", "0", "3")
    client = admin_client(staff_in("analyst"))

    response = client.get(reverse("admin-reports:roas"))

    days = response.context["days"]
    assert (days.low, days.high) == (date(2025, 2, 2), date(2025, 3, 3))
    assert len(days.days) == 30
    page = response.content.decode()
    assert 'id="id_day_to" value="2025-03-03"' in page
    assert [item["row"].date.day for item in response.context["table"]] == [2, 3]


def campaign_anomaly(run, day, media_source, campaign):
    return RoasAnomaly.objects.create(
        run=run,
        date=date(2025, 3, day),
        media_source=media_source,
        campaign=campaign,
        roas=0.25,
        baseline_roas=1.0,
        baseline_days=7,
        drop=0.75,
        mean=1.0,
        std=0.1,
        z=-7.5,
        cost_usd=Decimal("1234.5"),
        revenue_usd=Decimal("308.625"),
    )


def test_anomalies_of_campaigns_not_charted_are_listed_marked_and_counted(run):
    # Seven campaigns: only the six largest by cost get a chart; c7 has an anomaly.
    for number in range(1, 8):
        roas(run, 3, "network", f"c{number}", str(1000 - number), "500")
    campaign_anomaly(run, 3, "network", "c1")
    campaign_anomaly(run, 3, "network", "c7")
    client = admin_client(staff_in("analyst"))
    range_ = {"day_from": "2025-03-01", "day_to": "2025-03-03"}

    response = client.get(reverse("admin-reports:roas"), range_)

    assert [chart["name"] for chart in response.context["charts"]] == [
        f"network / c{number}" for number in range(1, 7)
    ]
    listed = [(item["anomaly"].campaign, item["charted"]) for item in response.context["anomalies"]]
    assert listed == [("c1", True), ("c7", False)]
    page = response.content.decode()
    count_line = "2 anomalies in range, 1 in campaigns not charted."
    assert f'<p id="roas-anomaly-count">{count_line}</p>' in page
    assert page.count('<span class="anomaly-flag">not charted</span>') == 1
    link = "?day_from=2025-03-01&amp;day_to=2025-03-03" + "".join(
        f"&amp;campaign=network%7Cc{number}" for number in [1, 2, 3, 4, 5, 6, 7]
    )
    assert f'<a class="show-chart" href="{link}">show its chart</a>' in page
    # figures in the report formats: money with 2 decimals, ratios 4, the drop in percent
    for figure in ["0.2500", "1.0000", "75.0%", "-7.5000", "1,234.50", "308.62"]:
        assert f'<td class="num">{figure}</td>' in page

    followed = client.get(
        reverse("admin-reports:roas"),
        {**range_, "campaign": [f"network|c{number}" for number in range(1, 8)]},
    )

    assert followed.context["charts"][-1]["name"] == "network / c7"
    assert "1 anomaly in range" not in followed.content.decode()
    assert "2 anomalies in range, 0 in campaigns not charted." in followed.content.decode()


def test_one_anomaly_reads_in_the_singular(run):
    roas(run, 3, "network", "c1", "10", "1")
    campaign_anomaly(run, 3, "network", "c1")
    page = admin_client(staff_in("analyst")).get(reverse("admin-reports:roas")).content.decode()
    assert "1 anomaly in range, 0 in campaigns not charted." in page
