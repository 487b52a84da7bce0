"""Two schedulers (beat processes) by mistake, one real worker: no feed is polled twice."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.documents import serve_feed
from tests.support import Cli, RedisServer, base_env, beat_process, wait_ready, worker_process

FEED_COUNT = 30


@pytest.mark.slow
def test_two_schedulers_never_poll_a_feed_twice(
    redis_server: RedisServer, prefix: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    for n in range(FEED_COUNT):
        serve_feed(httpserver, "atom10.xml", f"/f{n}", content_type="application/atom+xml")
    env = base_env(redis_server.url, prefix, tmp_path / "var")
    env.update(
        NEWSWORKER_ALLOW_PRIVATE_NETWORKS="true",
        NEWSWORKER_DISPATCH_INTERVAL="0.5",
        NEWSWORKER_FEEDS_FILE=str(tmp_path / "none.yaml"),
        NEWSWORKER_HOST_CONCURRENCY="8",
    )
    cli = Cli(env, tmp_path)
    for n in range(FEED_COUNT):
        # A fixed hour: any second request within this test is a double poll.
        done = cli.run("feeds", "add", httpserver.url_for(f"/f{n}"), "--interval", "3600")
        assert done.returncode == 0, done.stderr
    # DEBUG: each beat logs every tick it sends, so the test sees both really ran.
    beats = [beat_process(env | {"NEWSWORKER_LOG_LEVEL": "DEBUG"}, tmp_path, n) for n in "ab"]
    worker = worker_process(env, tmp_path, tmp_path / "worker.log")
    processes = [worker, *beats]
    try:
        for process in processes:
            process.start()
        wait_ready(worker, redis_server.client(), prefix)
        deadline = time.monotonic() + 60
        while len({r.path for r, _ in httpserver.log}) < FEED_COUNT:
            assert time.monotonic() < deadline, worker.text()[-3000:]
            time.sleep(0.2)
        time.sleep(3)  # six more ticks of each scheduler
        for beat in beats:  # both schedulers really ticked, many times
            assert beat.text().count("Sending due task dispatch-due") >= 5, beat.text()
    finally:
        for process in processes:
            process.stop()
    requests = Counter(r.path for r, _ in httpserver.log)
    assert set(requests) == {f"/f{n}" for n in range(FEED_COUNT)}
    assert max(requests.values()) == 1, requests.most_common(3)
    code, feeds = cli.json_lines("feeds", "list", "--json")
    assert code == 0 and all(f["last_status"] == 200 for f in feeds)
