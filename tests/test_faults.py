"""The fault suite: real worker processes, a real redis-server, real faults.

Each test pushes known inputs (article files through `enqueue`, feeds from a local
HTTP server through the dispatcher), injects one fault, and then accounts for
every input: exactly one stored record (indexed, with one `created` event) or one
dead letter, none duplicated, none lost. The summary lines are printed at the end
of the run and kept in docs/reliability.md.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.documents import feed_document, write_articles
from tests.faults import (
    VISIBILITY,
    FaultyProxy,
    Rig,
    add_feeds,
    enqueue,
    settle,
    stored_count,
    wait_stored,
)

pytestmark = pytest.mark.slow


class InFlight:
    """Counts requests the test server has started and finished answering."""

    def __init__(self) -> None:
        self.started = 0
        self.finished = 0

    def wait_busy(self, timeout: float) -> None:
        """Until a request is being answered (started, not finished)."""
        deadline = time.monotonic() + timeout
        while self.started <= self.finished or self.started == 0:
            assert time.monotonic() < deadline, "no request in flight"
            time.sleep(0.01)
        time.sleep(0.1)  # well inside the answer's delay


def serve_feeds(
    httpserver: HTTPServer,
    feeds: int,
    entries: int,
    delay: float = 0,
    track: InFlight | None = None,
) -> set[str]:
    """`feeds` RSS feeds at /feed/N, each `entries` long; the titles they carry."""
    counts = track or InFlight()
    for n in range(feeds):
        document = feed_document(n, entries)

        def handler(_: Request, body: bytes = document) -> Response:
            counts.started += 1
            time.sleep(delay)
            counts.finished += 1
            return Response(body, content_type="application/rss+xml")

        httpserver.expect_request(f"/feed/{n}").respond_with_handler(handler)
    return {f"Feed {n} entry {j}" for n in range(feeds) for j in range(entries)}


def test_worker_killed_with_sigkill_mid_tasks_then_restarted(
    rig: Rig, httpserver: HTTPServer
) -> None:
    titles, bad = write_articles(rig.home / "in", 120, bad=4)
    # The test server answers one request at a time: 2 polls of 0.6 s each stay
    # inside the 2 s fetch timeout.
    in_flight = InFlight()
    titles |= serve_feeds(httpserver, 12, 5, delay=0.6, track=in_flight)
    first = rig.worker("w1")
    rig.ready(first)
    add_feeds(rig, [httpserver.url_for(f"/feed/{n}") for n in range(12)])
    rig.beat("b1")
    enqueue(rig, rig.home / "in")
    # Kill the pool and its main process while a feed fetch is half-way.
    in_flight.wait_busy(timeout=30)
    first.kill()
    killed_at = time.monotonic()
    assert stored_count(rig) < len(titles)
    rig.ready(rig.worker("w2"))
    settle(rig, "worker SIGKILL mid-run", titles, bad, timeout=VISIBILITY + 60)
    # The poll the dead worker held came back after the visibility timeout and ran again.
    polls = Counter(r.path for r, _ in httpserver.log)
    assert max(polls.values()) >= 2, polls
    assert time.monotonic() - killed_at >= VISIBILITY - 2


def test_worker_sigterm_finishes_or_returns_its_work(rig: Rig) -> None:
    titles, bad = write_articles(rig.home / "in", 120, bad=2)
    first = rig.worker("w1")
    rig.ready(first)
    enqueue(rig, rig.home / "in")
    wait_stored(rig, 10)
    assert first.terminate(timeout=60) == 0  # warm shutdown: stops taking work, exits
    assert stored_count(rig) < len(titles)
    rig.ready(rig.worker("w2"))
    settle(rig, "worker SIGTERM mid-run", titles, bad, timeout=VISIBILITY + 60)


def test_redis_stopped_and_restarted_mid_run(rig: Rig, httpserver: HTTPServer) -> None:
    titles, bad = write_articles(rig.home / "in", 120, bad=2)
    titles |= serve_feeds(httpserver, 4, 5)
    worker = rig.worker("w1")
    rig.ready(worker)
    enqueue(rig, rig.home / "in")
    add_feeds(rig, [httpserver.url_for(f"/feed/{n}") for n in range(4)])
    rig.beat("b1")
    wait_stored(rig, 20)
    rig.redis.stop()  # a clean stop: the append-only file is flushed
    time.sleep(3)
    rig.redis.start()  # same port, same files
    settle(rig, "Redis stopped and restarted", titles, bad, timeout=VISIBILITY + 60)
    assert worker.alive, "the worker must ride out a Redis restart"


def test_worker_started_before_redis_waits_for_it(rig: Rig) -> None:
    rig.redis.stop()
    worker = rig.worker("w1")
    time.sleep(4)
    assert worker.alive, worker.text()[-3000:]
    rig.redis.start()
    rig.ready(worker)
    titles, bad = write_articles(rig.home / "in", 5)
    enqueue(rig, rig.home / "in")
    settle(rig, "worker started before Redis", titles, bad, timeout=60)


def test_feed_network_failing_hanging_and_recovering(rig: Rig, httpserver: HTTPServer) -> None:
    titles = serve_feeds(httpserver, 6, 5)
    proxy = FaultyProxy(httpserver.port)
    try:
        proxy.mode = "reset"
        add_feeds(rig, [proxy.url(f"/feed/{n}") for n in range(6)])
        rig.ready(rig.worker("w1", concurrency=4))
        rig.beat("b1")
        deadline = time.monotonic() + 30
        while proxy.connections["reset"] < 6:
            assert time.monotonic() < deadline, rig.logs()
            time.sleep(0.1)
        proxy.mode = "hang"  # past the 2 s fetch timeout
        deadline = time.monotonic() + 30
        while proxy.connections["hang"] < 6:
            assert time.monotonic() < deadline, rig.logs()
            time.sleep(0.1)
        time.sleep(2.5)
        code, feeds = rig.cli.json_lines("feeds", "list", "--json")
        assert code == 0
        assert all(f["error_count"] >= 1 and f["status"] == "error" for f in feeds), feeds
        assert all(f["last_error"] for f in feeds)
        proxy.mode = "pass"
        # Backoff after a few errors is tens of seconds at most with a 1 s minimum.
        settle(rig, "feed network reset, hang, recover", titles, set(), timeout=90)
        code, feeds = rig.cli.json_lines("feeds", "list", "--json")
        assert all(
            (f["status"], f["error_count"], f["last_status"]) == ("ok", 0, 200) for f in feeds
        ), feeds
    finally:
        proxy.close()


def test_two_workers_and_two_schedulers(rig: Rig, httpserver: HTTPServer) -> None:
    titles, bad = write_articles(rig.home / "in", 120, bad=2)
    feed_titles = serve_feeds(httpserver, 10, 5, delay=0.1)
    add_feeds(rig, [httpserver.url_for(f"/feed/{n}") for n in range(10)], interval=3600)
    workers = [rig.worker("w1"), rig.worker("w2")]
    for worker in workers:
        rig.ready(worker)
    rig.beat("b1")
    rig.beat("b2")
    enqueue(rig, rig.home / "in")
    settle(rig, "two workers, two schedulers", titles | feed_titles, bad, timeout=90)
    polls = Counter(r.path for r, _ in httpserver.log)
    assert len(polls) == 10 and max(polls.values()) == 1, polls
