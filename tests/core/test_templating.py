"""Template filters: money, durations and times the browser localizes."""

from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

from flask_babel import force_locale

from app.templating import duration, money, number, when


@contextmanager
def in_language(language: str):
    """A request's context in ``language``: where filters read the viewer's locale from."""
    from flask import current_app

    with current_app.test_request_context("/"), force_locale(language):
        yield


def test_money_is_compact_with_its_currency_written_the_viewers_way(app):
    with in_language("en"):
        assert money(Decimal("950")) == "950"
        assert money(Decimal("12500"), "USD") == "$12.5K"
        assert money(3_200_000, "EUR") == "€3.2M"
        assert money(90_000, "RUB") == "RUB\u00a090K"  # a code as the symbol is kept apart from the digits
        assert money(None) == ""
    with in_language("ru"):
        assert money(Decimal("12500"), "USD") == "12,5\u00a0тыс.\u00a0$"
        assert money(1_234_567, "RUB") == "1,2\u00a0млн\u00a0₽"


def test_full_money_is_to_the_cent_in_the_deals_own_currency(app):
    with in_language("ru"):
        assert money(Decimal("1234567.50"), "RUB", full=True) == "1\u00a0234\u00a0567,50\u00a0₽"
        assert money(Decimal("1234567.50"), "USD", full=True) == "1\u00a0234\u00a0567,50\u00a0$"
    with in_language("en"):
        assert money(Decimal("1234567.50"), "USD", full=True) == "$1,234,567.50"
        assert money(Decimal("1234567.50"), "RUB", full=True) == "RUB\u00a01,234,567.50"
        assert money(Decimal("12.5"), full=True) == "12.50"


def test_numbers_follow_the_viewers_language(app):
    with in_language("en"):
        assert number(1234567.5) == "1,234,567.5"
    with in_language("ru"):
        assert number(1234567.5) == "1\u00a0234\u00a0567,5"
    assert number(None) == ""


def test_durations_read_the_way_people_say_them(app):
    spans = (20, 45 * 60, 5 * 3600, 3 * 86400, 21 * 86400)
    with in_language("en"):
        assert [duration(s) for s in spans] == ["1 min", "45 min", "5 hr", "3 days", "21 days"]
        assert duration(3 * 86400, compact=True) == "3d"
    with in_language("ru"):
        assert [duration(s) for s in spans] == ["1 мин", "45 мин", "5 ч", "3 дня", "21 день"]
        assert [duration(d * 86400) for d in (2, 5, 11, 22)] == ["2 дня", "5 дней", "11 дней", "22 дня"]
        assert duration(3 * 86400, compact=True) == "3 д."
    assert duration(None) == ""


def test_times_render_in_utc_for_the_browser_to_localize(app):
    html = str(when(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)))
    assert html == ('<time datetime="2026-03-01T23:30:00+00:00" data-local="datetime">'
                    'Mar 1, 2026, 23:30 UTC</time>')
    assert str(when(None)) == ""
    with in_language("ru"):
        moment = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
        assert str(when(moment)).endswith('data-local="datetime">1 мар. 2026\u202fг., 23:30 UTC</time>')
        assert str(when(moment, "short")).endswith(">1 мар., 23:30</time>")
        assert str(when(moment, "date")).endswith(">1 мар. 2026\u202fг.</time>")


def test_a_calendar_day_is_written_as_the_browser_writes_it_and_is_no_moment(app):
    first = '<time datetime="2027-03-01" data-local="day">Mar 1, 2027</time>'
    assert when(date(2027, 3, 1), "day") == first
    assert when("2027-03-01") == first  # a date field's ISO text: a day, whatever the style
    assert when("next spring", "day") == "next spring"  # not a date after all: as it is
    assert when("", "day") == "" and when(None, "day") == ""
    with in_language("ru"):
        assert when(date(2027, 3, 1), "day") == '<time datetime="2027-03-01" data-local="day">1 мар. 2027\u202fг.</time>'




def test_a_lazy_translation_filled_with_data_is_escaped_like_any_text(app):
    from flask import render_template_string
    from flask_babel import lazy_gettext

    cell = '<img src=x onerror="alert(1)">'
    with app.test_request_context("/"):
        html = render_template_string("<p>{{ error }}</p>", error=lazy_gettext("Stage: no stage named %(stage)s.",
                                                                               stage=cell))
    assert html == "<p>Stage: no stage named &lt;img src=x onerror=&#34;alert(1)&#34;&gt;.</p>"
