"""Send windows in the contact's own time zone: parsing, the zone a contact lives in, openings, DST,
and how a whole audience is spread over a window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from app.blueprints.campaigns import windows
from app.blueprints.campaigns.windows import (
    SendWindow,
    WindowError,
    contact_zone,
    is_open,
    next_opening,
    schedule,
    window_end,
)

# Real numbers of the two cities' landline plans (area codes 423 and 4012), valid for phonenumbers.
VLADIVOSTOK_PHONE = "+74232222222"
KALININGRAD_PHONE = "+74012531234"
RUSSIAN_MOBILE = "+79161234567"

WEEKDAYS_10_19 = SendWindow.parse({"days": [1, 2, 3, 4, 5], "start": "10:00", "end": "19:00"})
BERLIN = ZoneInfo("Europe/Berlin")
KALININGRAD = ZoneInfo("Europe/Kaliningrad")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parsing ------------------------------------------------------------------------------------


def test_parse_reads_the_api_shape_and_to_json_gives_it_back():
    window = SendWindow.parse({"days": [5, 1, 3, 3], "start": "09:30", "end": "18:05"})

    assert window == SendWindow(frozenset({1, 3, 5}), 9 * 60 + 30, 18 * 60 + 5)
    assert window.to_json() == {"days": [1, 3, 5], "start": "09:30", "end": "18:05"}
    assert SendWindow.parse(window.to_json()) == window


def test_an_end_of_24_00_is_the_end_of_the_day_and_round_trips():
    window = SendWindow.parse({"days": [7], "start": "00:00", "end": "24:00"})

    assert (window.start_minute, window.end_minute) == (0, 1440)
    assert window.to_json() == {"days": [7], "start": "00:00", "end": "24:00"}


def test_always_is_every_day_all_day():
    assert SendWindow.ALWAYS.to_json() == {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}
    assert is_open(utc(2025, 3, 30, 1, 0), SendWindow.ALWAYS, BERLIN)


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"start": "10:00", "end": "19:00"}, "days", "required"),
        ({"days": [], "start": "10:00", "end": "19:00"}, "days", "no_days"),
        ({"days": [0], "start": "10:00", "end": "19:00"}, "days", "bad_day"),
        ({"days": [1, 8], "start": "10:00", "end": "19:00"}, "days", "bad_day"),
        ({"days": ["1"], "start": "10:00", "end": "19:00"}, "days", "bad_day"),
        ({"days": [True], "start": "10:00", "end": "19:00"}, "days", "bad_day"),
        ({"days": "12345", "start": "10:00", "end": "19:00"}, "days", "bad_day"),
        ({"days": [1]}, "start", "required"),
        ({"days": [1], "start": "24:00", "end": "24:00"}, "start", "bad_time"),
        ({"days": [1], "start": "9:00", "end": "19:00"}, "start", "bad_time"),
        ({"days": [1], "start": "10:60", "end": "19:00"}, "start", "bad_time"),
        ({"days": [1], "start": "10:00:00", "end": "19:00"}, "start", "bad_time"),
        ({"days": [1], "start": 600, "end": "19:00"}, "start", "bad_time"),
        ({"days": [1], "start": "10:00"}, "end", "required"),
        ({"days": [1], "start": "10:00", "end": "24:01"}, "end", "bad_time"),
        ({"days": [1], "start": "10:00", "end": "25:00"}, "end", "bad_time"),
        ({"days": [1], "start": "10:00", "end": "10:00"}, "end", "end_before_start"),
        ({"days": [1], "start": "19:00", "end": "10:00"}, "end", "end_before_start"),
        ({"days": [1], "start": "10:00", "end": "00:00"}, "end", "end_before_start"),
    ],
)
def test_parse_refuses_a_bad_window_with_the_field_and_a_code(data, field, code):
    with pytest.raises(WindowError) as caught:
        SendWindow.parse(data)

    assert (caught.value.field, caught.value.code) == (field, code)
    assert isinstance(caught.value, ValueError)


def test_a_window_built_directly_is_checked_too():
    with pytest.raises(WindowError, match="no_days"):
        SendWindow(frozenset(), 0, 60)
    with pytest.raises(WindowError, match="bad_time"):
        SendWindow(frozenset({1}), 0, 1441)
    with pytest.raises(WindowError, match="end_before_start"):
        SendWindow(frozenset({1}), 600, 600)


# --- the contact's zone -------------------------------------------------------------------------


def test_the_test_numbers_are_real_numbers_of_their_cities():
    for phone in (VLADIVOSTOK_PHONE, KALININGRAD_PHONE, RUSSIAN_MOBILE):
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone, None)), phone


def test_a_vladivostok_landline_is_in_vladivostok_time():
    assert contact_zone(None, VLADIVOSTOK_PHONE, "Europe/Moscow") == VLADIVOSTOK


def test_a_kaliningrad_landline_is_in_kaliningrad_time_not_a_zone_with_summer_time():
    zone = contact_zone(None, KALININGRAD_PHONE, "Europe/Moscow")

    assert zone == KALININGRAD
    assert datetime(2025, 7, 1, tzinfo=zone).utcoffset() == timedelta(hours=2)


def test_the_contacts_own_zone_beats_the_phone():
    assert contact_zone("Asia/Vladivostok", KALININGRAD_PHONE, "Europe/Moscow") == VLADIVOSTOK
    assert contact_zone(" Asia/Vladivostok ", KALININGRAD_PHONE, "Europe/Moscow") == VLADIVOSTOK


@pytest.mark.parametrize("field", ["Mars/Olympus", "", "europe/kaliningrad", "../etc/passwd", "localtime", "America"])
def test_an_invalid_own_zone_falls_back_to_the_phone_then_the_org(field):
    assert contact_zone(field, KALININGRAD_PHONE, "Europe/Moscow") == KALININGRAD
    assert contact_zone(field, None, "Asia/Vladivostok") == VLADIVOSTOK


@pytest.mark.parametrize("phone", [None, "", "not a phone", "+7", "89161234567", "+70000000000"])
def test_no_usable_phone_means_the_orgs_zone(phone):
    assert contact_zone(None, phone, "Asia/Vladivostok") == VLADIVOSTOK


def test_a_russian_mobile_is_ambiguous_and_takes_the_orgs_zone_when_it_is_one_of_them():
    assert contact_zone(None, RUSSIAN_MOBILE, "Europe/Moscow") == ZoneInfo("Europe/Moscow")
    assert contact_zone(None, RUSSIAN_MOBILE, "Asia/Novosibirsk") == ZoneInfo("Asia/Novosibirsk")


def test_a_russian_mobile_with_an_org_elsewhere_takes_the_orgs_zone_since_it_says_nothing_of_a_place():
    zones = phonenumbers.timezone.time_zones_for_number(phonenumbers.parse(RUSSIAN_MOBILE, None))
    assert len(zones) > 1 and "Europe/Berlin" not in zones

    assert contact_zone(None, RUSSIAN_MOBILE, "Europe/Berlin") == ZoneInfo("Europe/Berlin")


def test_an_invalid_org_zone_means_utc():
    assert contact_zone(None, None, "Nowhere/City") == ZoneInfo("UTC")
    assert contact_zone("Bad/Zone", "garbage", "") == ZoneInfo("UTC")


def test_phone_look_ups_are_cached():
    contact_zone(None, "+74232111111", "Europe/Moscow")
    before = windows._phone_zone_names.cache_info().hits

    contact_zone(None, "+74232111111", "Europe/Moscow")

    assert windows._phone_zone_names.cache_info().hits == before + 1


# --- openings -----------------------------------------------------------------------------------


def test_the_same_window_opens_at_different_utc_moments_in_vladivostok_and_kaliningrad():
    vladivostok = contact_zone(None, VLADIVOSTOK_PHONE, "Europe/Moscow")
    kaliningrad = contact_zone(None, KALININGRAD_PHONE, "Europe/Moscow")
    # Monday 2 June 2025, 05:00 UTC: 15:00 in Vladivostok (UTC+10), 07:00 in Kaliningrad (UTC+2).
    after = utc(2025, 6, 2, 5, 0)

    assert next_opening(after, WEEKDAYS_10_19, vladivostok) == after  # already open there
    assert next_opening(after, WEEKDAYS_10_19, kaliningrad) == utc(2025, 6, 2, 8, 0)  # 10:00 at UTC+2

    # 10:00 UTC: 20:00 in Vladivostok (closed until Tuesday 10:00 = 00:00 UTC), 12:00 in Kaliningrad.
    later = utc(2025, 6, 2, 10, 0)
    assert next_opening(later, WEEKDAYS_10_19, vladivostok) == utc(2025, 6, 3, 0, 0)
    assert next_opening(later, WEEKDAYS_10_19, kaliningrad) == later


def test_friday_evening_waits_for_monday_morning():
    # Friday 6 June 2025, 19:30 in Kaliningrad (UTC+2) is 17:30 UTC; Monday 10:00 there is 08:00 UTC.
    friday_evening = utc(2025, 6, 6, 17, 30)

    opening = next_opening(friday_evening, WEEKDAYS_10_19, KALININGRAD)

    assert opening == utc(2025, 6, 9, 8, 0)
    assert opening.astimezone(KALININGRAD).isoweekday() == 1


def test_the_opening_is_utc_and_after_itself_when_inside():
    inside = datetime(2025, 6, 4, 12, 0, tzinfo=KALININGRAD)

    opening = next_opening(inside, WEEKDAYS_10_19, KALININGRAD)

    assert opening == inside and opening.tzinfo is UTC


def test_the_window_closes_at_its_end_and_refuses_a_moment_outside():
    assert window_end(utc(2025, 6, 4, 12, 0), WEEKDAYS_10_19, KALININGRAD) == utc(2025, 6, 4, 17, 0)
    assert is_open(utc(2025, 6, 4, 16, 59, 59), WEEKDAYS_10_19, KALININGRAD)
    assert not is_open(utc(2025, 6, 4, 17, 0), WEEKDAYS_10_19, KALININGRAD)
    with pytest.raises(ValueError):
        window_end(utc(2025, 6, 4, 17, 0), WEEKDAYS_10_19, KALININGRAD)


def test_a_window_until_24_00_closes_at_local_midnight():
    evenings = SendWindow.parse({"days": [3], "start": "20:00", "end": "24:00"})
    # Wednesday 4 June 2025 23:30 in Kaliningrad; midnight there is 22:00 UTC.
    assert window_end(utc(2025, 6, 4, 21, 30), evenings, KALININGRAD) == utc(2025, 6, 4, 22, 0)
    assert not is_open(utc(2025, 6, 4, 22, 0), evenings, KALININGRAD)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        next_opening(datetime(2025, 6, 4, 12, 0), WEEKDAYS_10_19, KALININGRAD)


# --- DST (Berlin: 30 March 2025 02:00 CET -> 03:00 CEST; 26 October 2025 03:00 CEST -> 02:00 CET) --


def test_the_opening_after_the_spring_change_uses_summer_time():
    every_day = SendWindow.parse({"days": [1, 2, 3, 4, 5, 6, 7], "start": "10:00", "end": "19:00"})
    saturday_evening = utc(2025, 3, 29, 20, 0)  # 21:00 CET

    assert next_opening(saturday_evening, every_day, BERLIN) == utc(2025, 3, 30, 8, 0)  # 10:00 CEST
    assert window_end(utc(2025, 3, 30, 8, 0), every_day, BERLIN) == utc(2025, 3, 30, 17, 0)


def test_a_start_that_does_not_exist_on_the_spring_day_opens_when_the_clock_jumps():
    night = SendWindow.parse({"days": [7], "start": "02:30", "end": "05:00"})
    sunday_midnight = utc(2025, 3, 29, 23, 0)  # 00:00 CET

    opening = next_opening(sunday_midnight, night, BERLIN)

    assert opening == utc(2025, 3, 30, 1, 0)  # 03:00 CEST, the first moment the clock reads >= 02:30
    assert opening.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"
    assert is_open(opening, night, BERLIN)
    assert not is_open(opening - timedelta(seconds=1), night, BERLIN)  # 01:59:59 CET
    assert window_end(opening, night, BERLIN) == utc(2025, 3, 30, 3, 0)  # 05:00 CEST


def test_a_window_wholly_in_the_spring_gap_skips_that_day():
    gap = SendWindow.parse({"days": [1, 2, 3, 4, 5, 6, 7], "start": "02:00", "end": "03:00"})

    opening = next_opening(utc(2025, 3, 29, 23, 0), gap, BERLIN)

    assert opening == utc(2025, 3, 31, 0, 0)  # Monday 02:00 CEST


def test_an_ambiguous_end_on_the_autumn_day_is_its_first_occurrence():
    early = SendWindow.parse({"days": [7], "start": "01:00", "end": "02:30"})
    sunday_midnight = utc(2025, 10, 25, 22, 0)  # 00:00 CEST

    opening = next_opening(sunday_midnight, early, BERLIN)

    assert opening == utc(2025, 10, 25, 23, 0)  # 01:00 CEST
    assert window_end(opening, early, BERLIN) == utc(2025, 10, 26, 0, 30)  # the first 02:30, CEST
    assert not is_open(utc(2025, 10, 26, 1, 30), early, BERLIN)  # the second 02:30, CET


def test_in_santiago_the_hour_repeated_before_midnight_belongs_to_saturday():
    # 6 April 2025: at Saturday 24:00 (-03, 03:00 UTC) the clock goes back to Saturday 23:00 (-04).
    santiago = ZoneInfo("America/Santiago")
    saturday_late = SendWindow.parse({"days": [6], "start": "22:00", "end": "24:00"})
    sunday_early = SendWindow.parse({"days": [7], "start": "00:00", "end": "05:00"})
    repeated = utc(2025, 4, 6, 3, 30)  # reads Saturday 23:30 for the second time

    assert next_opening(utc(2025, 4, 5, 12, 0), saturday_late, santiago) == utc(2025, 4, 6, 1, 0)
    assert is_open(repeated, saturday_late, santiago)
    assert window_end(repeated, saturday_late, santiago) == utc(2025, 4, 6, 4, 0)  # three hours that night
    assert not is_open(repeated, sunday_early, santiago)
    assert next_opening(repeated, sunday_early, santiago) == utc(2025, 4, 6, 4, 0)  # Sunday 00:00 -04


def test_in_santiago_a_window_from_a_midnight_that_does_not_exist_opens_at_the_jump():
    # 7 September 2025: at Saturday 24:00 (-04, 04:00 UTC) the clock jumps to Sunday 01:00 (-03).
    santiago = ZoneInfo("America/Santiago")
    sunday_early = SendWindow.parse({"days": [7], "start": "00:00", "end": "05:00"})
    saturday_late = SendWindow.parse({"days": [6], "start": "22:00", "end": "24:00"})

    assert next_opening(utc(2025, 9, 6, 12, 0), sunday_early, santiago) == utc(2025, 9, 7, 4, 0)
    assert window_end(utc(2025, 9, 7, 4, 0), sunday_early, santiago) == utc(2025, 9, 7, 8, 0)  # 05:00 -03
    assert window_end(utc(2025, 9, 7, 2, 0), saturday_late, santiago) == utc(2025, 9, 7, 4, 0)


# --- schedule -----------------------------------------------------------------------------------


def test_an_audience_due_at_night_spreads_over_the_next_window():
    rng = random.Random(20250603)
    due = utc(2025, 6, 3, 1, 0)  # Tuesday 03:00 in Kaliningrad
    opening, closing = utc(2025, 6, 3, 8, 0), utc(2025, 6, 3, 17, 0)  # 10:00-19:00 there
    length = closing - opening

    sends = [schedule(due, WEEKDAYS_10_19, KALININGRAD, rng) for _ in range(1000)]

    assert all(opening <= send < closing for send in sends)
    assert all(is_open(send, WEEKDAYS_10_19, KALININGRAD) for send in sends)
    # Uniform over the first 80%: the first tenth of the window gets about 12.5%, its first 6 minutes ~1.4%.
    assert sum(send < opening + length / 10 for send in sends) <= 150
    assert sum(send < opening + timedelta(minutes=6) for send in sends) <= 30
    assert max(sends) - min(sends) > length * 0.6
    assert max(sends) <= opening + length * 0.8


def test_a_step_due_inside_the_window_goes_within_15_minutes():
    rng = random.Random(7)
    due = utc(2025, 6, 4, 10, 0)  # Wednesday 12:00 in Kaliningrad

    sends = [schedule(due, WEEKDAYS_10_19, KALININGRAD, rng) for _ in range(200)]

    assert all(due <= send <= due + timedelta(minutes=15) for send in sends)
    assert len(set(sends)) > 1  # jittered, not all at once


def test_a_step_due_just_before_closing_keeps_within_half_the_time_left():
    rng = random.Random(11)
    due = utc(2025, 6, 4, 16, 50)  # 18:50 in Kaliningrad, 10 minutes before closing

    sends = [schedule(due, WEEKDAYS_10_19, KALININGRAD, rng) for _ in range(200)]

    assert all(due <= send <= due + timedelta(minutes=5) for send in sends)


ZONES = [
    "Europe/Berlin", "America/New_York", "Europe/Kaliningrad", "Asia/Vladivostok", "Asia/Kathmandu",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago", "America/Havana", "America/Asuncion",  # DST at midnight
    "Pacific/Chatham", "UTC",
]


def _random_window(rng: random.Random) -> SendWindow:
    days = frozenset(rng.sample(range(1, 8), rng.randint(1, 7)))
    start = rng.choice([0, rng.randrange(0, 1440), 120, 150])  # 02:00 and 02:30 fall into gaps
    end = rng.choice([1440, rng.randint(start + 1, 1440), min(start + 30, 1440)])
    return SendWindow(days, start, end)


def _random_moment(rng: random.Random) -> datetime:
    base = utc(2025, 1, 1) + timedelta(seconds=rng.randrange(2 * 365 * 86400))
    if rng.random() < 0.5:  # near a DST change of the northern or southern hemisphere
        change = rng.choice([utc(2025, 3, 30, 1), utc(2025, 10, 26, 1), utc(2025, 3, 9, 7),
                             utc(2025, 11, 2, 6), utc(2025, 4, 6, 3), utc(2025, 9, 7, 4)])
        base = change + timedelta(seconds=rng.randrange(-3 * 86400, 3 * 86400))
    return base


def _wall_clock_open(moment: datetime, window: SendWindow, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    minute = local.hour * 60 + local.minute
    return local.isoweekday() in window.days and window.start_minute <= minute < window.end_minute


def test_schedule_never_sends_outside_the_window():
    rng = random.Random(1234)
    for _ in range(3000):
        window, zone, due = _random_window(rng), ZoneInfo(rng.choice(ZONES)), _random_moment(rng)

        send = schedule(due, window, zone, rng)
        opening = next_opening(due, window, zone)

        context = (due, window, zone)
        assert send >= opening >= due, context
        assert is_open(send, window, zone), context
        assert window_end(send, window, zone) > send, context
        assert is_open(opening, window, zone), context
        # The earliest: nothing just before it was open, unless it is the due time itself.
        assert opening == due or not is_open(opening - timedelta(seconds=1), window, zone), context


def test_is_open_is_the_plain_wall_clock_away_from_dst_changes():
    rng = random.Random(99)
    for _ in range(3000):
        window, zone, moment = _random_window(rng), ZoneInfo(rng.choice(ZONES)), _random_moment(rng)
        if (moment - timedelta(days=1)).astimezone(zone).utcoffset() != (
            moment + timedelta(days=1)
        ).astimezone(zone).utcoffset():
            continue

        assert is_open(moment, window, zone) == _wall_clock_open(moment, window, zone), (moment, window, zone)
