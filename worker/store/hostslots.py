"""Per-host politeness: at most N requests in flight to one host, across all workers.

A semaphore in Redis: a sorted set per host whose members are leases (token ->
expiry). Expired leases are dropped on every acquire, so a worker that dies while
holding one frees it when its lease runs out.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from worker.store.keys import Keys

# KEYS: host key. ARGV: limit, token, lease seconds. Redis's own clock, so workers
# on machines whose clocks disagree still agree on when a lease ran out.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[2])
  redis.call('EXPIRE', KEYS[1], math.ceil(lease))
  return 1
end
return 0
"""


class HostSlots:
    def __init__(self, client: redis.Redis, *, prefix: str, limit: int, lease_seconds: float):
        self.client = client
        self.keys = Keys(prefix)
        self.limit = limit
        self.lease_seconds = lease_seconds
        self._acquire = client.register_script(_ACQUIRE)

    def key(self, host: str) -> str:
        return self.keys.host_slots(host)

    def try_acquire(self, host: str, token: str) -> bool:
        args: list[str | float] = [self.limit, token, self.lease_seconds]
        return bool(self._acquire(keys=[self.key(host)], args=args))

    def release(self, host: str, token: str) -> None:
        self.client.zrem(self.key(host), token)

    @contextmanager
    def hold(self, host: str, *, wait: float) -> Iterator[bool]:
        """Yield True with a slot held (released after), or False if none came in `wait` s."""
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        delay = 0.05
        while not self.try_acquire(host, token):
            if time.monotonic() >= deadline:
                yield False
                return
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        try:
            yield True
        finally:
            self.release(host, token)
