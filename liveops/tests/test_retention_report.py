"""The retention report page and its CSV: exact cells on the hand-worked fixture, empty cells for
young cohorts, labels escaped in the chart, and who may read it."""

import re
from datetime import date

import pytest
from django.urls import reverse

from accounts.tests.admin_factories import admin_client, staff_in
from telemetry import selectors
from telemetry.tests.retention_fixture import LAST_DAY, retention_players

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def yesterday_is_last_day(monkeypatch):
    monkeypatch.setattr(selectors, "last_complete_day", lambda: LAST_DAY)


def table_rows(html: str) -> list[list[str]]:
    table = html.split('id="retention-table"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def test_page_all_players():
    retention_players()
    client = admin_client(staff_in("analyst"))

    response = client.get(reverse("admin-retention:report"), {"day_from": "2025-01-01"})

    assert response.status_code == 200
    html = response.content.decode()
    assert table_rows(html) == [
        ["2025-01-01", "4", "75.0%", "25.0%", "25.0%"],
        ["2025-03-05", "1", "100.0%", "", ""],
        ["2025-03-09", "1", "100.0%", "", ""],
        ["2025-03-10", "1", "", "", ""],
    ]
    chart = html.split('id="retention-chart">', 1)[1].split("</svg>", 1)[0]
    assert "Retention per install cohort (%)" in chart
    assert [f">D{n}<" in chart for n in (1, 7, 30)] == [True, True, True]
    assert (
        'href="?day_from=2025-01-01&amp;day_to=2025-03-10&amp;format=csv&amp;table=retention"'
    ) in html


def test_page_per_campaign():
    retention_players()
    client = admin_client(staff_in("support"))

    response = client.get(
        reverse("admin-retention:report"),
        {"day_from": "2025-01-01", "day_to": "2025-03-01", "by_campaign": "on"},
    )

    assert response.status_code == 200
    assert table_rows(response.content.decode()) == [
        ["2025-01-01", "(organic)", "(none)", "1", "100.0%", "100.0%", "0.0%"],
        ["2025-01-01", "fb", "spring", "2", "50.0%", "0.0%", "50.0%"],
        ["2025-01-01", "google", "(none)", "1", "100.0%", "0.0%", "0.0%"],
    ]


def test_page_bad_range_shows_the_error_and_the_default_range():
    client = admin_client(staff_in("analyst"))

    response = client.get(
        reverse("admin-retention:report"), {"day_from": "2025-03-02", "day_to": "2025-03-01"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "&#x27;from&#x27; is after &#x27;to&#x27;." in html
    assert 'value="2025-02-09"' in html  # 30 cohorts up to yesterday
    assert table_rows(html) == [["No players joined in this period."]]


def test_from_alone_far_back_shows_at_most_400_cohorts_from_that_day():
    client = admin_client(staff_in("analyst"))

    response = client.get(reverse("admin-retention:report"), {"day_from": "2023-01-01"})

    assert response.status_code == 200
    days = response.context["days"]
    assert (days.low, days.high, days.last_day) == (
        date(2023, 1, 1),
        date(2024, 2, 4),  # 400 cohorts, as every report's `from` alone
        date(2024, 2, 4),
    )
    assert 'value="2023-01-01"' in response.content.decode()


def test_csv_download():
    retention_players()
    client = admin_client(staff_in("analyst"))

    response = client.get(
        reverse("admin-retention:report"),
        {
            "day_from": "2025-01-01",
            "day_to": "2025-03-10",
            "by_campaign": "on",
            "format": "csv",
            "table": "retention",
        },
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="retention-2025-01-01-2025-03-10-by-campaign.csv"'
    )
    assert b"".join(response.streaming_content).decode() == (
        "cohort,media_source,campaign,players,d1_players,d1_rate,d7_players,d7_rate,"
        "d30_players,d30_rate\r\n"
        "2025-01-01,(organic),,1,1,1.0,1,1.0,0,0.0\r\n"
        "2025-01-01,fb,spring,2,1,0.5,0,0.0,1,0.5\r\n"
        "2025-01-01,google,,1,1,1.0,0,0.0,0,0.0\r\n"
        "2025-03-05,(organic),,1,1,1.0,,,,\r\n"
        "2025-03-09,(organic),,1,1,1.0,,,,\r\n"
        "2025-03-10,(organic),,1,,,,,,\r\n"
    )


def test_csv_bad_input_is_400():
    client = admin_client(staff_in("analyst"))

    response = client.get(
        reverse("admin-retention:report"),
        {"day_from": "2025-02-30", "format": "csv", "table": "retention"},
    )

    assert response.status_code == 400
    assert response.content.decode() == "from: Enter a valid date.\n"  # as every report's CSV


@pytest.mark.parametrize(
    ("role", "status"), [("analyst", 200), ("support", 200), ("economy", 403), (None, 403)]
)
@pytest.mark.parametrize("query", [{}, {"format": "csv", "table": "retention"}])
def test_who_may_read_it(role, status, query):
    client = admin_client(staff_in(role))

    response = client.get(reverse("admin-retention:report"), query)

    assert response.status_code == status
    if status == 403 and query:
        assert response.content == b""  # nothing of the table leaves


@pytest.mark.parametrize(
    ("role", "linked"), [("analyst", True), ("support", True), ("economy", False)]
)
def test_linked_from_the_reports_box_and_index(role, linked):
    client = admin_client(staff_in(role))
    link = 'href="/admin/reports/retention/"'

    assert (link in client.get("/admin/").content.decode()) is linked
    index = client.get(reverse("admin-reports:index"))
    assert (index.status_code == 200 and link in index.content.decode()) is linked
