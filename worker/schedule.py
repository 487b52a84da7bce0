"""When to poll a feed next: pure functions of its history, the server's hints and the clock.

The rules (README, "Scheduling"):

- Rhythm: entries per week over the recent window (four weeks) give the interval,
  week / weekly entries, as Miniflux's entry-frequency scheduler does; a feed with
  no recent entry waits the maximum. A per-feed fixed interval overrides.
- The interval is clamped between the feed's minimum and maximum (defaults 5 min
  and 24 h) and lengthened, never shortened, by the server's hints:
  Cache-Control max-age, Expires, RSS <ttl> (still capped at the maximum).
- Errors back off exponentially from one minute, doubling, capped at 24 h;
  Retry-After (429/503) is honoured when longer.
- Jitter of ±10 % keeps feeds from moving in lock-step.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WEEK = 7 * 24 * 3600.0
WINDOW = timedelta(weeks=4)


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
    if not recent:
        return policy.max_interval
    per_week = len(recent) / (WINDOW.total_seconds() / WEEK)
    return _clamp(WEEK / per_week, policy)


def next_after_success(
    now: datetime,
    entry_times: Sequence[datetime],
    hints: Hints,
    policy: Policy,
    rng: random.Random,
) -> datetime:
    """The next poll after a successful (or not-modified) poll."""
    interval = rhythm_interval(entry_times, now, policy)
    if policy.fixed_interval is None:
        interval = min(max(interval, hints.freshness()), policy.max_interval)
    return now + timedelta(seconds=_jittered(interval, policy, rng))


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


def _jittered(interval: float, policy: Policy, rng: random.Random) -> float:
    return interval * rng.uniform(1 - policy.jitter, 1 + policy.jitter)
