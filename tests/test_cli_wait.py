"""Waiting on the workers' answers (worker/cli/wait.py), on the real result backend.

No worker runs here: results are stored in the backend directly, and a task
nobody ran is what a dead or absent worker looks like to the command line.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from celery import Celery
from celery.result import AsyncResult

from tests.support import Cli, RedisServer
from worker.celery_app import build_config
from worker.cli.wait import Answer, answers
from worker.settings import Settings

TIMED_OUT = "no answer from the workers: The operation timed out."


def client_app(redis_server: RedisServer, prefix: str) -> Celery:
    app = Celery("newsworker-test-wait")
    app.conf.update(build_config(Settings(redis_url=redis_server.url, key_prefix=prefix)))
    return app


def test_answers_in_order_a_value_a_failure_and_no_answer(
    redis_server: RedisServer, prefix: str
) -> None:
    app = client_app(redis_server, prefix)
    done, crashed, never = (str(uuid.uuid4()) for _ in range(3))
    app.backend.store_result(done, [{"outcome": "created"}], "SUCCESS")
    app.backend.store_result(crashed, ValueError("boom"), "FAILURE")
    sent = [
        (key, AsyncResult(task_id, app=app)) for key, task_id in enumerate((done, crashed, never))
    ]

    got = list(answers(sent, timeout=0.3))

    assert [key for key, _ in got] == [0, 1, 2]
    first, second, third = (answer for _, answer in got)
    assert first == Answer([{"outcome": "created"}])
    assert (second.failed, second.answered, repr(second.value)) == (
        True, True, "ValueError('boom')",
    )  # fmt: skip
    assert (third.failed, third.answered, third.no_answer()) == (True, False, TIMED_OUT)


def test_enqueue_wait_without_a_worker_reports_each_input_failed(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("A title\n\nA body nobody stores.\n")
    done = cli.run("enqueue", str(path), "--wait", "--timeout", "0.3", "--json")
    assert done.returncode == 1
    assert done.stdout == (
        f'{{"path": "{path}", "outcome": "failed", "id": null, "error": "{TIMED_OUT}"}}\n'
    )
    assert "no worker answered" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_poll_wait_without_a_worker_reports_the_feed_failed(cli: Cli) -> None:
    url = "https://news.example.com/feed.xml"
    code, added = cli.json_lines("feeds", "add", url, "--json")
    assert code == 0
    feed = added[0]["id"]
    done = cli.run("poll", feed, "--wait", "--timeout", "0.3", "--json")
    assert done.returncode == 1
    assert done.stdout == (
        f'{{"feed": "{feed}", "url": "{url}", "outcome": "failed", "http_status": null, '
        f'"new": 0, "updated": 0, "unchanged": 0, "error": "{TIMED_OUT}", "held_back": 0}}\n'
    )
    # A result still waiting at interpreter shutdown used to print a traceback here.
    assert "Traceback" not in done.stderr, done.stderr
    done = cli.run("poll", feed, "--wait", "--timeout", "0.3")
    assert done.returncode == 1
    assert done.stdout == f"failed       {feed}  new 0 updated 0 unchanged 0  {TIMED_OUT}\n"
    assert "Traceback" not in done.stderr, done.stderr
