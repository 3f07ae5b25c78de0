from datetime import date

from liveops.reports import MAX_DAYS, DayRange, DayRangeForm, day_range_from

LATEST = date(2025, 3, 3)


def range_of(**query: str) -> DayRange:
    return day_range_from(DayRangeForm(query or None), latest=LATEST)


def test_default_is_the_thirty_days_up_to_the_latest_data():
    assert range_of() == DayRange(low=date(2025, 2, 2), high=LATEST)


def test_only_to_gives_the_thirty_days_up_to_it():
    assert range_of(day_to="2025-01-31") == DayRange(low=date(2025, 1, 2), high=date(2025, 1, 31))


def test_only_from_runs_to_the_latest_data():
    assert range_of(day_from="2025-03-01") == DayRange(low=date(2025, 3, 1), high=LATEST)


def test_only_from_far_back_is_capped_at_the_longest_range():
    days = range_of(day_from="2000-01-01")
    assert days.low == date(2000, 1, 1)
    assert len(days.days) == MAX_DAYS
    assert days.high == date(2001, 2, 3)


def test_only_from_after_the_latest_data_shows_that_day():
    assert range_of(day_from="2025-06-01") == DayRange(low=date(2025, 6, 1), high=date(2025, 6, 1))


def test_an_invalid_range_falls_back_to_the_default():
    form = DayRangeForm({"day_from": "2025-03-03", "day_to": "2025-03-01"})
    assert day_range_from(form, latest=LATEST) == DayRange(low=date(2025, 2, 2), high=LATEST)
    assert form.errors == {"__all__": ["'from' is after 'to'."]}
