"""The Redis-backed services built from settings: one place that wires them."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from worker.settings import Settings
from worker.store.articles import ArticleStore
from worker.store.connection import connect
from worker.store.failures import FailureLog
from worker.store.feeds import FeedRegistry


@dataclass(frozen=True)
class Services:
    client: redis.Redis
    store: ArticleStore
    failures: FailureLog
    feeds: FeedRegistry


def open_services(settings: Settings, url: str | None = None) -> Services:
    """Store, dead letters and feed registry on one connection pool."""
    return services_on(connect(url or settings.require_redis_url()), settings)


def services_on(client: redis.Redis, settings: Settings) -> Services:
    """Store, dead letters and feed registry on an open client."""
    prefix = settings.key_prefix
    return Services(
        client=client,
        store=ArticleStore(client, prefix=prefix, stream_maxlen=settings.stream_maxlen),
        failures=FailureLog(client, prefix=prefix, maxlen=settings.failed_maxlen),
        feeds=FeedRegistry(client, prefix=prefix),
    )
