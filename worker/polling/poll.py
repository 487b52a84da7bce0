"""One poll of one feed: fetch -> parse -> normalise -> store -> schedule, one log event each.

The feed's state decides the request (ETag, Last-Modified) and records the outcome
(status, error count, validators, next poll time). Errors are outcomes on the feed,
never exceptions to the caller, except Redis failures, which are transient.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import structlog
from celery.exceptions import SoftTimeLimitExceeded

from worker.errors import BadInput, FetchError, Gone, HTTPStatusError, NewsworkerError
from worker.inputs.fetch import Fetcher, FetchResult, freshness_hints
from worker.log import step
from worker.model import Article
from worker.normalise.article import normalise
from worker.normalise.dates import format_utc, parse_date
from worker.polling.revisions import RevisionPolicy
from worker.polling.schedule import Hints, Policy, next_after_error, next_after_success
from worker.readers import PolledFeed, read_feed
from worker.settings import Settings
from worker.store.feeds import RECENT_ENTRY_TIMES, FeedState
from worker.store.hostslots import HostSlots
from worker.store.services import Services

# "skipped" only comes from dispatcher duplicates, never from an on-demand poll.
PollResult = Literal["ok", "not_modified", "failed", "skipped"]
REVISIONS = RevisionPolicy()


@dataclass(frozen=True)
class PollOutcome:
    feed: str
    url: str
    outcome: PollResult
    http_status: int | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Poller:
    """Everything one poll needs; built once per worker process."""

    svc: Services
    fetcher: Fetcher
    slots: HostSlots
    settings: Settings
    rng: random.Random
    log: Any

    def policy(self, state: FeedState) -> Policy:
        min_interval = state.min_interval or self.settings.feed_min_interval
        return Policy(
            min_interval=min_interval,
            max_interval=state.max_interval or self.settings.feed_max_interval,
            fixed_interval=state.interval,
            broken_after=self.settings.feed_broken_after,
            # A failing feed is never asked more often than a healthy one.
            error_base=min_interval,
        )

    def poll(
        self, feed_id: str, *, now: datetime, claimed_at: datetime | None = None
    ) -> PollOutcome:
        """Poll one feed. `claimed_at`: when the dispatcher claimed it (None: on demand).

        A claimed poll of a feed polled since its claim is a duplicate (a backlog
        outlived the claim's lease and the feed was claimed again): skipped.
        """
        state = self.svc.feeds.get(feed_id)
        if state is None:  # removed since it was claimed: make sure it is not claimed again
            self.svc.feeds.unschedule(feed_id)
            return PollOutcome(feed_id, "", "failed", error=f"no feed with id {feed_id}")
        if state.status == "disabled":
            return PollOutcome(feed_id, state.url, "failed", error="feed is disabled")
        if claimed_at is not None and _polled_since(state, claimed_at):
            return PollOutcome(feed_id, state.url, "skipped", state.last_status)
        with structlog.contextvars.bound_contextvars(feed=feed_id, url=state.url):
            return self._poll(state, now)

    def _poll(self, state: FeedState, now: datetime) -> PollOutcome:
        feed_id = state.id
        try:
            result = self._fetch(state, now)
        except FetchError as exc:
            return self._failed(state, exc, now)
        if result is None:  # the host is busy with other feeds: come back shortly
            later = now + timedelta(seconds=self.rng.uniform(5, 15))
            self.svc.feeds.schedule(feed_id, later)
            host = urlsplit(state.url).hostname
            return PollOutcome(feed_id, state.url, "failed", error=f"{host} busy; retry later")
        return self._process(state, result, now)

    def give_up(self, feed_id: str, reason: str, *, now: datetime) -> PollOutcome:
        """Count a poll that never finished (it killed its worker) as an error on the feed."""
        state = self.svc.feeds.get(feed_id)
        if state is None:
            self.svc.feeds.unschedule(feed_id)
            return PollOutcome(feed_id, "", "failed", error=f"no feed with id {feed_id}")
        return self._failed(state, NewsworkerError(reason), now)

    def _fetch(self, state: FeedState, now: datetime) -> FetchResult | None:
        """The response, holding one of the host's request slots only while fetching."""
        host = urlsplit(state.url).hostname or ""
        with self.slots.hold(host, wait=self.settings.host_slot_wait) as held:
            if not held:
                return None
            with step(self.log, "fetch", feed=state.id, url=state.url) as info:
                result = self.fetcher.fetch(
                    state.url, etag=state.etag, last_modified=state.last_modified
                )
                info.update(http_status=result.status, bytes=result.bytes_read)
                if result.permanent_url:
                    info["moved_to"] = result.permanent_url
            return result

    def _process(self, state: FeedState, result: FetchResult, now: datetime) -> PollOutcome:
        if result.not_modified or self._same_body(state, result):
            # Nothing to parse: the document's ttl is the one it had last time.
            self._succeeded(state, result, now, _hints(result, now, state.ttl))
            return PollOutcome(state.id, state.url, "not_modified", result.status)
        try:
            feed = self._parse(state, result)
            articles = self._normalise(state, feed, now)
        except BadInput as exc:
            return self._failed(state, exc, now, http_status=result.status)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # a parser bug is an error on this feed, not a lost poll
            self.log.exception("parse_crashed", feed=state.id)
            error = BadInput(f"internal error in parsing: {exc!r}")
            return self._failed(state, error, now, http_status=result.status)
        with step(self.log, "store", feed=state.id, records=len(articles)) as info:
            stored = self.svc.store.upsert_many(articles, now=now, revisions=REVISIONS)
            counts = {
                k: sum(1 for r in stored if r.outcome == k)
                for k in ("created", "updated", "unchanged")
            }
            info.update(
                new=counts["created"],
                updated=counts["updated"],
                unchanged=counts["unchanged"],
                deferred=sum(1 for r in stored if r.deferred),
            )
            deferred = any(r.deferred for r in stored)
        times = [a.published_at for a in articles if a.published_at]
        state = state.model_copy(
            update={"entries_total": state.entries_total + counts["created"], "ttl": feed.ttl}
        )
        hints = _hints(result, now, feed.ttl)
        # A change held back must be seen again: forget this body and its validators,
        # so the next poll neither gets a 304 nor skips the same bytes.
        self._succeeded(state, result, now, hints, new_times=times, forget_body=deferred)
        return PollOutcome(
            state.id, result.permanent_url or state.url, "ok", result.status,
            counts["created"], counts["updated"], counts["unchanged"],
        )  # fmt: skip

    def _same_body(self, state: FeedState, result: FetchResult) -> bool:
        # Without validators, an identical body is the only sign nothing changed.
        return result.body is not None and _body_hash(result.body) == state.body_hash

    def _parse(self, state: FeedState, result: FetchResult) -> PolledFeed:
        with step(self.log, "parse", feed=state.id, bytes=result.bytes_read) as info:
            feed = read_feed(
                result.body or b"", url=state.url, headers=result.headers, scope=state.scope
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

    def _succeeded(
        self, state: FeedState, result: FetchResult, now: datetime, hints: Hints,
        new_times: Sequence[str] = (), forget_body: bool = False,
    ) -> None:  # fmt: skip
        times = sorted(set(state.entry_times) | set(new_times))[-RECENT_ENTRY_TIMES:]
        parsed = [t for t in (parse_date(x) for x in times) if t is not None]
        with step(self.log, "schedule", feed=state.id) as info:
            when = next_after_success(now, parsed, hints, self.policy(state), self.rng)
            updated = state.model_copy(
                update={
                    "url": result.permanent_url or state.url,
                    "status": "ok",
                    "last_status": result.status,
                    # A 304 may omit the validators: keep the ones it answered to.
                    "etag": result.etag or (state.etag if result.not_modified else None),
                    "last_modified": result.last_modified
                    or (state.last_modified if result.not_modified else None),
                    "error_count": 0,
                    "last_error": None,
                    "last_polled_at": format_utc(now),
                    "next_poll_at": format_utc(when),
                    "body_hash": _body_hash(result.body)
                    if result.body is not None
                    else state.body_hash,
                    "entry_times": times,
                    "ttl": state.ttl,
                }
            )
            if forget_body:
                updated = updated.model_copy(
                    update={"etag": None, "last_modified": None, "body_hash": None}
                )
            self.svc.feeds.save(updated, due=when, fields=_POLL_FIELDS)
            info.update(next_poll_at=updated.next_poll_at, status="ok")

    def _failed(
        self, state: FeedState, exc: Exception, now: datetime, http_status: int | None = None
    ) -> PollOutcome:
        status = exc.status if isinstance(exc, HTTPStatusError) else http_status
        retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
        errors = state.error_count + 1
        policy = self.policy(state)
        with step(self.log, "schedule", feed=state.id) as info:
            update: dict[str, Any] = {
                "error_count": errors,
                "last_error": str(exc),
                "last_status": status,
                "last_polled_at": format_utc(now),
            }
            if isinstance(exc, Gone):  # retired by its publisher: kept, but never polled again
                update.update(status="disabled", next_poll_at=None)
                if self.svc.feeds.save(state.model_copy(update=update), fields=update):
                    self.svc.feeds.unschedule(state.id)
            else:
                when = next_after_error(
                    now, errors, Hints(retry_after=retry_after), policy, self.rng
                )
                update.update(
                    status="broken" if errors >= policy.broken_after else "error",
                    next_poll_at=format_utc(when),
                )
                self.svc.feeds.save(state.model_copy(update=update), due=when, fields=update)
            info.update(
                status=update["status"], error_count=errors, next_poll_at=update["next_poll_at"]
            )
        return PollOutcome(state.id, state.url, "failed", status, error=str(exc))


# What a poll writes back: the feed's health and validators, never its settings
# (a feeds.yaml sync or `feeds remove` may run meanwhile).
_POLL_FIELDS = (
    "url", "status", "last_status", "etag", "last_modified", "error_count", "last_error",
    "last_polled_at", "next_poll_at", "body_hash", "entry_times", "entries_total", "ttl",
)  # fmt: skip


def _polled_since(state: FeedState, claimed_at: datetime) -> bool:
    polled = parse_date(state.last_polled_at) if state.last_polled_at else None
    return polled is not None and polled >= claimed_at


def _hints(result: FetchResult, now: datetime, ttl: float | None) -> Hints:
    max_age, expires_in = freshness_hints(result.headers, now)
    return Hints(max_age=max_age, expires_in=expires_in, ttl=ttl)


def _body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
