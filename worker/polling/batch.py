"""Polls in batches, with many fetches in flight per process.

One message (`poll_feeds`, worker/tasks.py) carries a batch of feed ids, grouped by
host by the dispatcher. The task's thread loads every state in one round trip,
hands each feed to the process's `FetchEngine`, and, as fetches end, parses,
stores and decides in its own thread (worker/polling/poll.py), writing the feed
states of the fetches that ended together in one pipeline.

The engine keeps one queue per host and at most `host_concurrency` lanes per
host on a pool of fetch threads. A lane takes one of the host's request slots in
Redis (shared by every process, so the per-host cap holds across processes and
machines), fetches that host's queued feeds one after another, and gives the slot
back when the queue is empty. A fetch thread only ever waits on the network or
on a slot; parsing runs in the batch threads, so it never holds a fetch.

A feed still queued when its batch's slot wait runs out is put off (HostBusy: due
again in seconds), so a hung host holds only its own lanes; a fetch still
running at the batch's time limit is cut there and counted as an error.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import redis
import structlog

from worker.errors import FetchError, FetchTimeout
from worker.inputs.fetch import FetchResult
from worker.model import FeedState, PollOutcome
from worker.polling.decide import Failed, FeedDecision
from worker.polling.poll import Fetched, Poller


@dataclass(frozen=True)
class _LaneFailed:
    """Redis failed a lane (taking, renewing or giving back a slot): the batch raises it."""

    error: BaseException


@dataclass(frozen=True)
class Reply:
    """A fetch that ended. `slot`: (host, token) of a request slot whose lane ended
    with this fetch; the batch gives it back in the pipeline that saves the state."""

    state: FeedState
    fetched: Fetched | _LaneFailed
    slot: tuple[str, str] | None = None


@dataclass(frozen=True)
class Job:
    """One feed to fetch, and where its batch waits for the result."""

    state: FeedState
    reply: queue.SimpleQueue[Reply]
    slot_until: float  # monotonic: not started by then, the feed is put off (host busy)
    deadline: float  # monotonic: the batch's time limit; a fetch is cut there
    time_limit: float  # seconds, for the error a cut fetch gets
    context: dict[str, object] = field(default_factory=dict)  # the batch's log context

    def answer(self, fetched: Fetched | _LaneFailed, slot: tuple[str, str] | None = None) -> None:
        self.reply.put(Reply(self.state, fetched, slot))


@dataclass
class _Host:
    name: str
    waiting: deque[Job] = field(default_factory=deque)
    lanes: int = 0
    silent: bool = False  # a fetch timed out: the feeds still queued are put off


class FetchEngine:
    """The fetch threads of one process and the per-host queues that feed them."""

    def __init__(self, poller: Poller, threads: int) -> None:
        self.poller = poller
        self.slots = poller.slots
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fetch")
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        name = urlsplit(job.state.url).hostname or ""
        with self._lock:
            host = self._hosts.setdefault(name, _Host(name))
            host.waiting.append(job)
            if host.lanes < self.slots.limit:
                host.lanes += 1
                self._pool.submit(self._lane, host)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _take(self, host: _Host) -> Job | None:
        """The host's next job to fetch; None ends the lane (nothing left).

        Jobs whose slot wait or time limit ran out while queued are answered here:
        put off, the host being busy with other feeds. So are all the queued jobs
        of a host that let a fetch time out: it is likely to hang for the next too,
        and each of them would hold a lane until its timeout.
        """
        with self._lock:
            now = time.monotonic()
            while host.waiting:
                job = host.waiting.popleft()
                if now < min(job.slot_until, job.deadline) and not host.silent:
                    return job
                job.answer(None)
            host.lanes -= 1
            if not host.lanes:
                del self._hosts[host.name]
            return None

    def _lane(self, host: _Host) -> None:
        """Fetch the host's queued feeds one after another, holding one request slot.

        The slot goes back with the lane's last fetch (`Reply.slot`): the batch
        gives it back in the round trip that saves that feed's state.
        """
        token, held, renewed = uuid.uuid4().hex, False, 0.0
        job = self._take(host)
        try:
            while job is not None:
                try:
                    if not held:
                        held = self.slots.acquire(host.name, token, until=job.slot_until)
                        renewed = time.monotonic()
                    elif time.monotonic() - renewed > self.slots.lease_seconds / 2:
                        held = self.slots.renew(host.name, token) or self.slots.try_acquire(
                            host.name, token
                        )
                        renewed = time.monotonic()
                except redis.RedisError as exc:
                    job.answer(_LaneFailed(exc))
                    job = self._take(host)
                    continue
                fetched = self._fetch(job) if held else None
                host.silent = host.silent or isinstance(fetched, FetchTimeout | Failed)
                done, job = job, self._take(host)
                if job is None and held:  # the lane ends: the slot goes with this answer
                    done.answer(fetched, slot=(host.name, token))
                    held = False
                else:
                    done.answer(fetched)
        finally:
            if held:
                with contextlib.suppress(redis.RedisError):  # the lease runs out by itself
                    self.slots.release(host.name, token)

    def _fetch(self, job: Job) -> Fetched:
        state = job.state
        bound = structlog.contextvars.bound_contextvars
        with bound(**job.context), bound(feed=state.id, url=state.url):
            fetched = self.poller.fetch(state, deadline=job.deadline)
            if isinstance(fetched, FetchError) and time.monotonic() >= job.deadline:
                self.poller.log.warning("time_limit", seconds=job.time_limit)
                return Failed(f"stopped at the {job.time_limit:g} s time limit")
        return fetched


def poll_batch(
    poller: Poller,
    engine: FetchEngine,
    feed_ids: Sequence[str],
    *,
    claimed_at: datetime | None,
    time_limit: float,
) -> list[PollOutcome]:
    """Poll these feeds at once; one outcome per id, in order.

    A Redis failure in a lane is raised once every fetch has ended and the
    others' states are saved: the task retries, and a claimed batch then skips
    the feeds polled meanwhile.
    """
    states, settled = poller.load(feed_ids, claimed_at=claimed_at)
    outcomes = {o.feed: o for o in settled}
    started = time.monotonic()
    reply: queue.SimpleQueue[Reply] = queue.SimpleQueue()
    for state in states:
        engine.submit(
            Job(
                state,
                reply,
                slot_until=started + poller.settings.host_slot_wait,
                deadline=started + time_limit,
                time_limit=time_limit,
                context=structlog.contextvars.get_contextvars(),
            )
        )
    failure: BaseException | None = None
    pending = len(states)
    slots: list[tuple[str, str]] = []  # to give back with the next save
    try:
        while pending:
            ended = [reply.get()]
            with contextlib.suppress(queue.Empty):
                while True:
                    ended.append(reply.get_nowait())
            pending -= len(ended)
            slots += [r.slot for r in ended if r.slot is not None]
            if any(_to_parse(r.fetched) for r in ended):
                # Parsing takes a while: the host should not wait for it.
                _give_back(poller, slots)
            decisions: list[FeedDecision] = []
            for r in ended:
                if isinstance(r.fetched, _LaneFailed):
                    failure = failure or r.fetched.error
                    continue
                now = datetime.now(UTC)
                with structlog.contextvars.bound_contextvars(feed=r.state.id, url=r.state.url):
                    attempt = poller.attempt(r.state, r.fetched, now)
                    decisions.append(poller.decide(r.state, attempt, now))
            poller.save(decisions, release=slots)
            slots = []
            outcomes.update((d.state.id, d.outcome) for d in decisions)
    finally:
        with contextlib.suppress(redis.RedisError):  # else their leases run out
            _give_back(poller, slots)
    if failure is not None:
        raise failure
    return [outcomes[feed_id] for feed_id in feed_ids]


def _to_parse(fetched: object) -> bool:
    return isinstance(fetched, FetchResult) and fetched.body is not None


def _give_back(poller: Poller, slots: list[tuple[str, str]]) -> None:
    if slots:
        pipe = poller.svc.client.pipeline(transaction=False)
        for host, token in slots:
            poller.slots.release(host, token, pipe=pipe)
        pipe.execute()
        slots.clear()


def batches_by_host(urls: dict[str, str], size: int) -> list[list[str]]:
    """Feed ids in batches of about `size`, each host's feeds in one batch.

    A host's feeds are never split across batches (unless it has more than
    `size` of them): one process then holds the host's request slots and runs its
    feeds through them back to back, instead of processes taking turns at the
    slots. A batch waits for its slowest fetch: a hung host holds up only the
    batches of its own feeds. Hosts come in the order given (due time).
    """
    by_host: dict[str, list[str]] = {}
    for feed_id, url in urls.items():
        by_host.setdefault(urlsplit(url).hostname or "", []).append(feed_id)
    batches: list[list[str]] = []
    current: list[str] = []
    for ids in by_host.values():
        if current and len(current) + len(ids) > size:
            batches.append(current)
            current = []
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            if len(chunk) == size:
                batches.append(chunk)
            else:
                current += chunk
    return [*batches, current] if current else batches
