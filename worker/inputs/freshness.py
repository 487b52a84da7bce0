"""What HTTP headers say about when to ask again: pure functions of the headers and `now`.

The fetcher reads Retry-After with them; the feed decision (worker/polling/decide.py)
reads Cache-Control and Expires.

Cache-Control max-age, Expires (against Date), and Retry-After (delta-seconds or an
HTTP-date). Every value is seconds from now, capped at a year so no absurd header
overflows a timedelta; an absent or unparseable value is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_YEAR = 365 * 24 * 3600.0


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _seconds(text: str) -> float | None:
    """A delta-seconds value, capped at a year so no absurd header overflows a timedelta."""
    text = text.strip().strip('"')
    return min(float(text), _YEAR) if text.isascii() and text.isdigit() else None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now` (never negative), from delta-seconds or an HTTP-date."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit():
        return _seconds(text)
    when = _http_date(text)
    return None if when is None else min(max((when - now).total_seconds(), 0.0), _YEAR)


def freshness_hints(headers: Mapping[str, str], now: datetime) -> tuple[float | None, float | None]:
    """(Cache-Control max-age in seconds, Expires minus Date -- or minus `now` -- in seconds).

    Header names are matched case-insensitively; an absent or unparseable value is None.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    max_age: float | None = None
    for directive in lower.get("cache-control", "").lower().split(","):
        name, _, arg = directive.strip().partition("=")
        if name == "max-age":
            max_age = _seconds(arg)
    expires = _http_date(lower.get("expires"))
    base = _http_date(lower.get("date")) or now
    expires_in = None if expires is None else min(max((expires - base).total_seconds(), 0), _YEAR)
    return max_age, expires_in
