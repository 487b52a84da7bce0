"""Dead letters: inputs that failed for good, kept in Redis so they can be listed and retried.

failed          hash   failure id -> JSON of a Failure (input, reason, attempts, time...)
failed:time     zset   failure id -> epoch, trimmed to the newest `maxlen`
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import cast

import redis

from worker.normalise.dates import to_rfc3339_utc
from worker.store.keys import Keys


@dataclass(frozen=True)
class Failure:
    id: str
    input: str
    reason: str
    error_type: str
    attempts: int
    task_id: str | None
    failed_at: str


def failure_id_for(input: str) -> str:
    """One dead letter per input: its id derives from the input's name."""
    return hashlib.sha256(input.encode("utf-8")).hexdigest()[:16]


class FailureLog:
    def __init__(self, client: redis.Redis, *, prefix: str = "nw:", maxlen: int = 10_000):
        self.client = client
        keys = Keys(prefix)
        self.hash_key = keys.failed
        self.time_key = keys.failed_by_time
        self.maxlen = maxlen

    def record(
        self,
        *,
        input: str,
        reason: str,
        error_type: str,
        now: datetime,
        attempts: int = 1,
        task_id: str | None = None,
    ) -> Failure:
        """Record (or refresh) the failure of one input; the same input keeps one entry."""
        failure_id = failure_id_for(input)
        stamp = to_rfc3339_utc(now) or ""
        failure = Failure(failure_id, input, reason, error_type, attempts, task_id, stamp)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.hash_key, failure_id, json.dumps(asdict(failure), ensure_ascii=False))
        pipe.zadd(self.time_key, {failure_id: now.timestamp()})
        pipe.execute()
        self._trim()
        return failure

    def _trim(self) -> None:
        excess = int(self.client.zcard(self.time_key)) - self.maxlen
        if excess <= 0:
            return
        old = cast(list[str], self.client.zrange(self.time_key, 0, excess - 1))
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.hash_key, *old)
        pipe.zrem(self.time_key, *old)
        pipe.execute()

    def list(self, limit: int = 100) -> list[Failure]:
        ids = cast(list[str], self.client.zrevrange(self.time_key, 0, max(0, limit - 1)))
        if not ids:
            return []
        values = cast(list[str | None], self.client.hmget(self.hash_key, ids))
        return [Failure(**json.loads(v)) for v in values if v]

    def get(self, failure_id: str) -> Failure | None:
        value = self.client.hget(self.hash_key, failure_id)
        return Failure(**json.loads(value)) if isinstance(value, str) else None

    def resolve(self, input: str) -> None:
        """The input has now been stored: its dead letter, if any, is obsolete."""
        self.remove(failure_id_for(input))

    def remove(self, failure_id: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.hash_key, failure_id)
        pipe.zrem(self.time_key, failure_id)
        pipe.execute()

    def count(self) -> int:
        return int(self.client.zcard(self.time_key))
