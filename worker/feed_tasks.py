"""Celery glue for feed polling: the dispatcher beat ticks, the per-feed poll, the file sync.

Beat only ticks `dispatch_due`; it atomically claims the feeds that are due and
enqueues one `poll_feed` each, so a second scheduler running by mistake never
polls a feed twice. Long waits (backoff, Retry-After) live in the feed schedule
in Redis, never in broker countdowns, so they stay below the visibility timeout.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from typing import Any

import structlog
from celery import Task
from celery.signals import beat_init, worker_ready

from worker.celery_app import app
from worker.errors import NewsworkerError
from worker.inputs.fetch import FetchConfig, Fetcher
from worker.log import get_logger, step
from worker.polling.feeds_file import parse_feeds_yaml
from worker.polling.poll import Poller
from worker.settings import Settings, get_settings
from worker.store.hostslots import HostSlots
from worker.tasks import TRANSIENT, services, too_many_deliveries

log = get_logger("newsworker.feeds")

_pollers: dict[int, Poller] = {}


def fetch_config(settings: Settings) -> FetchConfig:
    defaults = FetchConfig()
    return FetchConfig(
        user_agent=settings.user_agent or defaults.user_agent,
        connect_timeout=settings.fetch_connect_timeout,
        total_timeout=settings.fetch_timeout,
        max_bytes=settings.max_feed_bytes,
        allow_private_networks=settings.allow_private_networks,
    )


def poller() -> Poller:
    """This process's poller (its HTTP client keeps connections alive between polls)."""
    pid = os.getpid()
    if pid not in _pollers:
        _pollers.clear()
        settings = get_settings()
        svc = services()
        slots = HostSlots(
            svc.client,
            prefix=settings.key_prefix,
            limit=settings.host_concurrency,
            lease_seconds=settings.fetch_timeout + 30,
        )
        fetcher = Fetcher(fetch_config(settings))
        _pollers[pid] = Poller(svc, fetcher, slots, settings, random.Random(), log)
    return _pollers[pid]


@app.task(name="newsworker.dispatch_due", autoretry_for=TRANSIENT, max_retries=2)
def dispatch_due() -> int:
    """Claim the feeds that are due and enqueue one poll each."""
    settings = get_settings()
    with step(log, "dispatch") as info:
        now = datetime.now(UTC)
        ids = services().feeds.claim_due(
            now, limit=settings.dispatch_batch, lease_seconds=settings.visibility_timeout + 60
        )
        # One connection for the whole batch; nobody waits on these results.
        with app.producer_or_acquire() as producer:
            for feed_id in ids:
                poll_feed.apply_async(
                    (feed_id,),
                    {"claimed_at": now.timestamp()},
                    producer=producer,
                    ignore_result=True,
                )
        info.update(feeds=len(ids), ids=ids[:20], idle=not ids)
    return len(ids)


@app.task(
    bind=True,
    name="newsworker.poll_feed",
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def poll_feed(self: Task, feed_id: str, claimed_at: float | None = None) -> dict[str, Any]:
    """Poll one feed now; the outcome of that one attempt.

    `claimed_at` (epoch) comes from the dispatcher: a feed polled since then is a
    duplicate claim and is skipped.
    """
    claimed = datetime.fromtimestamp(claimed_at, UTC) if claimed_at is not None else None
    with structlog.contextvars.bound_contextvars(task_id=self.request.id, feed=feed_id):
        deliveries = too_many_deliveries(self)
        if deliveries is not None:  # it killed or hung its worker every time
            reason = f"given up after {deliveries} deliveries: the worker died or hung on it"
            return poller().give_up(feed_id, reason, now=datetime.now(UTC)).to_dict()
        return poller().poll(feed_id, now=datetime.now(UTC), claimed_at=claimed).to_dict()


def sync_feeds_file(settings: Settings) -> dict[str, int] | None:
    """Bring the registry in line with the feeds file; a bad file is logged, not fatal."""
    path = settings.feeds_file
    if not path.exists():
        return None
    with step(log, "feeds_sync", file=str(path)) as info:
        try:
            entries = parse_feeds_yaml(path.read_text(encoding="utf-8"), name=str(path))
        except (NewsworkerError, OSError) as exc:
            info.update(outcome="failed", error=str(exc))
            return None
        counts = services().feeds.sync(entries, now=datetime.now(UTC))
        info.update(counts)
    return counts


@worker_ready.connect
def _sync_on_worker_start(**_: Any) -> None:
    sync_feeds_file(get_settings())


@beat_init.connect
def _sync_on_beat_start(**_: Any) -> None:
    sync_feeds_file(get_settings())


__all__ = ["dispatch_due", "poll_feed", "sync_feeds_file"]
