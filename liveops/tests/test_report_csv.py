"""CSV downloads of every report table (`?format=csv&table=<name>`): exact header and rows, the
range and campaigns on screen, formula-injection prefixes, exact decimals, the page's
permissions and the page's range errors."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.admin_factories import admin_client, staff_in
from analytics.models import (
    ArpdauDaily,
    ArpdauTotal,
    PipelineRun,
)
from analytics.tests.report_rows import (
    WORKED_RECONCILIATION,
    anomaly,
    reconciliation_summary,
    roas,
)
from economy.tests.helpers import write_ledger_activity

pytestmark = pytest.mark.django_db

INJECTED = '=HYPERLINK("http://evil.example","x")'


def csv_of(response):
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content).decode()


def download(client, name, **query):
    return client.get(reverse(f"admin-reports:{name}"), {**query, "format": "csv"})


@pytest.fixture
def run():
    return PipelineRun.objects.create(
        status=PipelineRun.Status.SUCCEEDED, date=date(2025, 3, 3), source="cron"
    )


@pytest.fixture
def roas_data(run):
    roas(run, 1, "facebook", INJECTED, "100", "150")
    roas(run, 2, "facebook", INJECTED, "100", "12.345678", reversed_="1.5")
    roas(run, 3, "facebook", INJECTED, "100", "50")
    roas(run, 3, "google", "-5", "10", "12")
    roas(run, 4, "google", "-5", "10", "0")  # outside the ranges asked below
    anomaly(run, 3, "facebook", INJECTED)
    anomaly(run, 2, "google", "-5", z=None, cost_usd=Decimal("10.123456"))


def test_roas_rows_csv_is_exact_prefixed_and_in_range(roas_data):
    client = admin_client(staff_in("analyst"))

    response = download(client, "roas", day_from="2025-03-01", day_to="2025-03-03", table="rows")

    assert response["Content-Disposition"] == (
        'attachment; filename="roas_2025-03-01_2025-03-03.csv"'
    )
    assert csv_of(response) == (
        "media_source,campaign,day,cost_usd,gross_revenue_usd,reversed_usd,revenue_usd,roas,"
        "anomaly\r\n"
        'facebook,"\'=HYPERLINK(""http://evil.example"",""x"")",2025-03-01,'
        "100.000000,150.000000,0.000000,150.000000,1.5,false\r\n"
        'facebook,"\'=HYPERLINK(""http://evil.example"",""x"")",2025-03-02,'
        "100.000000,13.845678,1.500000,12.345678,0.12345678,false\r\n"
        'facebook,"\'=HYPERLINK(""http://evil.example"",""x"")",2025-03-03,'
        "100.000000,50.000000,0.000000,50.000000,0.5,true\r\n"
        "google,'-5,2025-03-03,10.000000,12.000000,0.000000,12.000000,1.2,false\r\n"
    )


def test_roas_rows_csv_holds_only_the_campaigns_on_screen(roas_data):
    client = admin_client(staff_in("analyst"))

    response = download(
        client,
        "roas",
        day_from="2025-03-01",
        day_to="2025-03-04",
        campaign="google|-5",
        table="rows",
    )

    assert csv_of(response).splitlines()[1:] == [
        "google,'-5,2025-03-03,10.000000,12.000000,0.000000,12.000000,1.2,false",
        "google,'-5,2025-03-04,10.000000,0.000000,0.000000,0.000000,0.0,false",
    ]


def test_roas_anomalies_csv_lists_every_campaign_and_whether_it_is_charted(roas_data):
    client = admin_client(staff_in("analyst"))

    response = download(
        client,
        "roas",
        day_from="2025-03-01",
        day_to="2025-03-03",
        campaign=f"facebook|{INJECTED}",
        table="anomalies",
    )

    assert response["Content-Disposition"] == (
        'attachment; filename="roas_anomalies_2025-03-01_2025-03-03.csv"'
    )
    assert csv_of(response) == (
        "day,media_source,campaign,roas,baseline_roas,baseline_days,drop,z,cost_usd,revenue_usd,"
        "charted\r\n"
        '2025-03-03,facebook,"\'=HYPERLINK(""http://evil.example"",""x"")",0.5,1.45,2,'
        "0.6552,-13.435,100.000000,50.000000,true\r\n"
        "2025-03-02,google,'-5,0.5,1.45,2,0.6552,,10.123456,50.000000,false\r\n"
    )
    later = download(client, "roas", day_from="2025-03-03", day_to="2025-03-31", table="anomalies")
    assert [line[:19] for line in csv_of(later).splitlines()[1:]] == ["2025-03-03,facebook"]


@pytest.fixture
def arpdau_data(run):
    for day, media_source, campaign, revenue, dau in [
        (1, "tiktok", "-5", "30", 10),
        (2, "tiktok", "-5", "12.345678", 4),
        (3, "tiktok", "-5", "9", 3),
        (2, "unity", "+promo", "1", 1),
    ]:
        ArpdauDaily.objects.create(
            run=run,
            date=date(2025, 3, day),
            media_source=media_source,
            campaign=campaign,
            revenue_usd=Decimal(revenue),
            dau=dau,
            arpdau=float(Decimal(revenue) / dau),
        )
    for day, revenue, dau, arpdau in [
        (1, "30", 10, 3.0),
        (2, "13.345678", 5, 2.6691356),
        (3, "9", 0, None),
    ]:
        ArpdauTotal.objects.create(
            run=run, date=date(2025, 3, day), revenue_usd=Decimal(revenue), dau=dau, arpdau=arpdau
        )


def test_arpdau_totals_csv(arpdau_data):
    client = admin_client(staff_in("analyst"))

    response = download(
        client, "arpdau", day_from="2025-03-02", day_to="2025-03-03", table="totals"
    )

    assert response["Content-Disposition"] == (
        'attachment; filename="arpdau_totals_2025-03-02_2025-03-03.csv"'
    )
    assert csv_of(response) == (
        "day,revenue_usd,dau,arpdau\r\n2025-03-02,13.345678,5,2.6691356\r\n2025-03-03,9.000000,0,\r\n"
    )


def test_arpdau_campaigns_csv(arpdau_data):
    client = admin_client(staff_in("analyst"))

    response = download(
        client, "arpdau", day_from="2025-03-01", day_to="2025-03-02", table="campaigns"
    )

    assert csv_of(response) == (
        "media_source,campaign,day,revenue_usd,dau,arpdau\r\n"
        "tiktok,'-5,2025-03-01,30.000000,10,3.0\r\n"
        "tiktok,'-5,2025-03-02,12.345678,4,3.0864195\r\n"
        "unity,'+promo,2025-03-02,1.000000,1,1.0\r\n"
    )
    picked = download(
        client,
        "arpdau",
        day_from="2025-03-01",
        day_to="2025-03-02",
        campaign="unity|+promo",
        table="campaigns",
    )
    assert csv_of(picked).splitlines()[1:] == ["unity,'+promo,2025-03-02,1.000000,1,1.0"]


def test_reconciliation_csv(run):
    reconciliation_summary(
        run, **{**WORKED_RECONCILIATION, "unconfirmed_usd": Decimal("12.345678")}
    )
    client = admin_client(staff_in("analyst"))

    response = download(client, "reconciliation", table="runs")

    assert response["Content-Disposition"] == 'attachment; filename="reconciliation.csv"'
    assert csv_of(response) == (
        "run,status,report_day,appsflyer_purchases,gateway_purchases,matched_by_id,"
        "matched_by_time,unmatched_appsflyer,unmatched_gateway,match_rate,confirmed_usd,"
        "reversed_usd,net_usd,unattributed_usd,unconfirmed_usd,rejected_rows\r\n"
        f"{run.pk},succeeded,2025-03-03,10,9,6,2,2,1,0.8,90.500000,10.000000,80.500000,"
        "9.000000,12.345678,3\r\n"
    )


@pytest.fixture
def ledger(admin_user, monkeypatch):
    write_ledger_activity(actor=admin_user, monkeypatch=monkeypatch)


def test_economy_summary_and_daily_csv(ledger):
    client = admin_client(staff_in("economy"))
    march_1_to_3 = {"day_from": "2025-03-01", "day_to": "2025-03-03"}

    summary = download(client, "economy-flows", **march_1_to_3, table="summary")
    daily = download(client, "economy-flows", **march_1_to_3, table="daily")

    assert summary["Content-Disposition"] == (
        'attachment; filename="economy_totals_2025-03-01_2025-03-03.csv"'
    )
    assert csv_of(summary) == (
        "currency,kind,reason,granted,spent,net,entries\r\n"
        "coins,adjustment,staff_adjustment,0,50,-50,1\r\n"
        "coins,earn,daily_login,800,0,800,2\r\n"
        "coins,spend,shop,0,120,-120,1\r\n"
        "gems,earn,quest,7,0,7,1\r\n"
    )
    assert csv_of(daily) == (
        "day,currency,kind,reason,granted,spent,entries\r\n"
        "2025-03-01,coins,earn,daily_login,800,0,2\r\n"
        "2025-03-02,coins,adjustment,staff_adjustment,0,50,1\r\n"
        "2025-03-02,coins,spend,shop,0,120,1\r\n"
        "2025-03-02,gems,earn,quest,7,0,1\r\n"
    )  # 4 March is outside the range


@pytest.mark.parametrize(
    ("name", "table", "role"),
    [
        ("roas", "rows", "support"),
        ("roas", "anomalies", "economy"),
        ("arpdau", "totals", "support"),
        ("arpdau", "campaigns", "economy"),
        ("reconciliation", "runs", "support"),
        ("economy-flows", "summary", None),
        ("economy-flows", "daily", None),
    ],
)
def test_a_role_without_the_permission_gets_403_and_no_body(
    roas_data, arpdau_data, name, table, role
):
    client = admin_client(staff_in(role))

    response = download(client, name, table=table)

    assert response.status_code == 403
    assert not response.streaming
    assert response.content == b""


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("roas", "rows"),
        ("roas", "anomalies"),
        ("arpdau", "totals"),
        ("arpdau", "campaigns"),
        ("economy-flows", "summary"),
        ("economy-flows", "daily"),
    ],
)
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"day_from": "2025-03-05", "day_to": "2025-03-01"}, "'from' is after 'to'."),
        ({"day_from": "2024-01-01", "day_to": "2025-03-01"}, "At most 400 days at a time."),
        ({"day_to": "9999-12-31"}, "to: Dates from 2000-01-01 to 2100-12-31."),
        ({"day_from": "March"}, "from: Enter a valid date."),
    ],
)
def test_a_bad_range_is_the_pages_error_as_a_400(roas_data, name, table, query, message):
    client = admin_client(staff_in("analyst"))
    client.raise_request_exception = False

    response = download(client, name, table=table, **query)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == message + "\n"


def test_an_unknown_table_is_a_404(roas_data):
    client = admin_client(staff_in("analyst"))

    response = download(client, "roas", table="cohorts")

    assert response.status_code == 404
    assert response.content.decode() == "Unknown table; this page has: anomalies, rows.\n"


def test_each_table_has_a_download_link_with_the_range_and_campaigns_on_screen(roas_data):
    client = admin_client(staff_in("analyst"))

    page = client.get(
        reverse("admin-reports:roas"),
        {"day_from": "2025-03-01", "day_to": "2025-03-03", "campaign": "google|-5"},
    ).content.decode()

    query = "day_from=2025-03-01&amp;day_to=2025-03-03&amp;campaign=google%7C-5&amp;format=csv"
    assert f'id="csv-rows" href="?{query}&amp;table=rows">Download CSV</a>' in page
    assert f'id="csv-anomalies" href="?{query}&amp;table=anomalies">Download CSV</a>' in page


@pytest.mark.parametrize(
    ("name", "tables"),
    [
        ("arpdau", ["totals", "campaigns"]),
        ("economy-flows", ["summary", "daily"]),
    ],
)
def test_the_other_pages_link_their_tables(arpdau_data, ledger, name, tables):
    page = (
        admin_client(staff_in("analyst"))
        .get(reverse(f"admin-reports:{name}"), {"day_from": "2025-03-01", "day_to": "2025-03-02"})
        .content.decode()
    )
    for table in tables:
        assert f'id="csv-{table}" href="?day_from=2025-03-01&amp;day_to=2025-03-02' in page
        assert f"format=csv&amp;table={table}" in page
