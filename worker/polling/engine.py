"""The fetch engine of a poll worker: per-host lanes on a pool of fetch threads.

One engine per process (worker/runtime.py). Batches (worker/polling/batch.py)
submit jobs; the engine keeps one queue per host and runs at most
`host_concurrency` lanes per host. A lane takes one of the host's request slots
in Redis (worker/store/hostslots.py: shared by every process, so the per-host
cap holds across processes and machines), fetches the host's queued feeds one
after another, renewing the slot's lease before a fetch could outlive it, and
hands the slot to the batch with its last answer (given back in the round trip
that saves that feed's state). Every job is answered exactly once, unless its
batch has stopped waiting, and then nothing is fetched for it any more.

What is put off (answered "host busy": due again in seconds, worker/polling/decide.py):
- every feed still queued for a host when no lane of it could take a slot within
  `host_slot_wait` seconds (the host is busy with other processes' polls);
- the feeds queued for a host whose fetch just timed out: it is likely to hang
  for the next one too, and each would hold a lane until its timeout;
- a feed still queued at its batch's time limit.

A fetch still running at the batch's time limit is cut there: an error on its
feed. A lane failing in Redis answers its job with the error (the batch raises
it, and the task retries); any other exception is that one feed's error.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
import structlog

from worker.errors import FetchTimeout
from worker.model import FeedState
from worker.polling.decide import Failed
from worker.polling.poll import Fetched, Poller
from worker.store.hostslots import HostSlots

Slot = tuple[str, str]
"""A request slot held in Redis: (host, lease token)."""


@dataclass(frozen=True)
class LaneFailed:
    """Redis failed a lane (taking or renewing a slot): the batch raises the error."""

    error: redis.RedisError


@dataclass(frozen=True)
class Reply:
    """A job answered. `slot`: a request slot whose lane ended with this fetch; the
    batch gives it back in the pipeline that saves this feed's state."""

    state: FeedState
    fetched: Fetched | LaneFailed
    slot: Slot | None = None


class Batch:
    """Where one batch waits for its jobs' replies, until it stops waiting."""

    def __init__(self, *, deadline: float, time_limit: float, context: dict[str, Any]) -> None:
        self.deadline = deadline  # time.monotonic(): fetches are cut there
        self.time_limit = time_limit  # seconds, for the error a cut fetch gets
        self.context = context  # the batch's log context, for the fetch events
        self.replies: queue.SimpleQueue[Reply] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._abandoned = False

    @property
    def abandoned(self) -> bool:
        return self._abandoned

    def answer(self, reply: Reply) -> bool:
        """Hand a reply over; False once the batch stopped waiting (the caller keeps
        any slot the reply carried)."""
        with self._lock:
            if self._abandoned:
                return False
            self.replies.put(reply)
            return True

    def abandon(self) -> list[Reply]:
        """Stop waiting: later replies are refused. The replies that came unread."""
        with self._lock:
            self._abandoned = True
            unread = []
            with contextlib.suppress(queue.Empty):
                while True:
                    unread.append(self.replies.get_nowait())
            return unread


@dataclass(frozen=True)
class Job:
    state: FeedState
    batch: Batch


@dataclass
class _Host:
    name: str
    waiting: deque[Job] = field(default_factory=deque)
    lanes: int = 0  # lanes started and not ended
    holding: int = 0  # lanes holding a slot
    silent: bool = False  # a fetch timed out: the feeds still queued are put off


class _Lease:
    """One lane's request slot: taken, renewed before a fetch could outlive it, given up."""

    def __init__(self, slots: HostSlots, host: str, fetch_timeout: float) -> None:
        self.slots, self.host = slots, host
        self.token = uuid.uuid4().hex
        self.held = False
        self._since = 0.0
        # Renewed when less than a whole fetch (and a margin) is left of the lease.
        self._renew_after = max(slots.lease_seconds - fetch_timeout - 10, 0.0)

    def take(self, until: float) -> bool:
        since = time.monotonic()  # before the call: the lease starts in Redis meanwhile
        self.held = self.slots.acquire(self.host, self.token, until=until)
        self._since = since
        return self.held

    def keep(self) -> bool:
        """Renew the lease when a fetch could outlive it; False if it was lost."""
        if time.monotonic() - self._since < self._renew_after:
            return True
        since = time.monotonic()
        self.held = self.slots.renew(self.host, self.token) or self.slots.try_acquire(
            self.host, self.token
        )
        self._since = since
        return self.held

    def hand_over(self) -> Slot:
        self.held = False
        return (self.host, self.token)

    def release(self) -> None:
        if self.held:
            self.held = False
            with contextlib.suppress(redis.RedisError):  # else the lease runs out by itself
                self.slots.release(self.host, self.token)


