"""`newsworker worker`: a supervisor of a file worker and poll workers, each a process.

A poll worker that dies is started again and polls; SIGTERM to the supervisor
stops every process it started; a supervisor killed outright takes its workers
with it (PR_SET_PDEATHSIG), so none is left consuming the queues.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis
from pytest_httpserver import HTTPServer

from tests.documents import serve_feed
from tests.support import (
    Cli,
    RedisServer,
    base_env,
    process_running,
    wait_ready,
    worker_process,
)

pytestmark = pytest.mark.slow


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def poll_worker(pid: int) -> int:
    [found] = [p for p, cmd in children(pid).items() if "--role polls" in cmd]
    return found


def test_a_dead_poll_worker_is_started_again(
    redis_server: RedisServer, tmp_path: Path, httpserver: HTTPServer
) -> None:
    prefix = f"{redis_server.prefix}sup:"
    env = base_env(redis_server.url, prefix, tmp_path / "var")
    env["NEWSWORKER_ALLOW_PRIVATE_NETWORKS"] = "true"
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    cli = Cli(env, tmp_path)
    process = worker_process(env, tmp_path, tmp_path / "worker.log").start()
    try:
        wait_ready(process, client, prefix)
        assert process.popen is not None
        supervisor = process.popen.pid
        roles = sorted(cmd.split("--role ")[1].split()[0] for cmd in children(supervisor).values())
        assert roles == ["files", "polls"]
        first = poll_worker(supervisor)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while _poll_worker_or_none(supervisor) in (None, first):
            assert time.monotonic() < deadline, process.text()[-3000:]
            time.sleep(0.1)
        wait_ready(process, client, prefix, expected=3)  # the new one said it is ready
        serve_feed(httpserver, "rss20.xml", "/after")
        feed = cli.json_lines("feeds", "add", httpserver.url_for("/after"), "--json")[1][0]
        code, [outcome] = cli.json_lines("poll", feed["id"], "--wait", "--json")
        assert (code, outcome["outcome"]) == (0, "ok")
        events = [e for e in process.log_events() if e.get("logger") == "newsworker.supervisor"]
        assert any(e["event"] == "process_exited" and e["pid"] == first for e in events)
        # SIGTERM: every worker stops (warm shutdown), then the supervisor.
        workers = list(children(supervisor))
        assert process.terminate(timeout=60) == 0
        assert not any(process_running(pid) for pid in workers)
    finally:
        process.stop()


def _poll_worker_or_none(supervisor: int) -> int | None:
    try:
        return poll_worker(supervisor)
    except ValueError:
        return None


def test_workers_die_with_a_killed_supervisor(redis_server: RedisServer, tmp_path: Path) -> None:
    prefix = f"{redis_server.prefix}sup2:"
    env = base_env(redis_server.url, prefix, tmp_path / "var")
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    process = worker_process(env, tmp_path, tmp_path / "worker.log").start()
    try:
        wait_ready(process, client, prefix)
        assert process.popen is not None
        workers = list(children(process.popen.pid))
        os.kill(process.popen.pid, signal.SIGKILL)  # the supervisor alone, not its group
        process.popen.wait(timeout=10)
        deadline = time.monotonic() + 60
        while any(process_running(pid) for pid in workers):
            assert time.monotonic() < deadline, process.text()[-3000:]
            time.sleep(0.1)
    finally:
        process.stop()
