"""Dates as found (strings, datetimes, feedparser struct_times) to RFC 3339 UTC.

Rules: a value without a time zone is taken as UTC (feeds and files rarely say,
and guessing the server's zone would be worse); a value missing its year, month
or day is dropped rather than completed from today's date; anything unparseable
is None. Dates are never invented. JavaScript's `Date.toString()` form ("Tue Mar
05 2024 14:30:00 GMT+0100 (Central European Standard Time)") is read with its
offset east of GMT, as JavaScript means it.

An HTML page's metadata (`page_date`) may also hold a bare year or a Unix
timestamp: read there only, where a number stands for a date, never in text.
"""

from __future__ import annotations

import calendar
import re
import time
import warnings
from datetime import UTC, date, datetime, timedelta

from dateutil import parser as dateparser
from dateutil.tz import tzoffset

# Zone abbreviations common in US feeds; dateutil knows only UTC/GMT by itself.
_TZINFOS = {
    name: tzoffset(name, hours * 3600)
    for name, hours in {
        "EST": -5,
        "EDT": -4,
        "CST": -6,
        "CDT": -5,
        "MST": -7,
        "MDT": -6,
        "PST": -8,
        "PDT": -7,
        "CET": 1,
        "CEST": 2,
        "MSK": 3,
    }.items()
}

_DATELINE_PREFIX_RE = re.compile(
    r"^(?:posted|published|updated|last updated)(?:\s+on)?\b[\s:]*", re.IGNORECASE
)

# JavaScript's "GMT+0100 (zone name)": dateutil reads "GMT+hhmm" the POSIX way, as
# west of GMT, and fails on the name; the offset alone says the same, the right way.
_JS_ZONE_RE = re.compile(r"\s+(?:GMT|UTC)([+-]\d{2}:?\d{2})(?:\s*\([^()]*\))?$", re.IGNORECASE)
# A page's bare year: January 1st, 00:00 UTC, of a year in this range.
_YEAR_RE = re.compile(r"\d{4}")
_PAGE_YEARS = range(1900, 2101)
# A page's Unix timestamp, in seconds or milliseconds: 1990-01-01 to 2100-01-01 UTC.
# Outside that, digits are more likely an id or a compact date than a timestamp.
_TIMESTAMP_RE = re.compile(r"\d{9,13}")
_EPOCH_SECONDS = range(631_152_000, 4_102_444_800)

# Two different defaults: a component that differs between the two parses was
# filled in by dateutil, not found in the input.
_DEFAULT_A = datetime(2000, 1, 1)
_DEFAULT_B = datetime(2001, 2, 2)


def to_rfc3339_utc(value: str | datetime | date | time.struct_time | None) -> str | None:
    """`value` as "YYYY-MM-DDTHH:MM:SSZ" in UTC, or None when it is not a full date."""
    utc = to_utc(value)
    return None if utc is None else rfc3339(utc)


def to_utc(value: str | datetime | date | time.struct_time | None) -> datetime | None:
    """`value` as an aware UTC datetime in whole seconds, or None when it is not a
    full date (or falls outside years 1 to 9999 once in UTC)."""
    if value is None:
        return None
    if isinstance(value, time.struct_time):
        parsed = _from_struct_time(value)
    elif isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        parsed = parse_date(value)
    return None if parsed is None else _as_utc(parsed)


def parse_date(value: str) -> datetime | None:
    """A datetime from a string, or None when it is not a complete date."""
    text = value.strip()
    if not text or len(text) > 100:
        return None
    try:
        return datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        pass
    text = _JS_ZONE_RE.sub(r" \1", text)
    first = _dateutil(text, _DEFAULT_A)
    second = _dateutil(text, _DEFAULT_B)
    if first is None or second is None or first.date() != second.date():
        return None
    return first


def page_date(value: str | None) -> str | None:
    """A date of an HTML page's metadata as RFC 3339 UTC, or None.

    Every form `to_utc` reads, plus a bare year (January 1st of it: the page says
    no more, and the record keeps only a full instant) and a Unix timestamp in
    seconds or milliseconds, both in a plausible range.
    """
    text = (value or "").strip()
    if _YEAR_RE.fullmatch(text) and int(text) in _PAGE_YEARS:
        return rfc3339(datetime(int(text), 1, 1, tzinfo=UTC))
    number = int(text) if _TIMESTAMP_RE.fullmatch(text) else 0
    # As seconds, then as milliseconds: the two ranges do not overlap.
    for seconds in (number, number // 1000):
        if seconds in _EPOCH_SECONDS:
            return rfc3339(datetime.fromtimestamp(seconds, tz=UTC))
    return to_rfc3339_utc(text or None)


def dateline(line: str) -> str | None:
    """The date of a line that is only a date ("Posted on March 5, 2024"), else None."""
    value = _DATELINE_PREFIX_RE.sub("", line.strip())
    return value if parse_date(value) is not None else None


def format_utc(value: datetime) -> str | None:
    """RFC 3339 with a "Z"; naive datetimes are UTC. None when out of range."""
    utc = _as_utc(value)
    return None if utc is None else rfc3339(utc)


def _as_utc(value: datetime) -> datetime | None:
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if utc.utcoffset() != timedelta(0):  # a broken tzinfo
        return None
    return utc.replace(microsecond=0)


def rfc3339(utc: datetime) -> str:
    """An aware UTC datetime as "YYYY-MM-DDTHH:MM:SSZ" (no check: see `format_utc`)."""
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def _dateutil(text: str, default: datetime) -> datetime | None:
    try:
        with warnings.catch_warnings():
            # An unknown zone name comes back naive, which we then read as UTC.
            warnings.simplefilter("ignore", dateparser.UnknownTimezoneWarning)
            return dateparser.parse(text, default=default, tzinfos=_TZINFOS)
    except (ValueError, OverflowError, TypeError, ArithmeticError):
        return None


def _from_struct_time(value: time.struct_time) -> datetime | None:
    # feedparser's *_parsed values are already UTC.
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
