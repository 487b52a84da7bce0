"""What a server's answer says of when to ask again: Retry-After, and the freshness
hints of Cache-Control and Expires (worker/inputs/freshness.py), read against a fixed now."""

from __future__ import annotations

import pytest

from tests.documents import NOW
from worker.inputs.freshness import freshness_hints, parse_retry_after


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 0 ", 0.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("Wed, 01 May 2024 13:00:00 GMT", 3600.0),
        ("Wednesday, 01-May-24 12:30:00 GMT", 1800.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),  # in the past: retry now, never negative
        ("\u00b9\u00b2", None),  # superscript digits are str.isdigit() but not delta-seconds
        ("9" * 400, 365 * 24 * 3600.0),  # capped rather than inf
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, (None, None)),
        ({"Cache-Control": "max-age=600"}, (600.0, None)),
        ({"cache-control": "public, MAX-AGE=300, must-revalidate"}, (300.0, None)),
        ({"Cache-Control": 'max-age="60"'}, (60.0, None)),
        ({"Cache-Control": "no-cache"}, (None, None)),
        ({"Cache-Control": "max-age=abc"}, (None, None)),
        ({"Cache-Control": "max-age=-1"}, (None, None)),
        ({"Expires": "Wed, 01 May 2024 13:00:00 GMT"}, (None, 3600.0)),
        (
            {"Expires": "Wed, 01 May 2024 10:30:00 GMT", "Date": "Wed, 01 May 2024 10:00:00 GMT"},
            (None, 1800.0),
        ),
        ({"Expires": "0"}, (None, None)),
        ({"Expires": "Wed, 01 May 2024 11:00:00 GMT"}, (None, 0.0)),
        (
            {"Cache-Control": "max-age=60", "Expires": "Wed, 01 May 2024 12:10:00 GMT"},
            (60.0, 600.0),
        ),
    ],
)
def test_freshness_hints(
    headers: dict[str, str], expected: tuple[float | None, float | None]
) -> None:
    assert freshness_hints(headers, NOW) == expected
