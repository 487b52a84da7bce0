"""A poll that reaches the soft time limit becomes an error on the feed, with backoff.

Before, its state was never written: the feed was claimed again after the lease,
and a feed whose server always hangs past the limit was retried at the lease's
pace forever. A real worker with a 3 s soft limit polls a server that answers in 8 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support import Cli, RedisServer, Worker, base_env, running_worker

pytestmark = pytest.mark.slow
SOFT_LIMIT = 3  # NEWSWORKER_TASK_TIME_LIMIT 8 -> soft limit 8 - 5


@pytest.fixture
def short_limit_worker(redis_server: RedisServer, tmp_path: Path) -> Iterator[Worker]:
    env = base_env(redis_server.url, f"{redis_server.prefix}tl:", tmp_path / "var")
    env.update(
        NEWSWORKER_ALLOW_PRIVATE_NETWORKS="true",
        NEWSWORKER_TASK_TIME_LIMIT="8",
        NEWSWORKER_FETCH_TIMEOUT="30",
    )
    with running_worker(Cli(env, tmp_path), concurrency=1) as worker:
        yield worker


def test_poll_past_the_soft_time_limit_is_an_error_with_backoff(
    short_limit_worker: Worker, http: HTTPServer
) -> None:
    def slow(_: Request) -> Response:
        time.sleep(SOFT_LIMIT + 5)
        return Response("<rss version='2.0'><channel><title>t</title></channel></rss>")

    http.expect_request("/slow.xml").respond_with_handler(slow)
    cli = short_limit_worker.cli
    added = cli.json_lines("feeds", "add", http.url_for("/slow.xml"), "--json")[1][0]
    started = datetime.now(UTC)
    code, [outcome] = cli.json_lines("poll", added["id"], "--wait", "--json")
    assert code == 1
    assert outcome["outcome"] == "failed"
    assert f"stopped at the {SOFT_LIMIT} s time limit" in outcome["error"]
    state = cli.json_lines("feeds", "show", added["id"], "--json")[1][0]
    assert state["status"] == "error" and state["error_count"] == 1
    assert f"{SOFT_LIMIT} s time limit" in state["last_error"]
    # Backoff starts from the minimum interval (5 min by default, ±10 % jitter).
    next_poll = datetime.fromisoformat(state["next_poll_at"])
    assert next_poll - started > timedelta(minutes=4)
    events = short_limit_worker.log_events()
    assert any(e.get("event") == "time_limit" for e in events)
