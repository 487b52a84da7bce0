"""The scheduling maths, on the pure functions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from worker.polling.schedule import (
    Hints,
    Policy,
    backoff,
    next_after_error,
    next_after_success,
    rhythm_interval,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NO_JITTER = Policy(jitter=0.0)


def every(hours: float, count: int) -> list[datetime]:
    return [NOW - timedelta(hours=hours * i) for i in range(count)]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], 24 * 3600),  # nothing recent: the maximum
        (every(24 * 7, 4), 24 * 3600),  # weekly: clamped to the 24 h maximum
        (every(24, 28), 6 * 3600 * 4),  # daily over four weeks: 1 per day -> 24 h
        (every(1, 24 * 28), 3600),  # hourly -> 1 h
        (every(0.01, 20_000), 300),  # a firehose: clamped to the 5 min minimum
        ([NOW - timedelta(weeks=10)], 24 * 3600),  # old entries do not count
        # Only the newest 200 dates are kept: their span still gives the rate.
        (every(0.25, 200), 900),
        (every(1 / 60, 2), 24 * 3600),  # two entries a minute apart are no firehose
        # An hourly burst three days ago, silence since: the silence counts (76 h / 4).
        ([NOW - timedelta(days=3, hours=h) for h in range(5)], 19 * 3600),
    ],
)
def test_rhythm(entries: list[datetime], expected: float) -> None:
    assert rhythm_interval(entries, NOW, NO_JITTER) == pytest.approx(expected, rel=0.01)


def test_fixed_interval_overrides_rhythm_and_hints() -> None:
    policy = Policy(fixed_interval=900, jitter=0.0)
    assert rhythm_interval(every(0.01, 5000), NOW, policy) == 900
    after = next_after_success(NOW, [], Hints(max_age=7200), policy, random.Random(1))
    assert after == NOW + timedelta(seconds=900)


def test_hints_lengthen_but_never_shorten_and_stay_under_the_maximum() -> None:
    hourly = every(1, 24 * 28)
    rng = random.Random(1)
    assert next_after_success(NOW, hourly, Hints(max_age=60), NO_JITTER, rng) == NOW + timedelta(
        hours=1
    )
    assert next_after_success(NOW, hourly, Hints(ttl=3 * 3600), NO_JITTER, rng) == NOW + timedelta(
        hours=3
    )
    assert next_after_success(
        NOW, hourly, Hints(expires_in=2 * 3600), NO_JITTER, rng
    ) == NOW + timedelta(hours=2)
    assert next_after_success(
        NOW, hourly, Hints(max_age=10 * 86400), NO_JITTER, rng
    ) == NOW + timedelta(hours=24)


def test_jitter_never_passes_the_maximum() -> None:
    rng = random.Random(3)
    for _ in range(200):
        when = next_after_success(NOW, [], Hints(), Policy(), rng)
        assert timedelta(hours=21.6) <= when - NOW <= timedelta(hours=24)


def test_jitter_spreads_feeds_within_ten_percent() -> None:
    rng = random.Random(7)
    times = {next_after_success(NOW, every(1, 24 * 28), Hints(), Policy(), rng) for _ in range(50)}
    assert len(times) > 40
    for when in times:
        assert timedelta(minutes=54) <= when - NOW <= timedelta(minutes=66)


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, NO_JITTER) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(30, NO_JITTER) == 24 * 3600
    assert backoff(10_000, NO_JITTER) == 24 * 3600


def test_retry_after_is_honoured_when_longer() -> None:
    rng = random.Random(1)
    assert next_after_error(NOW, 1, Hints(retry_after=3600), NO_JITTER, rng) == NOW + timedelta(
        hours=1
    )
    assert next_after_error(NOW, 5, Hints(retry_after=10), NO_JITTER, rng) == NOW + timedelta(
        seconds=960
    )
    # A server asking for a month is held to a week: the feed is never dropped.
    far = next_after_error(NOW, 1, Hints(retry_after=30 * 86400), NO_JITTER, rng)
    assert far == NOW + timedelta(days=7)
