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

# KEYS: host key. ARGV: token, lease seconds. Pushes a held lease's expiry on; 0 when
# the lease had already run out (and was dropped by someone's acquire).
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local lease = tonumber(ARGV[2])
local updated = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(lease))
return updated
"""


class HostSlots:
    def __init__(self, client: redis.Redis, *, prefix: str, limit: int, lease_seconds: float):
        self.client = client
        self.keys = Keys(prefix)
        self.limit = limit
        self.lease_seconds = lease_seconds
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)

    def key(self, host: str) -> str:
        return self.keys.host_slots(host)

    def try_acquire(self, host: str, token: str) -> bool:
        args: list[str | float] = [self.limit, token, self.lease_seconds]
        return bool(self._acquire(keys=[self.key(host)], args=args))

    def acquire(self, host: str, token: str, *, until: float) -> bool:
        """Take a slot, waiting (with backoff) until the monotonic instant `until` at most."""
        delay = 0.05
        while not self.try_acquire(host, token):
            remaining = until - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.25)  # a slot frees up in about one answer's time
        return True

    def renew(self, host: str, token: str) -> bool:
        """Push a held lease's expiry `lease_seconds` on; False if it had run out."""
        args: list[str | float] = [token, self.lease_seconds]
        return bool(self._renew(keys=[self.key(host)], args=args))

    def release(self, host: str, token: str, *, pipe: redis.client.Pipeline | None = None) -> None:
        (pipe or self.client).zrem(self.key(host), token)

    @contextmanager
    def hold(self, host: str, *, wait: float) -> Iterator[bool]:
        """Yield True with a slot held (released after), or False if none came in `wait` s."""
        token = uuid.uuid4().hex
        if not self.acquire(host, token, until=time.monotonic() + wait):
            yield False
            return
        try:
            yield True
        finally:
            self.release(host, token)
