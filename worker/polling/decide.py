"""What becomes of a feed after one poll attempt: a pure function, no Redis, no HTTP.

`decide_feed(state, attempt, now, rng, defaults)` returns the feed's new state,
which of its fields to write, when it is due next and what the poll reports:

| attempt                                   | status           | next poll                     |
|-------------------------------------------|------------------|-------------------------------|
| 304, or the same body as last time        | ok               | rhythm, lengthened by hints   |
| 200 with entries parsed and stored        | ok               | rhythm, lengthened by hints   |
| 200 after a permanent redirect            | ok, `url` moves  | as above                      |
| 200 after a temporary redirect            | ok, `url` stays  | as above                      |
| 410 Gone                                  | disabled         | never                         |
| 429/503 with Retry-After                  | error / broken   | backoff, or Retry-After       |
| other HTTP errors, network errors,        | error / broken   | backoff                       |
| unparseable body, time limit, given up    |                  |                               |
| the host is busy with other feeds         | unchanged        | in 5 to 15 s                  |

Hints are Cache-Control max-age, Expires and the RSS ttl (the ttl seen at the
last parse when nothing was parsed); they lengthen the interval, never shorten
it. A failed attempt writes only the error fields, never the validators or the
URL, so a fetch that failed cannot undo what a good one learnt.
The rules of the intervals themselves are in worker/polling/schedule.py.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from worker.inputs.freshness import freshness_hints
from worker.model import POLL_FIELDS, FeedState, PollOutcome, utc_instant
from worker.polling.schedule import Hints, Policy, next_after_error, next_after_success

# Only the newest entry dates are kept for the rhythm (see schedule.py).
RECENT_ENTRY_TIMES = 200
BUSY_RETRY = (5.0, 15.0)  # seconds: a busy host is asked again soon, by a fresh claim
FAILING_AFTER = timedelta(days=1)  # `feeds list` flags a feed failing this long


@dataclass(frozen=True)
class Response:
    """A 2xx or 304 the fetcher returned, after following redirects."""

    status: int
    headers: Mapping[str, str]
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # where every hop was a permanent redirect (301/308)
    body_hash: str | None = None  # None for a 304

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class Unchanged:
    """A 304, or a body identical to the last one: nothing was parsed."""

    response: Response


@dataclass(frozen=True)
class Parsed:
    """A new body, parsed and its entries stored."""

    response: Response
    entry_times: Sequence[datetime]
    ttl: float | None = None  # seconds (RSS <ttl>)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    held_back: int = 0  # changes the revision policy keeps for a later poll


@dataclass(frozen=True)
class Failed:
    """No entries: the network, the server, the body or the worker failed this poll."""

    error: str
    http_status: int | None = None
    retry_after: float | None = None  # seconds, from a 429/503
    gone: bool = False  # 410: the publisher retired the feed


@dataclass(frozen=True)
class HostBusy:
    """Every request slot of the feed's host was taken by other feeds' polls."""


Attempt = Unchanged | Parsed | Failed | HostBusy


@dataclass(frozen=True)
class Defaults:
    """The settings a feed's own (feeds.yaml) values fall back to."""

    min_interval: float
    max_interval: float
    broken_after: int


@dataclass(frozen=True)
class FeedDecision:
    state: FeedState  # the state after this attempt
    fields: tuple[str, ...]  # the fields of `state` to write; none: only move `due`
    due: datetime | None  # the next poll, exact (`next_poll_at` is in whole seconds); None: never
    outcome: PollOutcome


def is_unchanged(state: FeedState, response: Response) -> bool:
    """Nothing to parse: a 304, or (without validators) the same bytes as last time."""
    return response.not_modified or (
        response.body_hash is not None and response.body_hash == state.body_hash
    )


def policy_for(state: FeedState, defaults: Defaults) -> Policy:
    min_interval = state.min_interval or defaults.min_interval
    return Policy(
        min_interval=min_interval,
        max_interval=state.max_interval or defaults.max_interval,
        fixed_interval=state.interval,
        broken_after=defaults.broken_after,
        # A failing feed is never asked more often than a healthy one.
        error_base=min_interval,
    )