class FetchEngine:
    """The fetch threads of one process and the per-host queues that feed them."""

    def __init__(self, poller: Poller, threads: int) -> None:
        self.poller = poller
        self.slots = poller.slots
        self.slot_wait = poller.settings.host_slot_wait
        self.fetch_timeout = poller.settings.fetch_timeout
        self.log = poller.log
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fetch")
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        name = urlsplit(job.state.url).hostname or ""
        with self._lock:
            host = self._hosts.setdefault(name, _Host(name))
            host.waiting.append(job)
            if host.lanes < self.slots.limit:
                self._pool.submit(self._lane, host)
                host.lanes += 1

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _take(self, host: _Host) -> Job | None:
        """The host's next job to fetch; None ends the lane (nothing left for it)."""
        with self._lock:
            now = time.monotonic()
            while host.waiting:
                job = host.waiting.popleft()
                if job.batch.abandoned:
                    continue
                if now < job.batch.deadline and not host.silent:
                    return job
                job.batch.answer(Reply(job.state, None))
            self._end(host)
            return None

    def _end(self, host: _Host) -> None:
        """One lane of `host` ends (the engine's lock held)."""
        host.lanes -= 1
        if not host.lanes and self._hosts.get(host.name) is host:
            del self._hosts[host.name]

    def _no_slot(self, host: _Host) -> None:
        """A lane found no slot free in time: it ends; with no lane of the host holding
        one, every feed queued for the host is put off."""
        with self._lock:
            if not host.holding:
                while host.waiting:
                    job = host.waiting.popleft()
                    job.batch.answer(Reply(job.state, None))
            self._end(host)

    def _lane(self, host: _Host) -> None:
        lease = _Lease(self.slots, host.name, self.fetch_timeout)
        job = self._take(host)
        try:
            while job is not None:
                fetched: Fetched | LaneFailed | _NoSlot
                try:
                    fetched = self._run(host, job, lease)
                except redis.RedisError as exc:
                    fetched = LaneFailed(exc)
                except Exception as exc:  # a bug costs this feed's poll, never the lane
                    self.log.exception("fetch_crashed", feed=job.state.id)
                    fetched = Failed(f"internal error in fetching: {exc!r}")
                if isinstance(fetched, _NoSlot):
                    job.batch.answer(Reply(job.state, None))
                    self._no_slot(host)
                    return
                after = self._take(host)
                if after is None and lease.held:  # the lane has ended: the slot goes along
                    with self._lock:
                        host.holding -= 1
                    slot = lease.hand_over()
                    if not job.batch.answer(Reply(job.state, fetched, slot)):
                        lease.held = True  # nobody will give it back: the lane does
                else:
                    job.batch.answer(Reply(job.state, fetched))
                job = after
        finally:
            lease.release()

    def _run(self, host: _Host, job: Job, lease: _Lease) -> Fetched | _NoSlot:
        if not lease.held:
            until = min(time.monotonic() + self.slot_wait, job.batch.deadline)
            if not lease.take(until):
                return _NO_SLOT
            with self._lock:
                host.holding += 1
        elif not lease.keep():
            with self._lock:
                host.holding -= 1
            return _NO_SLOT
        fetched = self._fetch(job)
        if isinstance(fetched, FetchTimeout | Failed):
            with self._lock:
                host.silent = True
        return fetched

    def _fetch(self, job: Job) -> Fetched:
        state, batch = job.state, job.batch
        bound = structlog.contextvars.bound_contextvars
        with bound(**batch.context), bound(feed=state.id, url=state.url):
            fetched = self.poller.fetch(state, deadline=batch.deadline)
            if isinstance(fetched, FetchTimeout) and time.monotonic() >= batch.deadline:
                self.log.warning("time_limit", seconds=batch.time_limit)
                return Failed(f"stopped at the {batch.time_limit:g} s time limit")
        return fetched


class _NoSlot:
    """No request slot came free in time (or the lane's lease was lost)."""


_NO_SLOT = _NoSlot()
