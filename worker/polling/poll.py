"""One poll of one feed: load, fetch, parse, normalise, store, decide, save.

This module only sequences the I/O and logs one event per step (`fetch`, `parse`,
`normalise`, `store`, `schedule`); every decision is a pure function of
worker/polling/decide.py. Errors become outcomes on the feed, never exceptions to
the caller, except Redis failures, which are transient.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis
import structlog

from worker.errors import BadInput, FetchError, Gone, HTTPStatusError, is_time_limit
from worker.inputs.fetch import Fetcher, FetchResult
from worker.log import step
from worker.model import Article, FeedState, PollOutcome
from worker.normalise.article import normalise
from worker.normalise.dates import format_utc
from worker.polling.decide import (
    Attempt,
    Defaults,
    Failed,
    FeedDecision,
    HostBusy,
    Parsed,
    Response,
    Unchanged,
    decide_feed,
    is_unchanged,
    polled_since,
)
from worker.polling.history import attempt_record
from worker.polling.revisions import RevisionPolicy
from worker.readers import PolledFeed, read_feed
from worker.settings import Settings
from worker.store.feeds import FeedRegistry
from worker.store.hostslots import HostSlots
from worker.store.services import Services

Fetched = FetchResult | FetchError | Failed | None
"""What a fetch gave: a response, a fetch error, a failure decided around it (the
time limit), or None when the host had no request slot free."""

REVISIONS = RevisionPolicy()


@dataclass
class Poller:
    """Everything one poll needs; built once per worker process (worker/runtime.py)."""

    svc: Services
    fetcher: Fetcher
    slots: HostSlots
    settings: Settings
    rng: random.Random
    log: Any

    @property
    def defaults(self) -> Defaults:
        s = self.settings
        return Defaults(s.feed_min_interval, s.feed_max_interval, s.feed_broken_after)

    def poll(
        self,
        feed_id: str,
        *,
        now: datetime,
        claimed_at: datetime | None = None,
        on_demand: bool = False,
    ) -> PollOutcome:
        """Poll one feed. `claimed_at`: when the dispatcher claimed it.

        A claimed poll of a feed polled since its claim is a duplicate (a backlog
        outlived the claim's lease and the feed was claimed again): skipped. An
        `on_demand` poll (`newsworker poll`) applies changed entries at once.
        """
        states, settled = self.load([feed_id], claimed_at=claimed_at)
        if settled:
            return settled[0]
        state = states[0]
        with structlog.contextvars.bound_contextvars(feed=feed_id, url=state.url):
            return self.conclude(state, self._fetch(state), now, on_demand=on_demand)

    def load(
        self, feed_ids: Sequence[str], *, claimed_at: datetime | None
    ) -> tuple[list[FeedState], list[PollOutcome]]:
        """The states of the feeds to poll, and the outcomes of those settled already:
        removed, disabled, or (for a claimed poll) polled since the claim. One round trip.
        """
        found = self.svc.feeds.get_many(feed_ids)
        states, settled = [], []
        for feed_id in feed_ids:
            state = found.get(feed_id)
            if state is None:
                settled.append(self._missing(feed_id))
            elif state.status == "disabled":
                settled.append(PollOutcome(feed_id, state.url, "failed", error="feed is disabled"))
            elif claimed_at is not None and polled_since(state, claimed_at):
                settled.append(PollOutcome(feed_id, state.url, "skipped", state.last_status))
            else:
                states.append(state)
        return states, settled

    def give_up(self, feed_id: str, reason: str, *, now: datetime) -> PollOutcome:
        """Count a poll that never finished (it hit the time limit, or killed its worker)."""
        state = self.svc.feeds.get(feed_id)
        if state is None:
            return self._missing(feed_id)
        return self._apply(state, Failed(reason), now)

    def conclude(
        self, state: FeedState, fetched: Fetched, now: datetime, *, on_demand: bool = False
    ) -> PollOutcome:
        """Parse and store what the fetch brought, decide, and save the feed's state."""
        attempt = self.attempt(state, fetched, now, on_demand=on_demand)
        decision = self.decide(state, attempt, now)
        self.save([decision], fetched={state.id: fetched})
        return decision.outcome

    def _missing(self, feed_id: str) -> PollOutcome:
        # Removed since it was claimed: make sure it is not claimed again.
        self.svc.feeds.unschedule(feed_id)
        return PollOutcome(feed_id, "", "failed", error=f"no feed with id {feed_id}")

    def attempt(
        self, state: FeedState, fetched: Fetched, now: datetime, *, on_demand: bool = False
    ) -> Attempt:
        """What the fetch made of this poll; a new body is parsed and its entries stored.

        `on_demand` (`newsworker poll`): changed entries are applied at once; the
        revision policy is for the schedule (worker/polling/revisions.py).
        """
        if isinstance(fetched, Failed):
            return fetched
        if isinstance(fetched, FetchError):
            return _fetch_failure(fetched)
        if fetched is None:
            return HostBusy()
        result = fetched
        response = _response(result)
        if is_unchanged(state, response):
            return Unchanged(response)
        try:
            feed = self._parse(state, result)
            articles = self._normalise(state, feed, now)
        except BadInput as exc:
            return Failed(str(exc), http_status=result.status)
        except Exception as exc:  # a parser bug is an error on this feed, not a lost poll
            if is_time_limit(exc):
                raise
            self.log.exception("parse_crashed", feed=state.id)
            return Failed(f"internal error in parsing: {exc!r}", http_status=result.status)
        return self._store(state, response, feed, articles, now, on_demand=on_demand)

    def _fetch(self, state: FeedState) -> Fetched:
        """The response, holding one of the host's request slots only while fetching.

        None when no slot came free in time: the host is busy with other feeds.
        """
        host = urlsplit(state.url).hostname or ""
        with self.slots.hold(host, wait=self.settings.host_slot_wait) as held:
            if not held:
                return None
            return self.fetch(state)

    def fetch(self, state: FeedState, *, deadline: float | None = None) -> FetchResult | FetchError:
        """One fetch of the feed (its host's slot already held), logged as the `fetch` step.

        `deadline`: a `time.monotonic()` instant the fetch must not outlive.
        """
        try:
            with step(self.log, "fetch", feed=state.id, url=state.url) as info:
                result = self.fetcher.fetch(
                    state.url, etag=state.etag, last_modified=state.last_modified,
                    deadline=deadline,
                )  # fmt: skip
                info.update(http_status=result.status, bytes=result.bytes_read)
                if result.permanent_url:
                    info["moved_to"] = result.permanent_url
        except FetchError as exc:
            return exc
        return result

    def _parse(self, state: FeedState, result: FetchResult) -> PolledFeed:
        with step(self.log, "parse", feed=state.id, bytes=result.bytes_read) as info:
            feed = read_feed(
                result.body or b"",
                url=state.url,
                headers=result.headers,
                scope=state.scope,
                base=result.url,
            )
            info["entries"] = len(feed.drafts)
            if feed.warning:  # recovered: the entries are kept
                info.update(warning=f"malformed feed: {feed.warning}")
        return feed

    def _normalise(self, state: FeedState, feed: PolledFeed, now: datetime) -> list[Article]:
        drafts = feed.drafts
        articles: list[Article] = []
        with step(self.log, "normalise", feed=state.id, entries=len(drafts)) as info:
            for draft in drafts:
                try:
                    articles.append(normalise(draft, now=now))
                except BadInput as exc:  # one bad entry never costs the others
                    self.log.warning("entry_skipped", feed=state.id, error=str(exc))
            info.update(records=len(articles), skipped=len(drafts) - len(articles))
        return articles

    def _store(
        self,
        state: FeedState,
        response: Response,
        feed: PolledFeed,
        articles: list[Article],
        now: datetime,
        *,
        on_demand: bool = False,
    ) -> Parsed:
        with step(self.log, "store", feed=state.id, records=len(articles)) as info:
            revisions = None if on_demand else REVISIONS
            stored = self.svc.store.upsert_many(articles, now=now, revisions=revisions)
            counts = {k: sum(1 for d in stored if d.change == k) for k in _COUNTED}
            info.update(
                new=counts["created"],
                updated=counts["updated"],
                unchanged=counts["unchanged"],
                held_back=counts["held_back"],
            )
        return Parsed(
            response,
            entry_times=[a.published_at for a in articles if a.published_at],
            ttl=feed.ttl,
            new=counts["created"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            held_back=counts["held_back"],
        )

    def decide(self, state: FeedState, attempt: Attempt, now: datetime) -> FeedDecision:
        return decide_feed(state, attempt, now=now, rng=self.rng, defaults=self.defaults)

    def _apply(self, state: FeedState, attempt: Attempt, now: datetime) -> PollOutcome:
        """Decide what the attempt makes of the feed, and save that."""
        decision = self.decide(state, attempt, now)
        self.save([decision])
        return decision.outcome

    def save(
        self,
        decisions: Sequence[FeedDecision],
        *,
        release: Sequence[tuple[str, str]] = (),
        fetched: Mapping[str, object] | None = None,
    ) -> None:
        """Write every decision in one round trip; each logged as its feed's `schedule` step
        (a host-busy attempt only moves the due time: no step). `release`: request
        slots (host, token) given back in the same round trip. Each attempt also goes
        into its feed's fetch history, with what `fetched` says of its fetch."""
        if not decisions and not release:
            return
        started = time.perf_counter()

        def write() -> None:
            pipe = self.svc.client.pipeline(transaction=False)
            for host, token in release:
                self.slots.release(host, token, pipe=pipe)
            for decision in decisions:
                _queue_save(self.svc.feeds, decision, pipe)
                if decision.fields:
                    when = decision.state.last_polled_at or datetime.now(UTC)
                    got = (fetched or {}).get(decision.state.id)
                    record = attempt_record(got, decision.outcome, when)
                    self.svc.feeds.note_attempt(decision.state.id, record, pipe=pipe)
            pipe.execute()

        try:
            try:
                write()
            except redis.exceptions.NoScriptError:  # every write is idempotent: again
                self.svc.feeds.load_scripts()
                write()
        except Exception as exc:
            for decision in decisions:
                if decision.fields:
                    self.log.warning(
                        "schedule", feed=decision.state.id, outcome="failed", error=str(exc),
                        error_type=type(exc).__name__,
                    )  # fmt: skip
            raise
        # The round trip is shared: each feed's step gets its share of it.
        ms = round((time.perf_counter() - started) * 1000 / max(len(decisions), 1), 2)
        for decision in decisions:
            if not decision.fields:
                continue
            new = decision.state
            info: dict[str, Any] = {
                "status": new.status,
                "next_poll_at": format_utc(new.next_poll_at) if new.next_poll_at else None,
            }
            if new.error_count:
                info["error_count"] = new.error_count
            self.log.info(
                "schedule", feed=new.id, url=new.url, outcome="ok", duration_ms=ms, **info
            )


_COUNTED = ("created", "updated", "unchanged", "held_back")


def _queue_save(feeds: FeedRegistry, decision: FeedDecision, pipe: Any) -> None:
    state = decision.state
    if not decision.fields:  # only a new due time; a feed unscheduled meanwhile stays so
        assert decision.due is not None
        feeds.schedule(state.id, decision.due, pipe=pipe)
    elif decision.due is None:  # disabled: kept, never polled again
        feeds.save(state, fields=decision.fields, pipe=pipe)
        feeds.unschedule(state.id, pipe=pipe)
    else:
        feeds.save(state, due=decision.due, fields=decision.fields, pipe=pipe)


def _response(result: FetchResult) -> Response:
    return Response(
        status=result.status,
        headers=result.headers,
        etag=result.etag,
        last_modified=result.last_modified,
        moved_to=result.permanent_url,
        body_hash=None if result.body is None else hashlib.sha256(result.body).hexdigest(),
    )


def _fetch_failure(exc: FetchError) -> Failed:
    if isinstance(exc, HTTPStatusError):
        return Failed(
            str(exc),
            http_status=exc.status,
            retry_after=exc.retry_after,
            gone=isinstance(exc, Gone),
        )
    return Failed(str(exc))
