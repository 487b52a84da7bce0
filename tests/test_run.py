"""`newsworker run` with no Redis configured: an embedded Redis under ./var/, stopped on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
import redis
from pytest_httpserver import HTTPServer

from tests.documents import SEED, serve_feed
from tests.support import Cli, Process, base_env, process_running


@pytest.mark.slow
def test_run_starts_embedded_redis_worker_and_scheduler_and_stops_cleanly(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    env = base_env(None, "nw:", tmp_path / "var")
    env.pop("NEWSWORKER_DATA_DIR")  # the default: ./var under the working folder
    env.update(NEWSWORKER_ALLOW_PRIVATE_NETWORKS="true", NEWSWORKER_DISPATCH_INTERVAL="1")
    # The operator's feeds file is synced when the worker starts.
    for path in ("/from-file", "/from-cli"):
        serve_feed(httpserver, "atom10.xml", path, content_type="application/atom+xml")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "feeds.yaml").write_text(
        f"feeds:\n  - url: {httpserver.url_for('/from-file')}\n    name: From file\n"
    )
    process = Process(["run", "--concurrency", "1"], env, tmp_path, tmp_path / "run.log")
    try:
        process.start()
        url_file = tmp_path / "var" / "redis" / "redis.url"
        deadline = time.monotonic() + 60
        while not (url_file.exists() and "ready" in process.text()):
            assert process.alive, process.text()[-3000:]
            assert time.monotonic() < deadline, process.text()[-3000:]
            time.sleep(0.2)
        url = url_file.read_text().strip()
        assert url.startswith("redis://127.0.0.1:")
        client = redis.Redis.from_url(url)
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert "beat" in process.text().lower()

        # Other commands find the running embedded Redis and the running worker.
        cli = Cli(env, tmp_path)
        code, lines = cli.json_lines("enqueue", str(SEED), "--wait", "--json")
        assert code == 0, process.text()[-3000:]
        assert lines[0]["outcome"] == "created"

        # A feed added now is polled within a dispatcher tick, like the file's feed.
        code, _ = cli.json_lines("feeds", "add", httpserver.url_for("/from-cli"), "--json")
        assert code == 0
        polled = _wait_until_polled(cli, 2, deadline=time.monotonic() + 30)
        assert {f["name"] for f in polled} == {"From file", None}
        assert all(f["last_status"] == 200 for f in polled)
        # Both feeds carry the same article (same URL): one record, counted once.
        assert sum(f["entries_total"] for f in polled) == 1

        redis_pid = int((tmp_path / "var" / "redis" / "redis.pid").read_text())
        assert process.popen is not None
        process.popen.send_signal(signal.SIGINT)
        assert process.popen.wait(timeout=60) == 0
        deadline = time.monotonic() + 20
        while process_running(redis_pid):
            assert time.monotonic() < deadline, "embedded redis-server still running after Ctrl-C"
            time.sleep(0.1)
    finally:
        process.stop()
        # A failed test must not leave the embedded Redis (its own session) running.
        pid_file = tmp_path / "var" / "redis" / "redis.pid"
        if pid_file.exists():
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _wait_until_polled(cli: Cli, count: int, deadline: float) -> list[dict]:
    while True:
        _, feeds = cli.json_lines("feeds", "list", "--json")
        polled = [f for f in feeds if f["last_polled_at"]]
        if len(polled) >= count or time.monotonic() > deadline:
            return polled
        time.sleep(0.5)
