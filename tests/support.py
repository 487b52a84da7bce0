"""What the tests share about processes, apart from fixtures (conftest.py builds those
from this module): environments, the command line, redis-server, workers and schedulers.

The documents they are given (builders, fixture paths and clocks, the expected
tables) are in tests/documents.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from worker.store.embedded import free_port, start_redis_server, stop_redis_server, wait_until_ready

# --- processes --------------------------------------------------------------------------------

# Variables from the developer's shell must not leak into the processes we start.
_SCRUB = ("NEWSWORKER_", "REDIS_URL")


def base_env(url: str | None, prefix: str, data_dir: Path) -> dict[str, str]:
    """The environment of a `python -m worker ...` process of the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    if url:
        env["NEWSWORKER_REDIS_URL"] = url
    env["NEWSWORKER_KEY_PREFIX"] = prefix
    env["NEWSWORKER_DATA_DIR"] = str(data_dir)
    env["NEWSWORKER_LOG_FORMAT"] = "json"
    env["PYTHONUNBUFFERED"] = "1"
    # One poll process per worker is enough for the tests (the default: one per core).
    env["NEWSWORKER_POLL_PROCESSES"] = "1"
    return env


@dataclass
class Cli:
    """The command line, run to completion in `cwd` with `env`."""

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


@dataclass
class RedisServer:
    """The Redis a test talks to, and the key prefix it owns there."""

    url: str
    prefix: str
    external: bool

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def delete_prefix(self) -> None:
        client = self.client()
        batch = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
        for start in range(0, len(batch), 500):
            client.delete(*batch[start : start + 500])


@dataclass
class RedisProcess:
    """A redis-server of the test's own on a fixed port; `persistent`, with the
    append-only file, so that a stop and start keeps what it held."""

    directory: Path
    persistent: bool = True
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = start_redis_server(self.directory, self.port, persistent=self.persistent)
        wait_until_ready(self.url, self.process)

    def stop(self) -> None:
        """A clean stop: Redis writes its append-only file and exits."""
        if self.process is not None:
            stop_redis_server(self.process.pid)
            self.process.wait(timeout=30)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


@dataclass
class Process:
    """A `python -m worker ...` process in its own process group, its output in `log`."""

    args: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "worker", *self.args],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: the main process and its pool children at once."""
        assert self.popen is not None
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM to the main process (a warm shutdown); its exit status."""
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)
            raise

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.terminate(timeout=30)
        # Pool children left behind by a main process that died first.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def log_events(self) -> list[dict]:
        """The JSON lines of the log (a traceback or banner line is passed over)."""
        events = []
        for line in self.text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events


def worker_process(env: dict[str, str], cwd: Path, log: Path, *, concurrency: int = 2) -> Process:
    """A `newsworker worker` (prefork, `concurrency` children), not started yet."""
    return Process(["worker", "--concurrency", str(concurrency)], env, cwd, log)


def beat_process(env: dict[str, str], cwd: Path, name: str) -> Process:
    """A `newsworker beat` with a data folder of its own (beat keeps its schedule
    file there), logging to cwd/beat-`name`.log; not started yet."""
    env = env | {"NEWSWORKER_DATA_DIR": str(cwd / f"beat-{name}")}
    return Process(["beat"], env, cwd, cwd / f"beat-{name}.log")


QUEUES = ("newsworker", "newsworker-polls")


def wait_ready(
    process: Process, client: redis.Redis, prefix: str, timeout: float = 60, expected: int = 2
) -> None:
    """Until the worker has bound its queue and said it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.alive, process.text()[-4000:]
        # kombu records each queue's binding once its consumer is set up; each Celery
        # worker (the file worker, each poll worker) logs that it is ready.
        bound = client.exists(*(f"{prefix}_kombu.binding.{q}" for q in QUEUES)) == len(QUEUES)
        if bound and process.text().count(" ready.") >= expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"worker not ready:\n{process.text()[-4000:]}")


def process_running(pid: int) -> bool:
    """Whether process `pid` still runs; one that has exited but is not yet reaped
    (a zombie) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


@dataclass
class Worker:
    """A running worker process and the command line that shares its Redis and prefix."""

    process: Process
    cli: Cli

    @property
    def prefix(self) -> str:
        return self.cli.env["NEWSWORKER_KEY_PREFIX"]

    def log_events(self) -> list[dict]:
        return self.process.log_events()


@contextlib.contextmanager
def running_worker(cli: Cli, *, concurrency: int) -> Iterator[Worker]:
    """A worker with `cli`'s environment, ready to take tasks; stopped afterwards."""
    process = worker_process(cli.env, cli.cwd, cli.cwd / "worker.log", concurrency=concurrency)
    try:
        process.start()
        client = redis.Redis.from_url(cli.env["NEWSWORKER_REDIS_URL"], decode_responses=True)
        wait_ready(process, client, cli.env["NEWSWORKER_KEY_PREFIX"])
        yield Worker(process, cli)
    finally:
        process.stop()
