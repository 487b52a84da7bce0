"""What `newsworker status` reports: queues, workers, feed health, counts, memory."""

from __future__ import annotations

from typing import Any

from worker.failures import FailureLog
from worker.redis_client import connect, redact
from worker.settings import Settings
from worker.store import ArticleStore


def collect_status(settings: Settings, *, ping_timeout: float = 1.0) -> dict[str, Any]:
    from worker.celery_app import app

    client = connect(settings.require_redis_url())
    store = ArticleStore(client, prefix=settings.key_prefix)
    failures = FailureLog(client, prefix=settings.key_prefix)
    broker = connect(settings.effective_broker_url())
    # kombu prefixes the queue list with the global key prefix.
    queue_length = int(broker.llen(f"{settings.key_prefix}{settings.queue}"))
    replies = app.control.ping(timeout=ping_timeout) or []
    workers = sorted(name for reply in replies for name in reply)
    memory = client.info("memory")
    return {
        "articles": store.count(),
        "feeds": _feed_counts(client, settings.key_prefix),
        "queues": {settings.queue: queue_length},
        "workers": workers,
        "failed": failures.count(),
        "memory": {
            "used_bytes": int(memory.get("used_memory", 0)),
            "used_human": memory.get("used_memory_human"),
            "maxmemory_bytes": int(memory.get("maxmemory", 0)),
        },
        "redis": redact(settings.require_redis_url()),
    }


def _feed_counts(client: Any, prefix: str) -> dict[str, int]:
    # The feed registry (one hash per feed, `feed:{id}`, listed in `feeds`) arrives
    # with scheduled polling; until a feed is registered every count is zero.
    counts = {"total": 0, "ok": 0, "error": 0, "broken": 0, "disabled": 0}
    for feed_id in client.smembers(f"{prefix}feeds"):
        state = client.hget(f"{prefix}feed:{feed_id}", "status") or "ok"
        counts["total"] += 1
        if state in counts:
            counts[state] += 1
    return counts
