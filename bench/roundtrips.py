"""Redis round trips of one feed poll, counted on the connection the poller really uses.

`CountingConnection` is redis-py's TCP connection with a tally: every write to the
socket is one round trip (a pipeline is one write of many commands; a health-check
PING is a round trip of its own). `poll_round_trips` runs one cold poll of a
50-entry probe feed in this process with the worker's own poller
(worker.runtime.build_poller), and splits the tally by the poller's own step events.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
import redis.connection


@dataclass
class Tally:
    round_trips: int = 0
    commands: int = 0
    pipelines: int = 0
    names: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, int]:
        return {"round_trips": self.round_trips, "commands": self.commands,
                "pipelines": self.pipelines}  # fmt: skip


class CountingConnection(redis.connection.Connection):
    tally = Tally()

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self.tally.round_trips += 1
        super().send_packed_command(command, check_health)

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        self.tally.commands += 1
        self.tally.names[str(args[0]).upper()] += 1
        super().send_command(*args, **kwargs)

    def pack_commands(self, commands: Any) -> Any:
        commands = list(commands)
        self.tally.pipelines += 1
        self.tally.commands += len(commands)
        self.tally.names.update(str(c[0]).upper() for c in commands)
        return super().pack_commands(commands)


def counting_class() -> tuple[type[CountingConnection], Tally]:
    """A connection class with a tally of its own."""
    tally = Tally()
    return type("Counting", (CountingConnection,), {"tally": tally}), tally


def counting_client(url: str) -> tuple[redis.Redis, Tally]:
    cls, tally = counting_class()
    return redis.Redis.from_url(url, decode_responses=True, connection_class=cls), tally


class _StepLog:
    """The poller's logger: notes the tally when each step event is emitted."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.marks: list[tuple[str, dict[str, int]]] = []

    def _note(self, event: str, *_: Any, **__: Any) -> None:
        self.marks.append((event, self.tally.snapshot()))

    info = debug = warning = error = exception = _note


def poll_round_trips(url: str, probe_urls: list[str], *, host_concurrency: int) -> dict[str, Any]:
    """Tally of one cold 50-entry poll, after a warm-up poll of another probe feed.

    The warm-up leaves the connection open and the scripts cached, as in a worker
    that has been running a while. Store + schedule is the part between the end
    of the `normalise` step and the end of the `schedule` step.
    """
    from worker.runtime import build_poller
    from worker.settings import Settings
    from worker.store.connection import connect
    from worker.store.services import services_on

    prefix = f"nwbench-rt-{random.getrandbits(32):08x}:"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url=url,
        key_prefix=prefix,
        allow_private_networks=True,
        host_concurrency=host_concurrency,
    )
    client = connect(url)  # the worker's own client options, with a counting connection
    cls, tally = counting_class()
    client.connection_pool.connection_class = cls
    svc = services_on(client, settings)
    log = _StepLog(tally)
    poller = build_poller(settings, svc, log=log, rng=random.Random(1))
    try:
        now = datetime.now(UTC)
        warm_id = svc.feeds.add(probe_urls[0], now=now)[0].id
        cold_id = svc.feeds.add(probe_urls[1], now=now)[0].id
        warm = poller.poll(warm_id, now=now)
        log.marks.clear()
        start = tally.snapshot()
        names_before = Counter(tally.names)
        outcome = poller.poll(cold_id, now=now)
        end = tally.snapshot()
        names = tally.names - names_before
    finally:
        poller.fetcher.close()
    marks = dict(log.marks)
    if (
        warm.outcome != "ok"
        or outcome.outcome != "ok"
        or not {"normalise", "schedule"} <= set(marks)
    ):
        raise RuntimeError(f"round-trip poll did not run through: {warm} {outcome}")

    def between(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {k: b[k] - a[k] for k in a}

    steps: dict[str, dict[str, int]] = {}
    previous = start
    for event, mark in log.marks:
        steps[event] = between(previous, mark)
        previous = mark
    steps["after schedule"] = between(previous, end)
    return {
        "entries": outcome.new,
        "store_schedule": between(marks["normalise"], marks["schedule"]),
        "whole_poll": between(start, end),
        "by_step": steps,
        "commands_by_name": dict(names.most_common()),
    }
