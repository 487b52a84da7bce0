"""Which keys hold the store's memory: records, indexes, stream, dead letters, broker.

Redis counts memory per server, not per kind of key; `MEMORY USAGE` answers per
key. Records are many, so their total is their count times the mean size of a
random sample; every other kind is a handful of keys, measured one by one
(`MEMORY USAGE ... SAMPLES 5` estimates a large hash or sorted set from a sample
of its elements). Figures are estimates in bytes, cheap enough for `status`.
"""

from __future__ import annotations

from typing import cast

import redis

from worker.store.keys import Keys

RECORD_SAMPLE = 20


def memory_holders(
    client: redis.Redis, keys: Keys, *, broker: redis.Redis | None, queues: tuple[str, ...]
) -> dict[str, int]:
    """Estimated bytes per kind of key. `broker`: the broker's server when it is this one."""
    records = int(client.zcard(keys.by_time))
    sample = cast(list[str], client.zrandmember(keys.by_time, RECORD_SAMPLE) or [])
    sizes = [_usage(client, keys.article(i)) for i in sample]
    mean = sum(sizes) / len(sizes) if sizes else 0
    indexes = [keys.by_time, keys.by_modified, keys.by_url, keys.by_hash]
    indexes += list(client.scan_iter(match=keys.source_index("*", "*"), count=500))
    holders = {
        "records": int(records * mean),
        "indexes": sum(_usage(client, key) for key in indexes),
        "stream": _usage(client, keys.events),
        "dead_letters": _usage(client, keys.failed) + _usage(client, keys.failed_by_time),
        "feeds": sum(_usage(client, k) for k in (keys.feed_ids, keys.feeds_due, keys.feeds_by_url))
        + _usage(client, keys.feed("*"), many=True),
    }
    if broker is not None:
        queued = [keys.queue(q) for q in (*queues, "unacked", "unacked_index")]
        holders["broker"] = sum(_usage(broker, key) for key in queued)
    return holders


def _usage(client: redis.Redis, key: str, *, many: bool = False) -> int:
    if many:  # a pattern: every key it matches
        return sum(_usage(client, k) for k in client.scan_iter(match=key, count=500))
    return int(client.memory_usage(key, samples=5) or 0)
