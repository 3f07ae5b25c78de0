"""Retention per install cohort: the selector and `manage.py retention`, on a hand-worked
fixture (see retention_fixture)."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from telemetry import selectors
from telemetry.tests.retention_fixture import LAST_DAY, retention_players

pytestmark = pytest.mark.django_db


def table(rows):
    return [
        (row.cohort.isoformat(), row.media_source, row.campaign, row.players, row.retained)
        for row in rows
    ]


def test_retention_all_players():
    retention_players()
    rows = selectors.retention(
        low=date(2025, 1, 1), high=LAST_DAY, last_day=LAST_DAY, by_campaign=False
    )
    assert table(rows) == [
        ("2025-01-01", "", "", 4, {1: 3, 7: 1, 30: 1}),
        ("2025-03-05", "", "", 1, {1: 1, 7: None, 30: None}),
        ("2025-03-09", "", "", 1, {1: 1, 7: None, 30: None}),
        ("2025-03-10", "", "", 1, {1: None, 7: None, 30: None}),
    ]
    assert [rows[0].rate(n) for n in (1, 7, 30)] == [0.75, 0.25, 0.25]
    assert rows[1].rate(7) is None


def test_retention_per_campaign():
    retention_players()
    rows = selectors.retention(
        low=date(2025, 1, 1), high=date(2025, 1, 1), last_day=LAST_DAY, by_campaign=True
    )
    assert table(rows) == [
        ("2025-01-01", "(organic)", "", 1, {1: 1, 7: 1, 30: 0}),
        ("2025-01-01", "fb", "spring", 2, {1: 1, 7: 0, 30: 1}),
        ("2025-01-01", "google", "", 1, {1: 1, 7: 0, 30: 0}),
    ]


def test_a_cohort_just_before_the_range_is_left_out():
    retention_players()
    rows = selectors.retention(
        low=date(2024, 12, 31), high=date(2024, 12, 31), last_day=LAST_DAY, by_campaign=False
    )
    assert table(rows) == [("2024-12-31", "", "", 1, {1: 1, 7: 0, 30: 0})]


def test_the_last_day_counted_makes_cohorts_young():
    retention_players()
    rows = selectors.retention(
        low=date(2025, 1, 1), high=date(2025, 1, 1), last_day=date(2025, 1, 30), by_campaign=False
    )
    # 01-31 (p2's D30) is after the last day: D30 is empty, not 0 and not 1.
    assert table(rows) == [("2025-01-01", "", "", 4, {1: 3, 7: 1, 30: None})]


def test_no_players_no_rows():
    assert (
        selectors.retention(
            low=date(2025, 1, 1), high=LAST_DAY, last_day=LAST_DAY, by_campaign=True
        )
        == []
    )


@pytest.fixture
def yesterday_is_last_day(monkeypatch):
    monkeypatch.setattr(selectors, "last_complete_day", lambda: LAST_DAY)


def run(*args):
    out = StringIO()
    call_command("retention", *args, stdout=out)
    return out.getvalue()


def test_command_table(yesterday_is_last_day):
    retention_players()
    assert run("--from", "2025-01-01").splitlines() == [
        "cohort      players      D1     D7    D30",
        "2025-01-01        4   75.0%  25.0%  25.0%",
        "2025-03-05        1  100.0%",
        "2025-03-09        1  100.0%",
        "2025-03-10        1",
        "activity counted up to 2025-03-10 (UTC)",
    ]


def test_command_csv_per_campaign(yesterday_is_last_day):
    retention_players()
    assert run(
        "--from", "2025-01-01", "--to", "2025-03-05", "--by-campaign", "--format", "csv"
    ) == (
        "cohort,media_source,campaign,players,d1_players,d1_rate,d7_players,d7_rate,"
        "d30_players,d30_rate\r\n"
        "2025-01-01,(organic),,1,1,1.0,1,1.0,0,0.0\r\n"
        "2025-01-01,fb,spring,2,1,0.5,0,0.0,1,0.5\r\n"
        "2025-01-01,google,,1,1,1.0,0,0.0,0,0.0\r\n"
        # --to 2025-03-05 is also the last day counted: p5's D1 (03-06) is too young.
        "2025-03-05,(organic),,1,,,,,,\r\n"
    )


def test_command_to_before_yesterday_limits_the_days_counted(yesterday_is_last_day):
    retention_players()
    out = run("--from", "2025-03-05", "--to", "2025-03-06", "--format", "csv")
    # 03-06 is counted (p5's D1); nothing after --to is.
    assert out.splitlines()[1] == "2025-03-05,1,1,1.0,,,,"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-13-01"], "--from must be a day YYYY-MM-DD, got '2025-13-01'"),
        (["--to", "yesterday"], "--to must be a day YYYY-MM-DD, got 'yesterday'"),
        (["--from", "1999-12-31"], "--from must be from 2000-01-01 to 2100-12-31, got 1999-12-31"),
        (
            ["--from", "2025-03-02", "--to", "2025-03-01"],
            "--from 2025-03-02 is after --to 2025-03-01",
        ),
        (["--from", "2024-01-01", "--to", "2025-03-01"], "at most 400 cohorts at a time"),
    ],
)
def test_command_bad_input(yesterday_is_last_day, args, message):
    with pytest.raises(CommandError) as raised:
        run(*args)
    assert str(raised.value) == message
    assert raised.value.returncode == 2
