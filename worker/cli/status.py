"""What `newsworker status` reports: queues, workers, feed health, counts, memory."""

from __future__ import annotations

from typing import Any

import redis

from worker.redact import redact_url
from worker.settings import Settings
from worker.store.connection import check_connection, connect
from worker.store.feeds import FeedRegistry
from worker.store.keys import Keys
from worker.store.memory import memory_holders
from worker.store.services import Services

# From this share of maxmemory on, `status` warns: at 100 % Redis refuses writes.
MEMORY_WARNING = 0.8


def collect_status(
    settings: Settings, svc: Services, *, ping_timeout: float = 1.0
) -> dict[str, Any]:
    client, keys = svc.client, Keys(settings.key_prefix)
    broker_url = settings.effective_broker_url()
    broker = connect(broker_url)
    check_connection(broker, broker_url)
    names = (settings.queue, settings.effective_poll_queue)
    queues = {name: int(broker.llen(keys.queue(name))) for name in names}
    same = broker_url == settings.redis_url
    memory = _memory(client, keys, broker if same else None, names)
    return {
        "articles": svc.store.count(),
        "feeds": _feed_counts(svc.feeds),
        "queues": queues,
        "workers": workers_answering(ping_timeout) or [],
        "failed": svc.failures.count(),
        "memory": memory,
        "warnings": _warnings(memory),
        "redis": redact_url(settings.require_redis_url()),
        "broker": redact_url(broker_url),
    }


def workers_answering(timeout: float = 1.0, limit: int | None = None) -> list[str] | None:
    """The workers that answer a ping (the first `limit` of them); None when the ping
    cannot be sent (the broker refuses writes, or is gone)."""
    from worker.celery_app import app

    try:
        replies = app.control.ping(timeout=timeout, limit=limit) or []
    except Exception:
        return None
    return sorted(name for reply in replies for name in reply)


def _memory(
    client: redis.Redis, keys: Keys, broker: redis.Redis | None, names: tuple[str, ...]
) -> dict[str, Any]:
    info = client.info("memory")
    used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
    return {
        "used_bytes": used,
        "used_human": info.get("used_memory_human"),
        "maxmemory_bytes": limit,
        "used_percent": round(100 * used / limit, 1) if limit else None,
        "policy": info.get("maxmemory_policy"),
        "holders": memory_holders(client, keys, broker=broker, queues=names),
    }


def _warnings(memory: dict[str, Any]) -> list[str]:
    limit, used = memory["maxmemory_bytes"], memory["used_bytes"]
    if not limit or used < MEMORY_WARNING * limit:
        return []
    holders = sorted(memory["holders"].items(), key=lambda kv: kv[1], reverse=True)
    top = ", ".join(f"{name} {_human(size)}" for name, size in holders if size)
    return [
        f"Redis memory at {memory['used_percent']} % of maxmemory ({_human(used)} of "
        f"{_human(limit)}): at 100 % it refuses writes and the workers wait. Held by: {top}. "
        "Raise maxmemory, shorten NEWSWORKER_RETENTION_DAYS or NEWSWORKER_STREAM_MAXLEN, "
        "or clear dead letters."
    ]


def _human(size: int) -> str:
    value, unit = float(size), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"


def _feed_counts(feeds: FeedRegistry) -> dict[str, int]:
    counts = {"total": 0, "ok": 0, "error": 0, "broken": 0, "disabled": 0}
    for status in feeds.statuses():
        counts["total"] += 1
        counts[status] = counts.get(status, 0) + 1
    return counts
