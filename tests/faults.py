"""Parts of the fault suite alone: a TCP proxy that breaks the network on demand, and
the accounting of inputs. The processes and inputs it starts from are in support.py
and documents.py.

Every fault test pushes a known set of inputs, injects its fault, and then checks
that each input ended as exactly one stored record or one dead letter, with its
indexes and its `created` event. `SUMMARIES` collects one line per fault; the
suite prints them at the end (conftest.py) and docs/reliability.md keeps them.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import redis

SUMMARIES: list[str] = []


# --- network ----------------------------------------------------------------------------------

Mode = Literal["pass", "reset", "hang"]


class FaultyProxy:
    """A TCP proxy on loopback in front of `target` that fails on demand.

    `pass` forwards; `reset` accepts and closes at once (connection reset);
    `hang` accepts and never answers (the client's timeout must fire).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode: Mode = "pass"
        self.connections: Counter[str] = Counter()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            mode = self.mode
            self.connections[mode] += 1
            threading.Thread(target=self._handle, args=(client, mode), daemon=True).start()

    def _handle(self, client: socket.socket, mode: Mode) -> None:
        with client:
            if mode == "reset":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                return
            if mode == "hang":
                self._stop.wait(30)
                return
            with socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
                pumps = [
                    threading.Thread(target=_pump, args=(client, upstream), daemon=True),
                    threading.Thread(target=_pump, args=(upstream, client), daemon=True),
                ]
                for pump in pumps:
                    pump.start()
                for pump in pumps:
                    pump.join(timeout=30)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# --- accounting -------------------------------------------------------------------------------


@dataclass
class Account:
    fault: str
    inputs: int
    stored: int
    dead_lettered: int
    duplicates: int
    lost: int
    unindexed: int
    missing_events: int

    @property
    def whole(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.unindexed == 0
            and (self.missing_events == 0)
        )

    def line(self) -> str:
        return (
            f"{self.fault}: inputs={self.inputs} stored={self.stored} "
            f"dead-lettered={self.dead_lettered} duplicates={self.duplicates} lost={self.lost} "
            f"unindexed={self.unindexed} missing-events={self.missing_events}"
        )


def account(
    fault: str, client: redis.Redis, prefix: str, titles: set[str], bad: set[str]
) -> Account:
    """What became of each input, from Redis alone."""
    records = [json.loads(v) for v in _values(client, prefix)]
    by_title = Counter(r["title"] for r in records)
    failed = {json.loads(v)["input"] for v in client.hvals(f"{prefix}failed")}
    indexed_time = set(client.zrange(f"{prefix}idx:time", 0, -1))
    indexed_modified = set(client.zrange(f"{prefix}idx:modified", 0, -1))
    urls = client.hgetall(f"{prefix}idx:url")
    created = Counter(
        fields["id"]
        for _, fields in client.xrange(f"{prefix}events")
        if fields["type"] == "created"
    )
    unindexed = sum(
        1
        for r in records
        if r["id"] not in indexed_time
        or r["id"] not in indexed_modified
        or (r["url"] and urls.get(r["url"]) != r["id"])
    )
    missing_events = sum(1 for r in records if created[r["id"]] != 1)
    stored = sum(1 for t in titles if by_title[t] >= 1)
    dead = len(bad & failed)
    return Account(
        fault=fault,
        inputs=len(titles) + len(bad),
        stored=stored,
        dead_lettered=dead,
        duplicates=sum(n - 1 for n in by_title.values() if n > 1),
        lost=len(titles) - stored + len(bad) - dead,
        unindexed=unindexed,
        missing_events=missing_events,
    )


def redelivered(client: redis.Redis, prefix: str) -> int:
    """How many file tasks were delivered more than once (the task counts deliveries)."""
    keys = list(client.scan_iter(match=f"{prefix}deliveries:*", count=1000))
    return sum(1 for v in (client.mget(keys) if keys else []) if v and int(v) > 1)


def _values(client: redis.Redis, prefix: str) -> list[str]:
    keys = list(client.scan_iter(match=f"{prefix}article:*", count=1000))
    return [v for v in (client.mget(keys) if keys else []) if v is not None]


def wait_for(check: Callable[[], Account], timeout: float) -> Account:
    """Poll `check` until nothing is lost (or `timeout` passes); the last account."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result.lost == 0 or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def record(result: Account) -> Account:
    SUMMARIES.append(result.line())
    print(result.line())
    return result
