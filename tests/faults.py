"""Parts of the fault suite alone: its rig (a redis-server and the processes of one
test), a TCP proxy that breaks the network on demand, and the accounting of inputs.
The processes and inputs it starts from are in support.py and documents.py.

Every fault test pushes a known set of inputs, injects its fault, and then checks
that each input ended as exactly one stored record or one dead letter, with its
indexes and its `created` event. `SUMMARIES` collects one line per fault; the
suite prints them at the end (conftest.py) and docs/reliability.md keeps them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import redis

from tests.support import (
    Cli,
    Process,
    RedisProcess,
    base_env,
    beat_process,
    wait_ready,
    worker_process,
)

SUMMARIES: list[str] = []


# --- the rig ----------------------------------------------------------------------------------

VISIBILITY = 20  # seconds: work held by a dead worker comes back after this
PREFIX = "nwfault:"


@dataclass
class Rig:
    redis: RedisProcess  # the store
    env: dict[str, str]
    home: Path
    cli: Cli
    processes: list[Process]
    broker: RedisProcess  # the store itself, unless the rig has a broker apart

    def worker(self, name: str, concurrency: int = 2) -> Process:
        log = self.home / f"{name}.log"
        return self._started(worker_process(self.env, self.home, log, concurrency=concurrency))

    def beat(self, name: str) -> Process:
        return self._started(beat_process(self.env, self.home, name))

    def _started(self, process: Process) -> Process:
        self.processes.append(process.start())
        return process

    def ready(self, process: Process) -> None:
        wait_ready(process, self.broker.client(), PREFIX)

    def logs(self) -> str:
        return "\n".join(f"== {p.log.name}\n{p.text()[-3000:]}" for p in self.processes)


@contextlib.contextmanager
def started_rig(
    tmp_path: Path, *, broker_apart: bool = False, store_dir: Path | None = None
) -> Iterator[Rig]:
    """A redis-server of the test's own (its files in `store_dir`), one for the broker
    with `broker_apart`, and the settings the fault suite runs with; every process
    the test started is stopped afterwards, then the servers."""
    server = RedisProcess(store_dir or tmp_path / "redis")
    server.start()
    broker = server
    env = base_env(server.url, PREFIX, tmp_path / "var")
    if broker_apart:
        broker = RedisProcess(tmp_path / "broker")
        broker.start()
        env["NEWSWORKER_BROKER_URL"] = broker.url
    env.update(
        NEWSWORKER_VISIBILITY_TIMEOUT=str(VISIBILITY),
        NEWSWORKER_ALLOW_PRIVATE_NETWORKS="true",
        NEWSWORKER_FETCH_TIMEOUT="2",
        NEWSWORKER_FETCH_CONNECT_TIMEOUT="1",
        NEWSWORKER_FEED_MIN_INTERVAL="1",
        NEWSWORKER_DISPATCH_INTERVAL="0.5",
        NEWSWORKER_HOST_CONCURRENCY="8",
        NEWSWORKER_FEEDS_FILE=str(tmp_path / "no-feeds.yaml"),
    )
    rig = Rig(server, env, tmp_path, Cli(env, tmp_path), [], broker)
    try:
        yield rig
    finally:
        for process in rig.processes:
            process.stop()
        server.stop()
        if broker is not server:
            broker.stop()


def enqueue(rig: Rig, folder: Path) -> None:
    done = rig.cli.run("enqueue", str(folder), "--json")
    assert done.returncode == 0, done.stderr


def add_feeds(rig: Rig, urls: list[str], interval: float | None = None) -> None:
    for url in urls:
        args = ["feeds", "add", url, "--json"]
        if interval:
            args += ["--interval", str(interval)]
        done = rig.cli.run(*args)
        assert done.returncode == 0, done.stderr


def settle(rig: Rig, fault: str, titles: set[str], bad: set[str], timeout: float) -> Account:
    result = wait_for(lambda: account(fault, rig.redis.client(), PREFIX, titles, bad), timeout)
    record(result)
    assert result.whole, f"{result.line()}\n{rig.logs()}"
    return result


def stored_count(rig: Rig) -> int:
    return int(rig.redis.client().zcard(f"{PREFIX}idx:time"))


def wait_stored(rig: Rig, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while stored_count(rig) < at_least:
        assert time.monotonic() < deadline, rig.logs()
        time.sleep(0.05)


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
