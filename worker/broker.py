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
from queue import Empty
from typing import Any

import redis
from celery.worker import state as worker_state
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

from worker.gate import REFUSALS
from worker.log import get_logger
from worker.store.refusals import refusal


def _until_accepted(write: Callable[[], None]) -> bool:
    """`write()`, retried with backoff for as long as Redis refuses writes; False when
    the worker is shutting down meanwhile (the write did not happen)."""
    delay, waited = 0.5, False
    while True:
        try:
            write()
            break
        except redis.RedisError as exc:
            reason = refusal(exc)
            if reason is None:
                raise
            if worker_state.should_stop is not None or worker_state.should_terminate is not None:
                return False
            REFUSALS.refused(reason)
            time.sleep(delay)
            delay, waited = min(delay * 2, 10.0), True
    if waited:
        REFUSALS.accepted()
    return True


class QoS(kombu_redis.QoS):
    def append(self, message: Any, delivery_tag: str) -> None:
        if not _until_accepted(lambda: super(QoS, self).append(message, delivery_tag)):
            # Only here, in this process's memory, and the worker is stopping: no
            # write can keep it. Said loudly, with what identifies it.
            get_logger("newsworker.broker").critical(
                "message_dropped_at_shutdown",
                task_id=message.headers.get("id") if message.headers else None,
                reason="the broker refused to record it as unacknowledged until shutdown",
            )
            raise RuntimeError("broker refused writes until shutdown")

    def ack(self, delivery_tag: str) -> None:
        # HDEL and ZREM are allowed at maxmemory, a MULTI around them is not: no
        # transaction (the hash entry goes first, so an acknowledged message is never
        # restored). At shutdown an unfinished ack leaves the message to be delivered
        # again, which every task is made to bear.
        def remove() -> None:
            with self.channel.conn_or_acquire() as client:
                pipe = client.pipeline(transaction=False)
                pipe.hdel(self.unacked_key, delivery_tag)
                pipe.zrem(self.unacked_index_key, delivery_tag)
                pipe.execute()

        _until_accepted(remove)
        virtual.QoS.ack(self, delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if not requeue:
            return self.ack(delivery_tag)
        # Back to the queue; at shutdown it stays unacknowledged and comes back later.
        _until_accepted(lambda: self.restore_by_tag(delivery_tag, leftmost=True))
        virtual.QoS.ack(self, delivery_tag)
        return None

    def restore_visible(self, *args: Any, **kwargs: Any) -> None:
        """The periodic scan that restores unacknowledged messages (it writes a lock):
        skipped while Redis refuses writes, tried again on its next turn."""
        try:
            super().restore_visible(*args, **kwargs)
        except redis.RedisError as exc:
            reason = refusal(exc)
            if reason is None:
                raise
            REFUSALS.refused(reason)


class Channel(kombu_redis.Channel):
    QoS = QoS

    def _brpop_read(self, **options: Any) -> Any:
        """A broker that refuses writes refuses BRPOP too (READONLY, MISCONF): wait,
        rather than stop the worker."""
        try:
            return super()._brpop_read(**options)
        except redis.ResponseError as exc:
            reason = refusal(exc)
            if reason is None:
                raise
            REFUSALS.refused(reason)
            time.sleep(1.0)
            raise Empty() from None


class Transport(kombu_redis.Transport):
    Channel = Channel
