"""Poll batches in process (worker/polling/batch.py): a real Redis, a real HTTP server.

A batch fetches its feeds at once over the engine's threads, at most the host's
cap at a time; a 304 costs under two Redis round trips per feed; a fetch is cut
at the batch's time limit; each feed gets one outcome, in the order asked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import redis
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bench.roundtrips import counting_class
from tests.documents import feed_document
from tests.polling import add
from worker.model import FeedState
from worker.polling.batch import poll_batch
from worker.polling.dispatch import batches_by_host
from worker.polling.engine import FetchEngine
from worker.polling.poll import Poller


class Gauge:
    def __init__(self) -> None:
        self.now = self.most = 0
        self.lock = threading.Lock()

    def handler(self, body: bytes, delay: float, etag: str = '"v1"') -> object:
        def respond(request: Request) -> Response:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                time.sleep(delay)
                if request.headers.get("If-None-Match") == etag:
                    return Response(status=304, headers={"ETag": etag})
                return Response(body, content_type="application/rss+xml", headers={"ETag": etag})
            finally:
                with self.lock:
                    self.now -= 1

        return respond


@pytest.fixture
def engine(poller: Poller) -> Iterator[FetchEngine]:
    engine = FetchEngine(poller, threads=16)
    yield engine
    engine.shutdown()


def serve(http: HTTPServer, feeds: int, delay: float) -> tuple[list[str], Gauge]:
    gauge = Gauge()
    for n in range(feeds):
        respond = gauge.handler(feed_document(n, 3), delay)
        http.expect_request(f"/feed/{n}").respond_with_handler(respond)  # type: ignore[arg-type]
    return [http.url_for(f"/feed/{n}") for n in range(feeds)], gauge


def test_a_batch_fetches_at_once_within_the_hosts_cap(
    poller: Poller, engine: FetchEngine, http: HTTPServer
) -> None:
    urls, gauge = serve(http, 8, delay=0.3)
    ids = [add(poller, url) for url in urls]
    started = time.monotonic()
    outcomes = poll_batch(poller, engine, ids, claimed_at=None, time_limit=60)
    took = time.monotonic() - started
    assert [o.feed for o in outcomes] == ids
    assert [(o.outcome, o.new) for o in outcomes] == [("ok", 3)] * 8
    assert gauge.most == 2  # the host's cap (the poller's slots allow 2)
    assert took >= 4 * 0.3  # 8 fetches, 2 at a time


def test_304s_cost_under_two_round_trips_per_feed(
    poller: Poller, engine: FetchEngine, http: HTTPServer
) -> None:
    urls, _ = serve(http, 20, delay=0)
    ids = [add(poller, url) for url in urls]
    assert {o.outcome for o in poll_batch(poller, engine, ids, claimed_at=None, time_limit=60)} == {
        "ok"
    }
    cls, tally = counting_class()
    pool = poller.svc.client.connection_pool
    pool.connection_class = cls
    pool.reset()  # new connections, of the counting class
    poll_batch(poller, engine, ids, claimed_at=None, time_limit=60)  # they connect
    before = tally.round_trips
    outcomes = poll_batch(poller, engine, ids, claimed_at=None, time_limit=60)
    assert {o.outcome for o in outcomes} == {"not_modified"}
    # One load for the batch; per lane a slot taken, and given back with a save;
    # the states saved in pipelines (EVALSHA, no SCRIPT EXISTS before each).
    spent = tally.round_trips - before
    print(f"round trips for {len(ids)} 304s: {spent}")
    assert 0 < spent <= 2 * len(ids), tally.snapshot()


def test_settled_feeds_keep_their_place(
    poller: Poller, engine: FetchEngine, http: HTTPServer
) -> None:
    urls, _ = serve(http, 2, delay=0)
    first, second = (add(poller, url) for url in urls)
    claimed = datetime.now(UTC).replace(microsecond=0)  # polls are noted in whole seconds
    outcomes = poll_batch(
        poller, engine, ["nosuchfeed", first, second], claimed_at=claimed, time_limit=60
    )
    assert [(o.feed, o.outcome) for o in outcomes] == [
        ("nosuchfeed", "failed"), (first, "ok"), (second, "ok"),
    ]  # fmt: skip
    # Claimed again at the same instant (a duplicate claim): polled since, skipped.
    again = poll_batch(poller, engine, [first, second], claimed_at=claimed, time_limit=60)
    assert [o.outcome for o in again] == ["skipped", "skipped"]


def test_a_fetch_is_cut_at_the_batch_time_limit(
    poller: Poller, engine: FetchEngine, http: HTTPServer
) -> None:
    urls, _ = serve(http, 1, delay=2.5)  # inside the 3 s fetch timeout, past the limit
    feed_id = add(poller, urls[0])
    [outcome] = poll_batch(poller, engine, [feed_id], claimed_at=None, time_limit=1)
    assert outcome.outcome == "failed"
    assert outcome.error == "stopped at the 1 s time limit"
    state = poller.svc.feeds.get(feed_id)
    assert state is not None and state.error_count == 1


def test_batches_keep_a_hosts_feeds_together() -> None:
    urls = {
        "a1": "http://a.example/1", "b1": "http://b.example/1", "a2": "http://a.example/2",
        "c1": "http://c.example/1", "b2": "http://b.example/2", "a3": "http://a.example/3",
    }  # fmt: skip
    assert batches_by_host(urls, 10) == [["a1", "a2", "a3", "b1", "b2", "c1"]]
    # A host is not split across batches unless it has more feeds than a batch holds.
    assert batches_by_host(urls, 4) == [["a1", "a2", "a3"], ["b1", "b2", "c1"]]
    assert batches_by_host(urls, 2) == [["a1", "a2"], ["a3"], ["b1", "b2"], ["c1"]]
    assert batches_by_host({}, 10) == []


def test_states_are_saved_after_redis_lost_its_scripts(
    poller: Poller, engine: FetchEngine, http: HTTPServer
) -> None:
    urls, _ = serve(http, 3, delay=0)
    ids = [add(poller, url) for url in urls]
    poller.svc.client.script_flush()  # as after a restart of Redis
    outcomes = poll_batch(poller, engine, ids, claimed_at=None, time_limit=60)
    assert [o.outcome for o in outcomes] == ["ok"] * 3
    states = poller.svc.feeds.get_many(ids)
    assert all(s.last_status == 200 and s.etag == '"v1"' for s in states.values())


def test_an_error_in_a_fetch_thread_costs_only_that_feed(
    poller: Poller, engine: FetchEngine, http: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls, _ = serve(http, 4, delay=0)
    ids = [add(poller, url) for url in urls]
    real = poller.fetch

    def broken(state: FeedState, **kwargs: object) -> object:
        if state.id == ids[0]:
            raise RuntimeError("a bug")
        return real(state, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(poller, "fetch", broken)
    outcomes = poll_batch(poller, engine, ids, claimed_at=None, time_limit=10)
    assert outcomes[0].outcome == "failed" and "internal error in fetching" in str(
        outcomes[0].error
    )
    assert [o.outcome for o in outcomes[1:]] == ["ok"] * 3
    # The host's lanes all ended: the next batch is fetched as usual.
    monkeypatch.setattr(poller, "fetch", real)
    assert [o.outcome for o in poll_batch(poller, engine, ids, claimed_at=None, time_limit=10)] == [
        "ok", "not_modified", "not_modified", "not_modified",
    ]  # fmt: skip


def test_a_batch_that_fails_leaves_no_slot_taken(
    poller: Poller, engine: FetchEngine, http: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls, _ = serve(http, 2, delay=0.5)
    ids = [add(poller, url) for url in urls]
    real, calls = poller.save, []

    def flaky(decisions: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise redis.ConnectionError("Redis went away")
        real(decisions, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(poller, "save", flaky)
    monkeypatch.setattr(engine.slots, "limit", 1)  # one lane: the second feed ends it
    with pytest.raises(redis.ConnectionError):
        poll_batch(poller, engine, ids, claimed_at=None, time_limit=30)
    time.sleep(1.5)  # the lane's last fetch ends; nobody waits for it any more
    key = poller.slots.key(urlsplit(urls[0]).hostname or "")
    assert poller.svc.client.zcard(key) == 0


def test_the_hosts_cap_holds_across_engines(
    poller: Poller, engine: FetchEngine, http: HTTPServer
) -> None:
    """Two engines, as in two poll worker processes, share the host's slots in Redis."""
    other = FetchEngine(poller, threads=16)
    urls, gauge = serve(http, 8, delay=0.3)
    ids = [add(poller, url) for url in urls]
    results: dict[str, list] = {}

    def run(name: str, on: FetchEngine, batch: list[str]) -> None:
        results[name] = poll_batch(poller, on, batch, claimed_at=None, time_limit=60)

    threads = [
        threading.Thread(target=run, args=("a", engine, ids[:4])),
        threading.Thread(target=run, args=("b", other, ids[4:])),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        other.shutdown()
    assert [o.outcome for o in results["a"] + results["b"]] == ["ok"] * 8
    assert gauge.most == 2


def test_each_feed_keeps_its_last_twenty_polls(
    poller: Poller, engine: FetchEngine, http: HTTPServer
) -> None:
    urls, _ = serve(http, 1, delay=0)
    http.expect_request("/missing").respond_with_data("gone away", status=404)
    feed_id, broken = add(poller, urls[0]), add(poller, http.url_for("/missing"))
    for _ in range(22):
        poll_batch(poller, engine, [feed_id, broken], claimed_at=None, time_limit=60)
    history = poller.svc.feeds.history(feed_id)
    assert len(history) == 20  # bounded
    newest, oldest = history[0], history[-1]
    assert (newest["outcome"], newest["http_status"], newest["bytes"]) == ("not_modified", 304, 0)
    assert newest["duration_ms"] >= 0 and newest["error"] is None
    assert (oldest["outcome"], oldest["new"]) == ("not_modified", 0)  # the first 200 fell off
    [failed, *_] = poller.svc.feeds.history(broken)
    assert (failed["outcome"], failed["http_status"]) == ("failed", 404)
    assert "404" in failed["error"] and failed["duration_ms"] is None
    poller.svc.feeds.remove(broken)
    assert poller.svc.feeds.history(broken) == []
