"""kombu's Redis transport, made safe to consume from while Redis refuses writes.

kombu takes a message off the queue (BRPOP, which Redis allows at maxmemory)
and only then records it as unacknowledged (HSET, which Redis refuses at
maxmemory); it acknowledges and rejects in MULTI transactions, which Redis
refuses whole at maxmemory. When one of these is refused, kombu raises, Celery
stops the worker, and a message taken off the queue is lost. Here each of them
is retried until Redis accepts writes again: the consumer waits (the worker
takes no new work meanwhile, as it should) and no message is dropped.

kombu resolves `redis://` and `rediss://` broker URLs to this transport (worker/celery_app.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

from worker.gate import REFUSALS
from worker.store.refusals import refusal


def _until_accepted(write: Callable[[], None]) -> None:
    """`write()`, retried with backoff for as long as Redis refuses writes."""
    delay, waited = 0.5, False
    while True:
        try:
            write()
            break
        except redis.RedisError as exc:
            reason = refusal(exc)
            if reason is None:
                raise
            REFUSALS.refused(reason)
            time.sleep(delay)
            delay, waited = min(delay * 2, 10.0), True
    if waited:
        REFUSALS.accepted()


class QoS(kombu_redis.QoS):
    def append(self, message: Any, delivery_tag: str) -> None:
        _until_accepted(lambda: super(QoS, self).append(message, delivery_tag))

    def ack(self, delivery_tag: str) -> None:
        _until_accepted(lambda: super(QoS, self).ack(delivery_tag))

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        _until_accepted(lambda: super(QoS, self).reject(delivery_tag, requeue=requeue))


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
