"""Faults of the poll workers: many fetches in flight, and a host that never answers.

Poll workers keep tens of fetches in flight per process (worker/polling/batch.py).
A worker killed with all of them open loses none of the feeds' entries and stores
none twice: the batches come back after the visibility timeout. A host that
accepts connections and never answers holds only its own request slots: the other
hosts' feeds are polled meanwhile, at their usual pace.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.documents import feed_document
from tests.faults import VISIBILITY, Rig, add_feeds, settle

pytestmark = pytest.mark.slow


class Gauge:
    """Requests the test server is answering right now, and the most at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self.now -= 1


def serve_slow_feeds(http: HTTPServer, feeds: int, entries: int, delay: float) -> set[str]:
    gauge = Gauge()
    for n in range(feeds):
        document = feed_document(n, entries)

        def handler(_: Request, body: bytes = document) -> Response:
            with gauge:
                time.sleep(delay)
            return Response(body, content_type="application/rss+xml")

        http.expect_request(f"/feed/{n}").respond_with_handler(handler)
    http.gauge = gauge  # type: ignore[attr-defined]
    return {f"Feed {n} entry {j}" for n in range(feeds) for j in range(entries)}


def test_worker_killed_with_many_fetches_in_flight(rig: Rig, http: HTTPServer) -> None:
    rig.env.update(NEWSWORKER_FETCH_TIMEOUT="15", NEWSWORKER_HOST_CONCURRENCY="100")
    titles = serve_slow_feeds(http, 40, 3, delay=2.0)
    first = rig.worker("w1")
    rig.ready(first)
    add_feeds(rig, [http.url_for(f"/feed/{n}") for n in range(40)], interval=3600)
    rig.beat("b1")
    gauge = http.gauge  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while gauge.now < 20:
        assert time.monotonic() < deadline, f"at most {gauge.most} fetches in flight"
        time.sleep(0.02)
    first.kill()  # the whole group: supervisor, file worker, poll worker
    killed_at = time.monotonic()
    assert rig.redis.client().zcard("nwfault:idx:time") == 0
    rig.ready(rig.worker("w2"))
    settle(rig, "worker SIGKILL, 20+ fetches in flight", titles, set(), timeout=VISIBILITY + 90)
    assert time.monotonic() - killed_at >= VISIBILITY - 2
    # Each feed was fetched by the dead worker and once more after the redelivery.
    polls = Counter(r.path for r, _ in http.log)
    assert len(polls) == 40 and max(polls.values()) <= 3, polls


@contextmanager
def hung_host(address: str) -> Iterator[tuple[int, Gauge]]:
    """A listener on `address` that accepts connections and never answers."""
    listener = socket.create_server((address, 0))
    held: list[socket.socket] = []
    gauge = Gauge()

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            gauge.__enter__()  # never left: a connection stays open until the client hangs up

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1], gauge
    finally:
        listener.close()
        for conn in held:
            conn.close()


def test_hung_host_holds_only_its_own_slots(rig: Rig, http: HTTPServer) -> None:
    # Inside the rig's 5 s soft time limit, which would cut the fetch first.
    rig.env.update(NEWSWORKER_FETCH_TIMEOUT="4", NEWSWORKER_HOST_CONCURRENCY="2")
    titles = serve_slow_feeds(http, 12, 2, delay=0.2)
    with hung_host("127.0.0.2") as (port, hung):
        rig.ready(rig.worker("w1"))
        good = [http.url_for(f"/feed/{n}") for n in range(12)]
        add_feeds(rig, good + [f"http://127.0.0.2:{port}/feed/{n}" for n in range(6)])
        started = time.time()
        code, outcomes = rig.cli.json_lines("poll", "--all", "--wait", "--json")
        took = time.time() - started
    assert code == 1
    by_url = {o["url"]: o for o in outcomes}
    assert all(by_url[url]["outcome"] == "ok" for url in good), outcomes
    stuck = [o for o in outcomes if "127.0.0.2" in o["url"]]
    timed_out = [o for o in stuck if "timed out" in (o["error"] or "")]
    busy = [o for o in stuck if "busy" in (o["error"] or "")]
    # Two slots on the hung host, each held until the fetch timeout; the rest put off.
    assert len(timed_out) == 2 and len(busy) == 4, [o["error"] for o in stuck]
    assert hung.most == 2
    assert took >= 4
    # The good host's 12 polls (2 at a time, 0.2 s each) ended long before the timeout.
    done = [
        datetime.fromisoformat(e["timestamp"]).timestamp()
        for e in rig.processes[0].log_events()
        if e.get("event") == "schedule" and "127.0.0.1" in e.get("url", "")
    ]
    assert len(done) == 12 and max(done) - started < 3, (done, started)
    settle(rig, "hung host among healthy ones", titles, set(), timeout=10)
