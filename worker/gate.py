"""Back-pressure from a store that refuses writes: the worker as a whole stops taking work.

A task that meets a refused write waits in its worker child (worker/runtime.py);
`StoreGate`, a step of the worker's consumer, also probes the store every few
seconds from the main process and, while writes are refused, stops fetching
messages from the task queue (the messages wait in the broker, where nothing is
lost), then resumes by itself once the store accepts writes again. Both report
through `REFUSALS`: one clear line a minute per process, saying why and what to do.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from celery import bootsteps

from worker.log import get_logger
from worker.settings import get_settings
from worker.store.connection import connect
from worker.store.keys import Keys
from worker.store.refusals import probe


class RefusalLog:
    """One clear log line a minute per process while the store refuses writes."""

    every = 60.0

    def __init__(self) -> None:
        self._since: float | None = None  # refusing since (monotonic), or None
        self._last = 0.0  # when a refusal was last logged
        self._told = False  # a refusal was logged since writes were last accepted

    def refused(self, reason: str) -> None:
        now = time.monotonic()
        self._since = self._since or now
        if now - self._last >= self.every:
            self._last, self._told = now, True
            get_logger("newsworker.store").error(
                "store_refuses_writes",
                reason=reason,
                action=_action(reason),
                refusing_for_s=round(now - self._since),
                meanwhile="no input is dropped: tasks wait and hand their messages back",
            )

    def accepted(self) -> None:
        """Writes are accepted again: said once, if the refusal was."""
        if self._since is None:
            return
        since, self._since = self._since, None
        if self._told:
            self._told = False
            get_logger("newsworker.store").warning(
                "store_accepts_writes", refused_for_s=round(time.monotonic() - since)
            )


_ACTIONS = {
    "OOM": "free memory in Redis or raise maxmemory (`newsworker status` shows what holds "
    "it); a shorter NEWSWORKER_RETENTION_DAYS keeps it down",
    "MISCONF": "Redis cannot save: fix its disk or its save error (see the redis-server "
    "log), then run BGSAVE",
    "READONLY": "this Redis is a replica now (a failover?): point NEWSWORKER_REDIS_URL at "
    "the primary",
    "BUSY": "a script is blocking Redis: wait for it or run SCRIPT KILL",
}


def _action(reason: str) -> str:
    return _ACTIONS.get(reason.split(" ", 1)[0], "make the Redis server accept writes again")


class Patience:
    """How long one task may still wait for writes, and its backoff so far (kept
    across the attempts of one task, so a store that lets the probe through but
    refuses the real write is not hammered)."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.delay = 0.5

    def next_delay(self) -> float | None:
        """The next wait, or None when it would end past the deadline."""
        delay, self.delay = self.delay, min(self.delay * 2, 10.0)
        return None if time.monotonic() + delay > self.deadline else delay


def wait_for_writes(client: redis.Redis, reason: str, patience: Patience) -> bool:
    """Probe the store with backoff until it accepts writes (True), or until the
    patience runs out (False). A store that cannot be reached meanwhile (restarted
    with more memory, say) is still waited for."""
    key = Keys(get_settings().key_prefix).probe
    while True:
        REFUSALS.refused(reason)
        delay = patience.next_delay()
        if delay is None:
            return False
        time.sleep(delay)
        try:
            found = probe(client, key)
        except redis.RedisError as exc:
            found = f"{type(exc).__name__}: {exc}"
        if found is None:
            REFUSALS.accepted()
            return True
        reason = found


REFUSALS = RefusalLog()


class StoreGate(bootsteps.StartStopStep):  # type: ignore[misc]
    """Stops the consumer fetching tasks while the store refuses writes; resumes after."""

    requires = ("celery.worker.consumer.tasks:Tasks",)
    interval = 2.0

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._timer: Any = None
        self._client: redis.Redis | None = None
        self._paused: list[str] = []

    def start(self, consumer: Any) -> None:
        self._timer = consumer.timer.call_repeatedly(self.interval, self.check, (consumer,))

    def stop(self, consumer: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def check(self, consumer: Any) -> None:
        settings = get_settings()
        try:
            if self._client is None:
                self._client = connect(settings.require_redis_url())
            reason = probe(self._client, Keys(settings.key_prefix).probe)
        except redis.RedisError:
            return  # unreachable is not refusing: the connection's own retries handle it
        if reason is not None:
            REFUSALS.refused(reason)
            if not self._paused:
                self._paused = [q.name for q in consumer.task_consumer.queues]
                for name in self._paused:
                    consumer.cancel_task_queue(name)
        elif self._paused:
            for name in self._paused:
                consumer.add_task_queue(name)
            self._paused = []
            REFUSALS.accepted()
