"""Canonical forms of what people type (or spreadsheets hold): E.164 phone numbers, lower-cased
e-mail addresses, Telegram usernames and ids, decimals, dates, booleans, time zones, domains,
currencies, and text as search compares it.

Shared by every domain that meets them (CRM fields and imports, Telegram accounts, the inbox's
matching of people to contacts). Each raises ValueError with a message fit to show next to the
field or in an import's rejected-rows report, in the language of the request (English outside one).
Names shown in pickers (currencies, time zones) are CLDR's, in the viewer's language."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location
from babel.numbers import get_currency_name, get_territory_currencies
from email_validator import EmailNotValidError, validate_email
from flask_babel import get_locale
from flask_babel import gettext as _

_TG_USERNAME = re.compile(r"^[a-z][a-z0-9_]{3,31}$")
_TG_PREFIXES = ("https://t.me/", "http://t.me/", "t.me/", "https://telegram.me/", "telegram.me/", "@")
_TRUE = {"1", "true", "yes", "y", "on", "x", "да", "д"}  # spreadsheets written in Russian say да / нет
_FALSE = {"0", "false", "no", "n", "off", "", "нет", "н"}


def reads_english() -> bool:
    """Whether the request is answered in English (or there is none). Libraries that explain in
    English only (email_validator, the JSON parser) give their reasons to English readers; other
    readers get a plain sentence of ours instead."""
    locale = get_locale()
    return locale is None or locale.language == "en"


def _text(raw: str) -> str:
    """``raw`` stripped. Raises ValueError when it is not text (a JSON body may send anything)."""
    if not isinstance(raw, str):
        raise ValueError(_("must be text"))
    return raw.strip()


def email(raw: str) -> str:
    try:
        return validate_email(_text(raw), check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        if reads_english():  # email_validator explains in English only
            raise ValueError(_("not a valid email address (%(reason)s)", reason=str(err))) from None
        raise ValueError(_("not a valid email address")) from None


# What a phone number may be written with, beside its digits: a leading +, spaces, brackets, dots,
# slashes, dashes of any kind, and an extension at the end ("ext. 12", "x12", "#12", "доб. 12").
_PHONE_PUNCTUATION = re.compile(r"[\s()\[\].\-/\u2010-\u2015\u2212]+")
_PHONE_EXTENSION = re.compile(r"\s*(?:e?xt?\.?|extension|#|доб\.?|добавочный)\s*\d{1,7}\s*$", re.I)
def _needs_country() -> str:
    return _("add the country code (+…), e.g. +44 20 7946 0958")


def phone(raw: str, region: str | None = None) -> str:
    """E.164. A number written without its country code (+ or 00) is read as a number of
    ``region`` (ISO 3166 alpha-2, an organization's default country), national trunk prefix and
    all: "8 916 111-22-33" in RU is +79161112233. Without a region, such a number is refused
    unless its digits already make a whole international number ("79161112233")."""
    text = _text(raw)
    body = _PHONE_EXTENSION.sub("", text)
    digits = _PHONE_PUNCTUATION.sub("", body.removeprefix("+"))
    if not re.fullmatch(r"\d{3,}", digits):  # letters, symbols, or hardly any digits
        raise ValueError(_("not a phone number"))
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        readings = [(text, None)]
    else:
        readings = [(text, region)] if region else []
        if len(digits) >= 11:  # maybe a whole international number written without the +
            readings.append(("+" + digits, None))
        if not readings:
            raise ValueError(_needs_country())
    possible = []
    for written, country in readings:
        try:
            number = phonenumbers.parse(written, country)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            # Of two readings, the first that is a real number wins, else the first possible one.
            if len(readings) == 1 or phonenumbers.is_valid_number(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            possible.append(number)
    if possible:
        return phonenumbers.format_number(possible[0], phonenumbers.PhoneNumberFormat.E164)
    if region is None and not text.startswith("+"):
        raise ValueError(_needs_country())
    raise ValueError(_("not a possible phone number"))


def phone_display(e164: str | None) -> str:
    """A stored number as people read it: "+442079400000" -> "+44 20 7940 0000" (the text as it
    is when it does not parse)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_PHONE_WRITTEN = re.compile(r"\+?[\d\s().\-\u2010-\u2015\u2212]+")


def phone_search_digits(text: str, region: str | None = None) -> tuple[str, ...]:
    """What a search for ``text`` looks for when it is written as a phone number: the number's
    digits in E.164 without the + ("8 916 111-22-33" in RU -> "79161112233"), and its digits as
    typed ("89161112233": a part of a number, an id); either may match. None (empty) when it is not
    written like a phone number: letters, or fewer than 7 digits."""
    text = text.strip()
    if not _PHONE_WRITTEN.fullmatch(text) or len(digits := re.sub(r"\D", "", text)) < 7:
        return ()
    try:
        return tuple(dict.fromkeys((phone(text, region).removeprefix("+"), digits)))
    except ValueError:
        return (digits,)


def phone_region(raw: str) -> str:
    """An ISO 3166 alpha-2 code phone numbers can be read in ("ru" -> "RU")."""
    text = _text(raw).upper()
    if text not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(_("not a country code such as RU or GB"))
    return text


# The currencies a BD team here deals in most, first in a currency list; the rest follow A-Z.
COMMON_CURRENCIES = ("RUB", "USD", "EUR", "GBP", "CNY", "AED", "KZT", "UZS", "BYN", "AMD", "GEL", "TRY")


@cache
def currencies() -> tuple[str, ...]:
    """ISO 4217 codes that are legal tender somewhere today (CLDR's data, through Babel), A-Z."""
    codes = {code for territory in Locale("en").territories
             for code in get_territory_currencies(territory, tender=True)}
    return tuple(sorted(codes))


def _language() -> str:
    """The language names are shown in: the request's, else English."""
    locale = get_locale()
    return locale.language if locale is not None else "en"


# Where CLDR's name keeps a Latin acronym in a Cyrillic name ("франк КФА BEAC"), the name Russian
# speakers use; its neighbour is "западноафриканский" for symmetry.
_CURRENCY_NAMES = {("ru", "XAF"): "центральноафриканский франк КФА",
                   ("ru", "XOF"): "западноафриканский франк КФА"}


def currency_name(code: str, language: str | None = None) -> str:
    """"RUB" -> "Russian Ruble" ("российский рубль" in Russian: the viewer's language unless
    ``language`` says; the code itself for one CLDR does not know)."""
    language = language or _language()
    return _CURRENCY_NAMES.get((language, code)) or get_currency_name(code, locale=language)


def currency_choices(current: str = "") -> list[tuple[str, str]]:
    """A currency picker's (code, "RUB · Russian Ruble"): the common ones first, then every
    currency in use A-Z, and ``current`` first should it be one CLDR no longer lists."""
    codes = [*COMMON_CURRENCIES, *(c for c in currencies() if c not in COMMON_CURRENCIES)]
    if current and current not in codes:
        codes.insert(0, current)
    return [(code, f"{code} · {currency_name(code)}") for code in codes]


def country_currency(country: str | None, fallback: str = "USD") -> str:
    """The currency a country pays in today ("RU" -> "RUB"), else ``fallback``."""
    found = get_territory_currencies(country, tender=True) if country else []
    return found[0] if found else fallback


def search_fold(text: str) -> str:
    """``text`` as search compares it: lower-cased (Cyrillic too), and ё read as its plain letter,
    since Russian writes "Ёжик" and "Ежик" for the same name. Stored search text and the
    searched-for terms both go through it, so the databases compare plain lower-case strings."""
    return text.lower().replace("\u0451", "\u0435")  # Cyrillic io (ё) -> ie


def telegram_username(raw: str) -> str:
    text = _text(raw)
    for prefix in _TG_PREFIXES:
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
    text = text.strip("/").lower()
    if not _TG_USERNAME.match(text):
        raise ValueError(_("Telegram usernames are 4-32 letters, digits or _ and start with a letter"))
    return text


def telegram_user_id(raw: str | int) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(_("a Telegram user id is a whole number")) from None
    if not 0 < value < 2**63:
        raise ValueError(_("a Telegram user id is a positive number"))
    return value


def decimal(raw: str | int | float | Decimal) -> Decimal:
    if isinstance(raw, Decimal | int | float) and not isinstance(raw, bool):
        value = Decimal(str(raw))
    else:
        text = re.sub(r"[\s$€£¥₽]", "", str(raw))
        if text.count(",") and text.count(".") == 0 and re.fullmatch(r"-?\d+,\d{1,2}", text):
            text = text.replace(",", ".")  # 1234,50 written the continental way
        text = text.replace(",", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("not a number")) from None
    if not value.is_finite() or abs(value) >= Decimal("1e12"):
        raise ValueError(_("number out of range"))
    return value.quantize(Decimal("0.01"))


def integer(raw: str | int, low: int | None = None, high: int | None = None) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(_("not a whole number")) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(_("must be between %(low)s and %(high)s", low=low, high=high))
    return value


ID_MAX = 2**31 - 1  # the largest id a row can have: ids are INTEGER columns (PostgreSQL's int4)


def id_or_none(raw: object) -> int | None:
    """An id given as an int or a string of digits; None for anything else (a name, say, or a
    number larger than any id, which names no row), so the caller can look the value up by name
    instead and say it found nothing."""
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():  # not "²"
        raw = int(raw.strip())
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= ID_MAX:
        return raw
    return None


def iso_date(raw: str | date) -> date:
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(_("dates are written YYYY-MM-DD"))


def boolean(raw: str | bool) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(_("use yes or no"))


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_names() -> frozenset[str]:
    """Every IANA time zone name."""
    return _timezones()


def timezone_label(name: str, language: str | None = None) -> str:
    """A time zone as a picker shows it: its IANA name in English ("Europe/London", as people
    there know zones), CLDR's country and city in another language ("Россия (Москва)"); zones of
    no place (UTC, Etc/GMT+3, EST5EDT) by their offset from UTC ("UTC\u221203:00")."""
    language = language or _language()
    if language == "en":
        return name.replace("_", " ")
    return _timezone_label(name, language)


@cache
def _timezone_label(name: str, language: str) -> str:
    territory = get_global("zone_territories").get(name)
    if territory and territory != "001":
        try:
            city = get_timezone_location(name, locale=language, return_city=True)
        except LookupError:
            city = None
        country = Locale(language).territories.get(territory)
        if city and country and not re.search("[A-Za-z]", city):
            return city if city == country else f"{country} ({city})"
    return _utc_offset(name)


def _utc_offset(name: str) -> str:
    """"UTC", "UTC+03:00", "UTC\u221205:30": a zone's standard offset (January's, north of the equator)."""
    try:
        offset = datetime(2025, 1, 15, tzinfo=ZoneInfo(name)).utcoffset()
    except (LookupError, ValueError):
        return "UTC"
    minutes = int(offset.total_seconds() // 60) if offset else 0
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "\u2212"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def timezone(raw: str) -> str:
    text = _text(raw)
    if text not in _timezones():
        raise ValueError(_("use a timezone name such as Europe/London"))
    return text


def domain(raw: str) -> str:
    text = _text(raw).lower()
    if "://" not in text:
        text = "http://" + text
    host = (urlsplit(text).hostname or "").removeprefix("www.")
    if not host or "." not in host or not re.fullmatch(r"[a-z0-9.-]+", host):
        raise ValueError(_("not a domain name"))
    return host


def website(raw: str) -> str:
    text = _text(raw)
    if not re.match(r"^https?://", text, re.I):
        text = "https://" + text
    domain(text)
    return text[:500]
