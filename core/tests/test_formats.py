import datetime
from decimal import Decimal

from django.template import Context, Template

from core import formats


def test_money_has_two_decimals_and_thousands_separators():
    assert formats.money(Decimal("1234.5")) == "1,234.50"
    assert formats.money(Decimal("-0.125")) == "-0.12"  # half-even
    assert formats.money(0) == "0.00"
    assert formats.money(None) == ""


def test_ratio_and_arpdau_have_four_decimals():
    assert formats.ratio(1.23456) == "1.2346"
    assert formats.arpdau(Decimal("0.1234567890123456")) == "0.1235"
    assert formats.ratio(None) == ""


def test_percent_of_a_rate():
    assert formats.percent(0.9247) == "92.5%"
    assert formats.percent(Decimal("1")) == "100.0%"
    assert formats.percent(0) == "0.0%"
    assert formats.percent(None) == ""


def test_count_day_and_moment():
    assert formats.count(201800) == "201,800"
    assert formats.day(datetime.date(2026, 12, 3)) == "2026-12-03"
    cet = datetime.timezone(datetime.timedelta(hours=1))
    assert formats.moment(datetime.datetime(2026, 12, 3, 9, 20, 59, tzinfo=cet)) == (
        "2026-12-03 08:20 UTC"
    )
    assert formats.moment(None) == ""


def test_template_filters():
    rendered = Template("{% load formats %}{{ a|money }} {{ b|percent }} {{ c|count }}").render(
        Context({"a": Decimal("1000"), "b": 0.5, "c": 12345})
    )
    assert rendered == "1,000.00 50.0% 12,345"
