"""What the in-process poll tests share: adding a feed, and the records a poll stored.
The `poller` fixture (a Poller on the throwaway Redis) is in conftest.py."""

from __future__ import annotations

import json

import redis

from tests.documents import POLL_NOW as NOW
from worker.polling.poll import Poller


def add(poller: Poller, url: str) -> str:
    state, _ = poller.svc.feeds.add(url, now=NOW)
    return state.id


def records(client: redis.Redis, prefix: str) -> list[dict]:
    keys = sorted(client.scan_iter(match=f"{prefix}article:*"))
    return [json.loads(client.get(k)) for k in keys]