def failing_for_long(state: FeedState, now: datetime, *, after: timedelta = FAILING_AFTER) -> bool:
    """The feed's polls fail, and none has succeeded for `after` (nor since it was
    added): `feeds list` flags it."""
    if state.status not in ("error", "broken"):
        return False
    since = state.last_ok_at or state.added_at
    return since is None or now - since >= after


def polled_since(state: FeedState, claimed_at: datetime) -> bool:
    """The feed was polled after the dispatcher claimed it: this claim is a duplicate."""
    return state.last_polled_at is not None and state.last_polled_at >= claimed_at


def decide_feed(
    state: FeedState,
    attempt: Attempt,
    *,
    now: datetime,
    rng: random.Random,
    defaults: Defaults,
) -> FeedDecision:
    """The feed after `attempt`; see the module docstring for the table."""
    if isinstance(attempt, HostBusy):
        return _busy(state, now, rng)
    if isinstance(attempt, Failed):
        return _failed(state, attempt, now, rng, defaults)
    return _succeeded(state, attempt, now, rng, defaults)


def _busy(state: FeedState, now: datetime, rng: random.Random) -> FeedDecision:
    later = now + timedelta(seconds=rng.uniform(*BUSY_RETRY))
    host = urlsplit(state.url).hostname
    outcome = PollOutcome(state.id, state.url, "failed", error=f"{host} busy; retry later")
    return FeedDecision(state, (), later, outcome)


def _succeeded(
    state: FeedState,
    attempt: Unchanged | Parsed,
    now: datetime,
    rng: random.Random,
    defaults: Defaults,
) -> FeedDecision:
    response = attempt.response
    parsed = attempt if isinstance(attempt, Parsed) else None
    known = set(state.entry_times) | set(parsed.entry_times if parsed else ())
    times = sorted(known)[-RECENT_ENTRY_TIMES:]
    ttl = parsed.ttl if parsed else state.ttl
    max_age, expires_in = freshness_hints(response.headers, now)
    hints = Hints(max_age=max_age, expires_in=expires_in, ttl=ttl)
    when = next_after_success(now, times, hints, policy_for(state, defaults), rng)
    # A 304 may omit the validators: keep the ones it answered to.
    kept = response.not_modified
    update: dict[str, Any] = {
        "url": response.moved_to or state.url,
        "status": "ok",
        "last_status": response.status,
        "etag": response.etag or (state.etag if kept else None),
        "last_modified": response.last_modified or (state.last_modified if kept else None),
        "error_count": 0,
        "last_error": None,
        "last_polled_at": utc_instant(now),
        "last_ok_at": utc_instant(now),
        "next_poll_at": utc_instant(when),
        "body_hash": response.body_hash or state.body_hash,
        "entry_times": times,
        "entries_total": state.entries_total + (parsed.new if parsed else 0),
        "ttl": ttl,
    }
    if parsed and parsed.held_back:
        # A change held back must be seen again: forget this body and its validators,
        # so the next poll neither gets a 304 nor skips the same bytes.
        update.update(etag=None, last_modified=None, body_hash=None)
    if parsed is None:
        outcome = PollOutcome(state.id, state.url, "not_modified", response.status)
    else:
        outcome = PollOutcome(
            state.id, update["url"], "ok", response.status,
            parsed.new, parsed.updated, parsed.unchanged, held_back=parsed.held_back,
        )  # fmt: skip
    return FeedDecision(state.model_copy(update=update), POLL_FIELDS, when, outcome)


def _failed(
    state: FeedState, failed: Failed, now: datetime, rng: random.Random, defaults: Defaults
) -> FeedDecision:
    errors = state.error_count + 1
    policy = policy_for(state, defaults)
    update: dict[str, Any] = {
        "error_count": errors,
        "last_error": failed.error,
        "last_status": failed.http_status,
        "last_polled_at": utc_instant(now),
    }
    when: datetime | None
    if failed.gone:  # retired by its publisher: kept, but never polled again
        when = None
        update.update(status="disabled", next_poll_at=None)
    else:
        hints = Hints(retry_after=failed.retry_after)
        when = next_after_error(now, errors, hints, policy, rng)
        update.update(
            status="broken" if errors >= policy.broken_after else "error",
            next_poll_at=utc_instant(when),
        )
    outcome = PollOutcome(state.id, state.url, "failed", failed.http_status, error=failed.error)
    return FeedDecision(state.model_copy(update=update), tuple(update), when, outcome)
