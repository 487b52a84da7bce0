"""What a worker process needs, built in one place: services, the poller, the task edge.

Tasks (worker/tasks.py) are thin glue over this module; the benchmark builds its
poller with the same functions. Prefork children must not share the parent's
sockets, so each process builds its own services and poller on first use.

The task edge is the same for files and feeds:

- every delivery is counted; a message delivered `MAX_DELIVERIES` times without
  finishing killed or hung its worker each time, and is given up;
- a task that reaches the soft time limit is given up too, at once;
- "given up" is an outcome, never a lost message: a file becomes a dead letter,
  a feed an error with backoff (worker/polling/decide.py);
- a write the store refuses (OOM, MISCONF, READONLY, BUSY: store/refusals.py)
  is not a failure: the task waits in its worker, asking the store with a tiny
  probe write, and carries on once writes are accepted; after `refusal_wait`
  seconds it hands its message back to the broker unacknowledged (Reject with
  requeue) rather than fail it. Neither the delivery counter nor a dead letter
  that cannot be written decides an input's fate. While every worker child
  waits, the worker takes no new work; the consumer also stops fetching
  (worker/gate.py);
- transient errors (Redis unreachable or busy) are retried with one policy,
  `RETRY`, whose delays stay well below the visibility timeout.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from worker.errors import StorageError
from worker.gate import Patience, wait_for_writes
from worker.inputs.fetch import FetchConfig, Fetcher
from worker.log import get_logger
from worker.polling.engine import FetchEngine
from worker.polling.poll import Poller
from worker.settings import Settings, get_settings
from worker.store.hostslots import HostSlots
from worker.store.keys import Keys
from worker.store.refusals import refusal
from worker.store.services import Services, open_services

T = TypeVar("T")

TRANSIENT = (StorageError, RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
# The one retry policy of the tasks that do the work (Celery task options).
RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}
# A message delivered this many times without finishing killed its worker each
# time (or hung past the time limit): it is set aside instead of looping forever.
MAX_DELIVERIES = 5

_services: dict[int, Services] = {}
_pollers: dict[int, Poller] = {}
_engines: dict[int, FetchEngine] = {}
# A poll worker's threads all ask for these on their first task at once: one builds
# them (a client's TLS context alone takes tens of ms), the others wait for it.
_building = threading.RLock()


def _after_fork() -> None:  # a forked child must not inherit a lock held mid-build
    global _building
    _building = threading.RLock()


os.register_at_fork(after_in_child=_after_fork)


def services() -> Services:
    """This process's services."""
    return _per_process(_services, lambda: open_services(get_settings()))


def poller() -> Poller:
    """This process's poller (its HTTP client keeps connections alive between polls)."""
    return _per_process(_pollers, lambda: build_poller(get_settings(), services()))


def fetch_engine() -> FetchEngine:
    """This process's fetch threads (worker/polling/batch.py), started on first use."""
    return _per_process(_engines, lambda: FetchEngine(poller(), get_settings().fetch_concurrency))


def _per_process(built: dict[int, T], build: Callable[[], T]) -> T:
    """One `build()` per process (a forked child builds its own), shared by its threads."""
    pid = os.getpid()
    found = built.get(pid)
    if found is not None:
        return found
    with _building:
        if pid not in built:
            built.clear()
            built[pid] = build()
        return built[pid]


def fetch_config(settings: Settings) -> FetchConfig:
    defaults = FetchConfig()
    return FetchConfig(
        user_agent=settings.user_agent or defaults.user_agent,
        connect_timeout=settings.fetch_connect_timeout,
        total_timeout=settings.fetch_timeout,
        max_bytes=settings.max_feed_bytes,
        allow_private_networks=settings.allow_private_networks,
        max_connections=settings.fetch_concurrency,
    )


def build_poller(
    settings: Settings,
    svc: Services,
    *,
    log: Any = None,
    rng: random.Random | None = None,
) -> Poller:
    """A poller on `svc`: its fetcher, the per-host slots and the settings' defaults."""
    slots = HostSlots(
        svc.client,
        prefix=settings.key_prefix,
        limit=settings.host_concurrency,
        lease_seconds=settings.fetch_timeout + 30,
    )
    return Poller(
        svc,
        Fetcher(fetch_config(settings)),
        slots,
        settings,
        rng or random.Random(),
        log or get_logger("newsworker.feeds"),
    )


def _delivery_key(task: Task) -> str:
    return Keys(get_settings().key_prefix).deliveries(task.request.id, task.request.retries)


def count_delivery(task: Task) -> int | None:
    """Count this delivery; the count when it is past the limit, else None.

    A store that refuses the count's write leaves the delivery uncounted: the
    counter never decides the fate of an input.
    """
    settings = get_settings()
    # Redeliveries come one visibility timeout apart: the count is needed only that long
    # for each of them, not for a day per task.
    keep = MAX_DELIVERIES * (settings.visibility_timeout + settings.task_time_limit + 60)
    pipe = services().client.pipeline(transaction=True)
    pipe.incr(_delivery_key(task))
    pipe.expire(_delivery_key(task), keep)
    try:
        count = int(pipe.execute()[0])
    except redis.RedisError as exc:
        if refusal(exc) is None:
            raise
        return None
    return count if count > MAX_DELIVERIES else None


def at_task_edge(task: Task, work: Callable[[], T], give_up: Callable[[str, str], T]) -> T:
    """Run `work`, or `give_up(reason, error_type)` when this message cannot finish.

    The same for every task: past `MAX_DELIVERIES`, or at the soft time limit
    (wherever it strikes, the delivery count included). While the store refuses
    writes, wait for it (see the module docstring); giving up writes too (a dead
    letter, a feed's error) and waits the same way.
    """
    soft_limit = float(task.app.conf.task_soft_time_limit or 60)
    patience = Patience(min(get_settings().refusal_wait, max(soft_limit - 10, 1.0)))
    try:
        deliveries = count_delivery(task)
        if deliveries is not None:
            reason = f"given up after {deliveries} deliveries: the worker died or hung on it"
            return _until_accepted(task, lambda: give_up(reason, "TooManyDeliveries"), patience)
        return _until_accepted(task, work, patience)
    except SoftTimeLimitExceeded as exc:
        limit = task.app.conf.task_soft_time_limit
        get_logger("newsworker.tasks").warning("time_limit", seconds=limit)
        reason, error_type = f"stopped at the {limit} s time limit", type(exc).__name__
        # The hard limit is 5 s away: no waiting for the store now.
        return _until_accepted(task, lambda: give_up(reason, error_type), Patience(0.0))


def _until_accepted(task: Task, work: Callable[[], T], patience: Patience) -> T:
    """`work()`, run again once the store accepts writes when it refused one; past
    `patience`, the message goes back to the broker unacknowledged."""
    while True:
        try:
            return work()
        except Exception as exc:
            reason = refusal(exc)
            if reason is None:
                raise
        if not wait_for_writes(services().client, reason, patience):
            _forget_delivery(task)  # this delivery is no sign the message harms its worker
            raise Reject(f"store refuses writes ({reason}); message handed back", requeue=True)


def _forget_delivery(task: Task) -> None:
    with contextlib.suppress(redis.RedisError):  # DEL frees memory: allowed at maxmemory
        services().client.delete(_delivery_key(task))
