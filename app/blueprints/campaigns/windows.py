"""Send windows: the days and hours a campaign may write to a contact, in the contact's own time zone.

Flask-free and database-free: plain values in, aware UTC datetimes out.

A window is a set of ISO weekdays (1 = Monday .. 7 = Sunday) and wall-clock hours ``start``-``end``
(``end`` may be ``24:00``; ``start < end``; no overnight windows), applied in each contact's zone.

What "inside" means, DST included: on a local day ``d`` whose weekday is allowed, the window is the
half-open interval of instants ``[first(d, start), first(d, end))``, where ``first(d, t)`` is the
earliest instant at which the local clock reads ``d t`` or later. So:

* an ordinary day is what it looks like;
* on a spring-forward day a start (or end) that does not exist on the clock (Berlin 02:30 on the
  last Sunday of March) becomes the transition instant (03:00 CEST), a valid instant; a window that
  lies wholly inside the gap (02:00-03:00) is empty that day;
* on a fall-back day an ambiguous wall time is its first occurrence, and the window runs on
  continuously through the repeated hour (so it is an hour longer that day).

``is_open``, ``next_opening``, ``window_end`` and ``schedule`` all use these same intervals, so a
moment ``schedule`` returns is always one ``is_open`` accepts.

The contact's zone (``contact_zone``): their own field when it names an IANA zone, else the zone
of their phone number from phonenumbers' data, else the organisation's, else UTC.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

__all__ = [
    "SendWindow", "WindowError", "contact_zone", "is_open", "next_opening", "schedule", "window_end",
]

MINUTES_PER_DAY = 1440
# At most this much jitter is added to a step due while its window is open.
MAX_JITTER = timedelta(minutes=15)
# A step due while the window is closed goes out somewhere in the first 80% of the next opening.
SPREAD_SHARE = 0.8
# Of the time the window has left, at most this share is used for the jitter.
JITTER_SHARE = 0.5

_TIME = re.compile(r"([0-9]{2}):([0-9]{2})")
# Names ZoneInfo loads that are not a place: the server's own zone, a tzdata build artefact, "-00".
_NOT_A_PLACE = frozenset({"localtime", "posixrules", "Factory"})
# phonenumbers' data names one representative zone per UTC offset for +7 numbers; for UTC+2 it is
# Europe/Bucharest, which has summer time, while Kaliningrad (the only +7 region at UTC+2) has none.
_PHONE_ZONE_FIXES = {7: {"Europe/Bucharest": "Europe/Kaliningrad"}}


class WindowError(ValueError):
    """A send window that cannot be: ``field`` is "days", "start" or "end"; ``code`` says what is wrong.

    Codes: "required" (absent or null), "bad_day" (days not a list, or an item not an integer
    1..7), "no_days" (an empty list), "bad_time" (not "HH:MM" from 00:00 to 23:59, or "24:00" for
    an end), "end_before_start" (end not after start). Words for people are written elsewhere.
    """

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class SendWindow:
    """Allowed ISO weekdays and minutes of the local day: ``start_minute`` <= t < ``end_minute``."""

    days: frozenset[int]
    start_minute: int
    end_minute: int

    ALWAYS: ClassVar[SendWindow]

    def __post_init__(self) -> None:
        days = self.days
        if not isinstance(days, frozenset):
            if isinstance(days, str | bytes) or not isinstance(days, Iterable):
                raise WindowError("days", "bad_day")
            days = frozenset(days)
            object.__setattr__(self, "days", days)
        if not days:
            raise WindowError("days", "no_days")
        if any(not _is_int(day) or not 1 <= day <= 7 for day in days):
            raise WindowError("days", "bad_day")
        if not _is_int(self.start_minute) or not 0 <= self.start_minute < MINUTES_PER_DAY:
            raise WindowError("start", "bad_time")
        if not _is_int(self.end_minute) or not 0 <= self.end_minute <= MINUTES_PER_DAY:
            raise WindowError("end", "bad_time")
        if self.end_minute <= self.start_minute:
            raise WindowError("end", "end_before_start")

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> SendWindow:
        """The API shape ``{"days": [1, 2, 3, 4, 5], "start": "10:00", "end": "19:00"}``.

        Repeated days collapse. Times are exactly "HH:MM" (two digits each); the first error found,
        in the order days, start, end, is raised as a ``WindowError``.
        """
        days = data.get("days")
        if days is None:
            raise WindowError("days", "required")
        if not isinstance(days, list | tuple | set | frozenset):
            raise WindowError("days", "bad_day")
        if not days:
            raise WindowError("days", "no_days")
        if any(not _is_int(day) or not 1 <= day <= 7 for day in days):
            raise WindowError("days", "bad_day")
        start = _parse_time(data.get("start"), "start", allow_end_of_day=False)
        end = _parse_time(data.get("end"), "end", allow_end_of_day=True)
        return cls(frozenset(days), start, end)

    def to_json(self) -> dict[str, Any]:
        """The API shape back: days in order, times as "HH:MM" ("24:00" for the end of the day)."""
        return {"days": sorted(self.days), "start": _format_time(self.start_minute),
                "end": _format_time(self.end_minute)}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_time(value: object, field: str, *, allow_end_of_day: bool) -> int:
    if value is None:
        raise WindowError(field, "required")
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise WindowError(field, "bad_time")
    hours, minutes = int(match[1]), int(match[2])
    if allow_end_of_day and (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise WindowError(field, "bad_time")
    return hours * 60 + minutes


def _format_time(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


SendWindow.ALWAYS = SendWindow(frozenset(range(1, 8)), 0, MINUTES_PER_DAY)


# --- the contact's zone -------------------------------------------------------------------------


def contact_zone(contact_timezone: str | None, phone: str | None, org_timezone: str) -> ZoneInfo:
    """The zone a contact's windows are applied in.

    1. ``contact_timezone`` when it is a valid IANA zone name (surrounding spaces ignored);
    2. else the zone of ``phone`` (E.164, "+74232123456") from phonenumbers' data, when it has
       only one; a number with several (a mobile is not tied to a place: every Russian mobile maps
       to all the zones of +7, Kazakhstan's included) does not tell where its owner is, so
    3. else (several zones, no phone, not a number, no zone data) the organisation's zone;
    4. else, when ``org_timezone`` is not a valid zone either, UTC.

    Kaliningrad numbers (+7 4012...) come out as Europe/Kaliningrad although phonenumbers says
    Europe/Bucharest (same winter offset, but Bucharest has summer time). Look-ups are cached.
    """
    own = _zone(contact_timezone)
    if own is not None:
        return own
    org = _zone(org_timezone) or ZoneInfo("UTC")
    candidates = _phone_zone_names(phone)
    if len(candidates) != 1:
        return org
    return ZoneInfo(candidates[0])


@lru_cache(maxsize=1024)
def _zone(name: object) -> ZoneInfo | None:
    """The zone called ``name``, or None when it names none (or names the server's own clock)."""
    if not isinstance(name, str):
        return None
    name = name.strip()
    if not name or name in _NOT_A_PLACE:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@lru_cache(maxsize=16384)
def _phone_zone_names(phone: object) -> tuple[str, ...]:
    """The valid zone names phonenumbers gives ``phone``, in its order, fixed for +7; () if none."""
    if not isinstance(phone, str) or not phone.strip():
        return ()
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return ()
    fixes = _PHONE_ZONE_FIXES.get(number.country_code, {})
    names: list[str] = []
    for name in phone_timezones.time_zones_for_number(number):
        name = fixes.get(name, name)
        if name not in names and _zone(name) is not None:  # drops "Etc/Unknown"
            names.append(name)
    return tuple(names)


# --- when the window is open --------------------------------------------------------------------


def is_open(moment: datetime, window: SendWindow, zone: ZoneInfo) -> bool:
    """Whether the window is open at ``moment`` (an aware datetime) in ``zone``."""
    return _interval_containing(_utc(moment), window, zone) is not None


def next_opening(after: datetime, window: SendWindow, zone: ZoneInfo) -> datetime:
    """The earliest moment >= ``after`` inside the window (``after`` itself when it is inside), UTC."""
    after = _utc(after)
    first_day = after.astimezone(zone).date() - timedelta(days=1)
    # Two weeks and a day: every allowed weekday comes round, even if a DST gap empties one of them.
    for offset in range(15):
        interval = _interval(first_day + timedelta(days=offset), window, zone)
        if interval is not None and interval[1] > after:
            return max(interval[0], after)
    raise ValueError("the window never opens")  # unreachable for a valid SendWindow


def window_end(moment: datetime, window: SendWindow, zone: ZoneInfo) -> datetime:
    """When the open window containing ``moment`` closes (UTC); ValueError if it is closed then.

    Each day's window is its own: one ending at 24:00 closes at midnight even when the next day's
    opens at 00:00.
    """
    interval = _interval_containing(_utc(moment), window, zone)
    if interval is None:
        raise ValueError("the window is closed at that moment")
    return interval[1]


def schedule(due: datetime, window: SendWindow, zone: ZoneInfo, rng: random.Random) -> datetime:
    """When a step due at ``due`` goes out (UTC); always a moment inside the window.

    Due while the window is open: ``due`` plus a jitter of up to 15 minutes, and never more than
    half the time the window has left. Due while it is closed: a uniformly random moment in the
    first 80% of the next opening, so an audience due at night spreads over the next day's window
    instead of all going out at its start.
    """
    due = _utc(due)
    interval = _interval_containing(due, window, zone)
    if interval is not None:
        limit = min(MAX_JITTER, (interval[1] - due) * JITTER_SHARE)
        return due + timedelta(seconds=rng.uniform(0, limit.total_seconds()))
    opening = next_opening(due, window, zone)
    length = window_end(opening, window, zone) - opening
    return opening + timedelta(seconds=rng.uniform(0, length.total_seconds() * SPREAD_SHARE))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is needed")
    return moment.astimezone(UTC)


def _interval_containing(
    moment: datetime, window: SendWindow, zone: ZoneInfo
) -> tuple[datetime, datetime] | None:
    local_day = moment.astimezone(zone).date()
    # A day's interval ends before its next midnight, so it holds no moment of a later local date;
    # after a fall-back across midnight it may hold moments still dated the day before.
    for day in (local_day, local_day + timedelta(days=1)):
        interval = _interval(day, window, zone)
        if interval is not None and interval[0] <= moment < interval[1]:
            return interval
    return None


def _interval(day: date, window: SendWindow, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The window's instants on local ``day`` as [open, close) in UTC; None if closed all day."""
    if day.isoweekday() not in window.days:
        return None
    opens = _first_instant(day, window.start_minute, zone)
    closes = _first_instant(day, window.end_minute, zone)
    return (opens, closes) if opens < closes else None


def _first_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The earliest UTC instant at which the clock in ``zone`` reads ``day`` + ``minute`` or later.

    An ambiguous wall time (fall-back) is its first occurrence; one that does not exist (a gap) is
    the instant the clock jumps past it.
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the earlier reading
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap fold=0 reads the wall time with the offset from before the jump (an instant after
    # it) and fold=1 with the one after (an instant before it): search between them, by second.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(instant.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
