"""When to poll a feed next: pure functions of its history, the server's hints and the clock.

The rules (docs/polling.md):

- Rhythm: how often the feed published over the recent window (four weeks) gives
  the interval, as Miniflux's entry-frequency scheduler does: the gaps between the
  recent entries known, over the time they span up to now (at least a day, so two
  entries a minute apart do not make a firehose). Only the newest entry dates are
  kept, so for a busy feed the span is shorter than the window, and the rate still
  right. A feed with no recent entry waits the maximum; a fixed interval overrides.
- The interval is clamped between the feed's minimum and maximum (defaults 5 min
  and 24 h) and lengthened, never shortened, by the server's hints:
  Cache-Control max-age, Expires, RSS <ttl> (still capped at the maximum).
- Errors back off exponentially from `error_base` (the poller passes the feed's
  minimum interval, so a failing feed is never asked more often than a healthy
  one), doubling, capped at 24 h; Retry-After (429/503) is honoured when longer.
- Jitter of ±10 % keeps feeds from moving in lock-step; it never takes an adaptive
  interval past the maximum.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WEEK = 7 * 24 * 3600.0
WINDOW = timedelta(weeks=4)
MIN_SPAN = timedelta(days=1)


@dataclass(frozen=True)
class Policy:
    min_interval: float = 300.0
    max_interval: float = 24 * 3600.0
    fixed_interval: float | None = None
    error_base: float = 60.0
    error_cap: float = 24 * 3600.0
    retry_after_cap: float = 7 * 24 * 3600.0
    jitter: float = 0.1
    broken_after: int = 8  # consecutive errors before a feed shows as broken


@dataclass(frozen=True)
class Hints:
    """What the response said about freshness, in seconds from now."""

    max_age: float | None = None
    expires_in: float | None = None
    ttl: float | None = None
    retry_after: float | None = None

    def freshness(self) -> float:
        values = [v for v in (self.max_age, self.expires_in, self.ttl) if v is not None]
        return max(values, default=0.0)


def rhythm_interval(entry_times: Sequence[datetime], now: datetime, policy: Policy) -> float:
    """Seconds between polls from how often the feed published in the recent window."""
    if policy.fixed_interval is not None:
        return policy.fixed_interval
    recent = [t for t in entry_times if now - WINDOW <= t <= now]
    if len(recent) < 2:
        return policy.max_interval
    span = max((now - min(recent)).total_seconds(), MIN_SPAN.total_seconds())
    return _clamp(span / (len(recent) - 1), policy)


def next_after_success(
    now: datetime,
    entry_times: Sequence[datetime],
    hints: Hints,
    policy: Policy,
    rng: random.Random,
) -> datetime:
    """The next poll after a successful (or not-modified) poll."""
    interval = rhythm_interval(entry_times, now, policy)
    if policy.fixed_interval is not None:
        return now + timedelta(seconds=_jittered(interval, policy, rng))
    interval = min(max(interval, hints.freshness()), policy.max_interval)
    return now + timedelta(seconds=_jittered(interval, policy, rng, ceiling=policy.max_interval))


def backoff(error_count: int, policy: Policy) -> float:
    """Seconds to wait after the `error_count`-th consecutive error (1-based)."""
    exponent = min(max(error_count, 1) - 1, 32)
    return float(min(policy.error_base * 2**exponent, policy.error_cap))


def next_after_error(
    now: datetime,
    error_count: int,
    hints: Hints,
    policy: Policy,
    rng: random.Random,
) -> datetime:
    """The next poll after a failed poll: exponential backoff, or Retry-After when longer."""
    delay = _jittered(backoff(error_count, policy), policy, rng)
    if hints.retry_after is not None:
        delay = max(delay, min(hints.retry_after, policy.retry_after_cap))
    return now + timedelta(seconds=delay)


def _clamp(interval: float, policy: Policy) -> float:
    return min(max(interval, policy.min_interval), policy.max_interval)


def _jittered(
    interval: float, policy: Policy, rng: random.Random, ceiling: float | None = None
) -> float:
    high = interval * (1 + policy.jitter)
    if ceiling is not None:
        high = min(high, max(ceiling, interval))
    return rng.uniform(interval * (1 - policy.jitter), high)
