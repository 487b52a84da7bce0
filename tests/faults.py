"""Parts of the fault suite alone: a TCP proxy that breaks the network on demand, its
inputs and their accounting. The processes it starts are in support.py.

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
from pathlib import Path
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


# --- inputs and accounting ----------------------------------------------------------------------


def write_articles(folder: Path, count: int, *, bad: int = 0) -> tuple[set[str], set[str]]:
    """`count` good article files and `bad` unparseable ones: (titles, bad paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    titles = set()
    for n in range(count):
        title = f"Fault article {n}"
        body = " ".join(f"Sentence {k} of article {n} about the harbour." for k in range(20))
        (folder / f"a{n:04d}.txt").write_text(
            f"{title}\n\nURL: https://files.example/a/{n}\n\n{body}\n"
        )
        titles.add(title)
    bad_paths = set()
    for n in range(bad):
        path = folder / f"bad{n}.txt"
        path.write_bytes(b"" if n % 2 else b"\x00\x01binary\x00" * 10)
        bad_paths.add(str(path.resolve()))
    return titles, bad_paths


def feed_document(feed: int, entries: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {feed} entry {j}</title><guid>f{feed}-{j}</guid>"
        f"<link>https://feeds.example/{feed}/{j}</link>"
        f"<description>Entry {j} of feed {feed}, a story about the council.</description></item>"
        for j in range(entries)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"<link>https://feeds.example/{feed}</link><description>x</description>{items}"
        "</channel></rss>"
    ).encode()


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
