import re

import pytest

from app import canonical


@pytest.mark.parametrize(("raw", "expected"), [
    (7, 7), ("42", 42), (" 42 ", 42), ("Won", None), ("", None), (None, None), (True, None),
    ("-3", None), ("4.5", None), (4.5, None), (2**31 - 1, 2**31 - 1), (2**31, None), (str(2**31), None), (-3, None),
    ("²", None), ("٣", None),  # digits to str.isdigit, not ids
])
def test_an_id_is_an_int_or_digits_and_anything_else_is_looked_up_by_name(raw, expected):
    assert canonical.id_or_none(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Ёжик", "ежик"), ("ЁЖИК", "ежик"), ("ежик", "ежик"), ("Пётр O'Neil", "петр o'neil"), ("Й", "й"),
])
def test_search_folds_case_and_reads_yo_as_ye(raw, expected):
    assert canonical.search_fold(raw) == expected


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("8 916 111-22-33", "RU", "+79161112233"),  # the trunk prefix 8 of a Russian number
    ("89161112233", "RU", "+79161112233"),
    ("8 (916) 111\u201322\u201333", "RU", "+79161112233"),
    ("916 111 22 33", "RU", "+79161112233"),
    ("79161112233", "RU", "+79161112233"),
    ("79161112233", None, "+79161112233"),  # a whole international number without its +
    ("+7 916 111-22-33", None, "+79161112233"),
    ("+7 (916) 111-22-33 доб. 12", "RU", "+79161112233"),
    ("0049 151 12345678", "RU", "+4915112345678"),
    ("4915112345678", "US", "+4915112345678"),  # not a US number: read as international
    ("020 7946 0958", "GB", "+442079460958"),
    ("+44 20 7946 0958 ext. 5", None, "+442079460958"),
])
def test_a_phone_without_its_country_code_is_read_in_the_region(raw, region, expected):
    assert canonical.phone(raw, region) == expected


@pytest.mark.parametrize(("raw", "region", "message"), [
    ("8 916 111-22-33", None, "add the country code (+…), e.g. +44 20 7946 0958"),
    ("89161112233", None, "add the country code (+…), e.g. +44 20 7946 0958"),
    ("020 7946 0958", None, "add the country code (+…), e.g. +44 20 7946 0958"),
    ("hello", None, "not a phone number"),
    ("hello", "RU", "not a phone number"),
    ("abc123", None, "not a phone number"),
    ("12", "RU", "not a phone number"),
    ("+", None, "not a phone number"),
    ("12345", "RU", "not a possible phone number"),
    ("+999 123456", None, "not a possible phone number"),
])
def test_a_phone_that_cannot_be_read_says_why(raw, region, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        canonical.phone(raw, region)


def test_a_phone_region_is_a_country_phone_numbers_are_read_in():
    assert canonical.phone_region(" ru ") == "RU"
    for bad in ("RUS", "ZZ", "", "7"):
        with pytest.raises(ValueError):
            canonical.phone_region(bad)


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("8 916 111-22-33", "RU", ("79161112233", "89161112233")),
    ("+7 916 111-22-33", None, ("79161112233",)),
    ("8 916 111-22-33", None, ("89161112233",)),
    ("111-22-33", "RU", ("71112233", "1112233")),  # a possible short Russian number, or a part of one
    ("2024 12", "RU", ()),  # too few digits for a number
    ("Ivan 89161112233", "RU", ()),  # not a number alone
])
def test_a_search_for_a_phone_number_looks_for_its_e164_digits_and_the_digits_typed(raw, region, expected):
    assert canonical.phone_search_digits(raw, region) == expected


def test_a_stored_phone_number_reads_grouped_as_people_write_it():
    assert canonical.phone_display("+442079460958") == "+44 20 7946 0958"
    assert canonical.phone_display("+79161112233") == "+7 916 111-22-33"
    assert canonical.phone_display("not a number") == "not a number" and canonical.phone_display(None) == ""


# -- in the viewer's language -----------------------------------------------------------------------

def test_a_refusal_is_in_the_viewers_language_and_english_by_default():
    from flask_babel import force_locale

    with pytest.raises(ValueError, match=r"^not a phone number$"):
        canonical.phone("hello")
    with force_locale("ru"):
        for raw, message in (("hello", "не номер телефона"), ("8 916 111-22-33", "добавьте код страны")):
            with pytest.raises(ValueError, match=message):
                canonical.phone(raw)
        with pytest.raises(ValueError, match=r"^некорректный адрес электронной почты$"):  # no English reason
            canonical.email("not-an-address")
        with pytest.raises(ValueError, match=r"^должно быть от 1 до 5$"):
            canonical.integer("9", 1, 5)
    with pytest.raises(ValueError, match=r"^not a valid email address \(.+\)$"):
        canonical.email("not-an-address")


def test_russian_spreadsheets_may_say_da_and_net():
    assert canonical.boolean("Да") is True and canonical.boolean("нет") is False


@pytest.mark.parametrize(("zone", "russian", "english"), [
    ("Europe/Moscow", "Россия (Москва)", "Europe/Moscow"),
    ("America/New_York", "Соединенные Штаты (Нью-Йорк)", "America/New York"),
    ("UTC", "UTC", "UTC"),
    ("Etc/GMT+5", "UTC\u221205:00", "Etc/GMT+5"),  # Etc's signs are the other way round
    ("Asia/Kolkata", "Индия (Калькутта)", "Asia/Kolkata"),
])
def test_a_time_zone_reads_as_its_place_in_russian_and_its_name_in_english(zone, russian, english):
    assert (canonical.timezone_label(zone, "ru"), canonical.timezone_label(zone, "en")) == (russian, english)


def test_every_time_zone_has_a_russian_label_without_latin_words_but_utc():
    from zoneinfo import available_timezones

    for zone in available_timezones():
        assert not re.search("[A-Za-z]", canonical.timezone_label(zone, "ru").replace("UTC", "")), zone


def test_currencies_are_named_in_the_viewers_language_with_their_codes():
    from flask_babel import force_locale

    assert canonical.currency_name("RUB", "en") == "Russian Ruble"
    assert canonical.currency_name("RUB", "ru") == "российский рубль"
    with force_locale("ru"):
        choices = dict(canonical.currency_choices())
    assert choices["USD"] == "USD · доллар США"
    assert all(not re.search("[A-Za-z]", name.split(" · ", 1)[1]) for name in choices.values())
