"""Template filters: money, durations and times the browser localizes."""

from datetime import UTC, date, datetime
from decimal import Decimal

from app.templating import duration, money, when


def test_money_is_compact_with_its_currency():
    assert money(Decimal("950")) == "950"
    assert money(Decimal("12500"), "USD") == "USD 12.5k"
    assert money(3_200_000, "EUR") == "EUR 3.2M"
    assert money(None) == ""


def test_durations_read_the_way_people_say_them():
    assert [duration(s) for s in (20, 45 * 60, 5 * 3600, 3 * 86400)] == ["1 min", "45 min", "5 h", "3 days"]


def test_times_render_in_utc_for_the_browser_to_localize():
    html = str(when(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)))
    assert html == ('<time datetime="2026-03-01T23:30:00+00:00" data-local="datetime">'
                    'Mar 01, 2026 23:30 UTC</time>')
    assert str(when(None)) == ""


def test_a_calendar_day_is_written_as_the_browser_writes_it_and_is_no_moment():
    first = '<time datetime="2027-03-01" data-local="day">Mar 1, 2027</time>'
    assert when(date(2027, 3, 1), "day") == first
    assert when("2027-03-01") == first  # a date field's ISO text: a day, whatever the style
    assert when("next spring", "day") == "next spring"  # not a date after all: as it is
    assert when("", "day") == "" and when(None, "day") == ""

