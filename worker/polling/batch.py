"""A batch of polls: the task's side of the fetch engine (worker/polling/engine.py).

One message (`poll_feeds`, worker/tasks.py) carries a batch of feed ids, grouped
by host by the dispatcher (worker/polling/dispatch.py). The task's thread loads
every state in one round trip, hands each feed to the process's fetch engine,
and, as fetches end, parses, stores and decides in its own thread
(worker/polling/poll.py), writing the states of the fetches that ended together,
and giving back the request slots of the lanes that ended with them, in one
pipeline. Parsing thus never holds a fetch thread.

The batch stops waiting a little after its time limit (the task's soft time
limit: the threads pool has none of its own); a feed still unanswered then is an
error on that feed, and the engine fetches nothing more for the batch.
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import redis
import structlog

from worker.inputs.fetch import FetchResult
from worker.log import step
from worker.model import FeedState, PollOutcome
from worker.polling.decide import Failed, FeedDecision
from worker.polling.engine import Batch, FetchEngine, Job, LaneFailed, Reply, Slot
from worker.polling.poll import Poller

# Seconds a batch waits past its time limit for fetches already cut (their answers
# are on the way) before it gives up on them.
GRACE = 5.0


def poll_batch(
    poller: Poller,
    engine: FetchEngine,
    feed_ids: Sequence[str],
    *,
    claimed_at: datetime | None,
    time_limit: float,
    on_demand: bool = False,
) -> list[PollOutcome]:
    """Poll these feeds at once; one outcome per id, in order (logged as `batch`).

    `on_demand` (`newsworker poll`): changed entries are applied at once, the
    revision policy being for the schedule.

    A Redis failure in a lane is raised once every fetch has been answered and
    the others' states are saved: the task retries, and a claimed batch then
    skips the feeds polled meanwhile.
    """
    with step(poller.log, "batch", feeds=len(feed_ids)) as info:
        states, settled = poller.load(feed_ids, claimed_at=claimed_at)
        outcomes = {o.feed: o for o in settled}
        batch = Batch(
            deadline=time.monotonic() + time_limit,
            time_limit=time_limit,
            context=structlog.contextvars.get_contextvars(),
        )
        for state in states:
            engine.submit(Job(state, batch))
        try:
            failure = _collect(poller, batch, states, outcomes, on_demand=on_demand)
        finally:
            unread = batch.abandon()  # nothing more is fetched for this batch
            with contextlib.suppress(redis.RedisError):  # else their leases run out
                _give_back(poller, [r.slot for r in unread if r.slot is not None])
        info["outcomes"] = dict(Counter(o.outcome for o in outcomes.values()))
        if failure is not None:
            raise failure
    return [outcomes[feed_id] for feed_id in feed_ids]


def _collect(
    poller: Poller,
    batch: Batch,
    states: list[FeedState],
    outcomes: dict[str, PollOutcome],
    *,
    on_demand: bool,
) -> redis.RedisError | None:
    """Conclude each feed as its fetch is answered; the first lane failure, if any."""
    waiting = {state.id: state for state in states}
    failure: redis.RedisError | None = None
    while waiting:
        try:
            ended = [batch.replies.get(timeout=max(batch.deadline + GRACE - time.monotonic(), 0))]
        except queue.Empty:
            _cut(poller, batch, list(waiting.values()), outcomes)
            break
        with contextlib.suppress(queue.Empty):
            while True:
                ended.append(batch.replies.get_nowait())
        slots = [r.slot for r in ended if r.slot is not None]
        if any(_to_parse(r) for r in ended):
            _give_back(poller, slots)  # parsing takes a while: the host need not wait
        decisions: list[FeedDecision] = []
        for reply in ended:
            waiting.pop(reply.state.id, None)
            if isinstance(reply.fetched, LaneFailed):
                failure = failure or reply.fetched.error
                continue
            now = datetime.now(UTC)
            state = reply.state
            with structlog.contextvars.bound_contextvars(feed=state.id, url=state.url):
                attempt = poller.attempt(state, reply.fetched, now, on_demand=on_demand)
                decisions.append(poller.decide(state, attempt, now))
        poller.save(decisions, release=slots, fetched={r.state.id: r.fetched for r in ended})
        outcomes.update((d.state.id, d.outcome) for d in decisions)
    return failure


def _cut(
    poller: Poller, batch: Batch, states: list[FeedState], outcomes: dict[str, PollOutcome]
) -> None:
    """The feeds whose fetch never answered by the time limit: an error each."""
    poller.log.warning("time_limit", seconds=batch.time_limit, feeds=len(states))
    now = datetime.now(UTC)
    failed = Failed(f"stopped at the {batch.time_limit:g} s time limit")
    decisions = [poller.decide(state, failed, now) for state in states]
    poller.save(decisions)
    outcomes.update((d.state.id, d.outcome) for d in decisions)


def _to_parse(reply: Reply) -> bool:
    return isinstance(reply.fetched, FetchResult) and reply.fetched.body is not None


def _give_back(poller: Poller, slots: list[Slot]) -> None:
    if slots:
        pipe = poller.svc.client.pipeline(transaction=False)
        for host, token in slots:
            poller.slots.release(host, token, pipe=pipe)
        pipe.execute()
        slots.clear()
