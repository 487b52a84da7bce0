"""What `newsworker status` reports: queues, workers, feed health, counts, memory."""

from __future__ import annotations

from typing import Any

from worker.redact import redact_url
from worker.settings import Settings
from worker.store.connection import check_connection, connect
from worker.store.feeds import FeedRegistry
from worker.store.keys import Keys
from worker.store.services import Services


def collect_status(
    settings: Settings, svc: Services, *, ping_timeout: float = 1.0
) -> dict[str, Any]:
    from worker.celery_app import app

    client = svc.client
    broker_url = settings.effective_broker_url()
    broker = connect(broker_url)
    check_connection(broker, broker_url)
    queue_length = int(broker.llen(Keys(settings.key_prefix).queue(settings.queue)))
    replies = app.control.ping(timeout=ping_timeout) or []
    workers = sorted(name for reply in replies for name in reply)
    memory = client.info("memory")
    return {
        "articles": svc.store.count(),
        "feeds": _feed_counts(svc.feeds),
        "queues": {settings.queue: queue_length},
        "workers": workers,
        "failed": svc.failures.count(),
        "memory": {
            "used_bytes": int(memory.get("used_memory", 0)),
            "used_human": memory.get("used_memory_human"),
            "maxmemory_bytes": int(memory.get("maxmemory", 0)),
        },
        "redis": redact_url(settings.require_redis_url()),
        "broker": redact_url(broker_url),
    }


def _feed_counts(feeds: FeedRegistry) -> dict[str, int]:
    counts = {"total": 0, "ok": 0, "error": 0, "broken": 0, "disabled": 0}
    for status in feeds.statuses():
        counts["total"] += 1
        counts[status] = counts.get(status, 0) + 1
    return counts
