"""The live-ops home page: exact figures for yesterday and the last 7 UTC days, the latest
successful run's figures, the pipeline warning, and what each role sees."""

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from accounts.tests.admin_factories import admin_client, staff_in
from accounts.tests.factories import PlayerFactory
from analytics.models import ArpdauTotal, PipelineRun, RoasAnomaly
from analytics.tests.report_rows import WORKED_RECONCILIATION, reconciliation_summary
from economy.models import Currency, LedgerEntry, Wallet
from telemetry.services import events_record_batch
from telemetry.validation import EventInput

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)  # at collection; the page's clock in the tests of `activity`
TODAY = NOW.date()
Y = TODAY - timedelta(days=1)


class _PageClock(datetime):
    """`liveops.home`'s datetime with `now()` standing at NOW: the figures are for the days
    before TODAY even when the suite crosses midnight between collection and the request."""

    @classmethod
    def now(cls, tz=None):
        return NOW


def at(day, clock="12:00:00"):
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=UTC)


def events(player, *moments):
    events_record_batch(
        player=player,
        events=[EventInput(event_type="tap", meta={}, timestamp=m, event_id=None) for m in moments],
    )


@pytest.fixture
def activity(monkeypatch):
    """Yesterday: DAU 2 (p1, p2), 3 events, 1 new player (p2). The 7 days Y-6..Y: 3 distinct
    players, 6 events, 2 new players (p3 joined on Y-8, outside)."""
    monkeypatch.setattr("liveops.home.datetime", _PageClock)
    p1 = PlayerFactory(date_joined=at(Y - timedelta(days=1)))
    p2 = PlayerFactory(date_joined=at(Y, "00:00:00"))
    p3 = PlayerFactory(date_joined=at(Y - timedelta(days=8)))
    events(p1, at(Y - timedelta(days=1)), at(Y - timedelta(days=1)), at(Y, "23:59:59"))
    events(p2, at(Y, "00:00:00"), at(Y, "10:00:00"))
    events(p3, at(Y - timedelta(days=7), "23:59:59"), at(Y - timedelta(days=6), "00:00:00"))
    events(p3, at(TODAY, "00:00:00"))  # today: not in any figure
    coins = Currency.objects.get(code="coins")
    wallet = Wallet.objects.create(player=p1, currency=coins, balance=0)
    for moment, amount in [
        (at(Y, "00:00:00"), 500),
        (at(Y, "23:59:59"), -120),
        (at(Y - timedelta(days=6), "00:00:00"), 7),
        (at(Y - timedelta(days=7), "23:59:59"), 1000),  # outside
        (at(TODAY, "00:00:00"), 1),  # outside
    ]:
        LedgerEntry.objects.create(
            wallet=wallet,
            player=p1,
            amount=amount,
            balance_after=0,
            kind="earn" if amount > 0 else "spend",
            reason="test",
            created_at=moment,
        )


def succeeded_run(hours_ago):
    finished = datetime.now(UTC) - timedelta(hours=hours_ago)
    run = PipelineRun.objects.create(
        status=PipelineRun.Status.SUCCEEDED,
        date=Y,
        source="cron",
        queued_at=finished - timedelta(minutes=5),
        finished_at=finished,
    )
    reconciliation_summary(run, **{**WORKED_RECONCILIATION, "net_usd": Decimal("1280.5")})
    ArpdauTotal.objects.create(run=run, date=Y, revenue_usd=Decimal("12.5"), dau=40, arpdau=0.3125)
    RoasAnomaly.objects.create(
        run=run, date=Y, media_source="fb", campaign="<spring>", roas=0.5, baseline_roas=1.45,
        baseline_days=2, drop=0.65, mean=1.45, std=0.07, z=-13.4, cost_usd=Decimal(100),
        revenue_usd=Decimal(50),
    )  # fmt: skip
    return run


def row(html, row_id):
    match = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, flags=re.S)
    if match is None:
        return None
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", re.sub(r"<svg.*?</svg>", "", match[1]))
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def home(role):
    response = admin_client(staff_in(role)).get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def test_analyst_sees_activity_currencies_and_the_run(activity):
    run = succeeded_run(hours_ago=2)
    html = home("analyst")

    assert "<title>Game backend live-ops | Game backend live-ops</title>" in html
    assert '<a href="/admin/">Game backend live-ops</a>' in html
    assert row(html, "home-dau") == ["DAU", "2", "3", ""]
    assert row(html, "home-events") == ["events", "3", "6", ""]
    assert row(html, "home-new-players") is None  # analyst cannot view users
    assert row(html, "home-currency-coins") == ["coins", "500", "507", "", "120", "120", ""]
    assert row(html, "home-net-revenue") == ["net revenue (USD)", "1,280.50"]
    assert row(html, "home-match-rate") == ["match rate", "80.0%"]
    assert row(html, "home-arpdau") == ["ARPDAU (USD)", "0.3125"]
    assert row(html, "home-anomalies") == ["ROAS anomalies", "fb / &lt;spring&gt;"]
    assert f'href="/admin/telemetry/event/?day={Y.isoformat()}"' in html
    assert f'href="/admin/analytics/pipelinerun/{run.pk}/change/"' in html
    assert 'id="pipeline-warning"' not in html
    assert f"{Y.isoformat()}: 2" in html  # DAU sparkline tooltip of yesterday
    assert 'href="/admin/reports/retention/"' in html


def test_support_sees_players_and_ledger_but_no_pipeline(activity):
    succeeded_run(hours_ago=2)
    html = home("support")

    assert row(html, "home-dau") == ["DAU", "2", "3", ""]
    assert row(html, "home-new-players") == ["new players", "1", "2", ""]
    assert row(html, "home-currency-coins") == ["coins", "500", "507", "", "120", "120", ""]
    assert 'id="home-pipeline"' not in html
    assert row(html, "home-net-revenue") is None


def test_economy_sees_players_and_ledger_only(activity):
    html = home("economy")

    assert row(html, "home-dau") is None and row(html, "home-events") is None
    assert row(html, "home-new-players") == ["new players", "1", "2", ""]
    assert row(html, "home-currency-coins") == ["coins", "500", "507", "", "120", "120", ""]
    assert 'href="/admin/reports/retention/"' not in html


def test_no_role_sees_no_figures(activity):
    html = home(None)

    assert 'id="home-activity"' not in html and 'id="home-currencies"' not in html
    assert 'id="home-pipeline"' not in html


@pytest.mark.parametrize(
    ("hours_ago", "warning"),
    [
        (None, "No pipeline run has ever succeeded."),
        (27, "No pipeline run succeeded in the last 26 hours"),
        (25, None),
    ],
)
def test_pipeline_warning(hours_ago, warning):
    if hours_ago is not None:
        succeeded_run(hours_ago=hours_ago)
    html = home("analyst")

    found = re.search(r'<p class="home-warning" id="pipeline-warning">(.*?)</p>', html)
    if warning is None:
        assert found is None
    else:
        assert found is not None
        assert found[1].startswith(warning)


def test_latest_run_state_and_age():
    succeeded_run(hours_ago=30)
    failed = PipelineRun.objects.create(
        status=PipelineRun.Status.FAILED,
        date=Y,
        source="admin",
        queued_at=datetime.now(UTC) - timedelta(hours=3, minutes=1),
    )
    html = home("analyst")

    latest = row(html, "home-pipeline-latest")
    assert latest[0] == "latest run"
    assert latest[1].startswith(f"#{failed.pk} failed, queued ")
    assert latest[1].endswith("(3\xa0hours, 1\xa0minute ago)")
