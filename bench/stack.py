"""The project as deployed, throwaway: a redis-server, `newsworker worker` processes and
the dispatch trigger, all started here and all stopped by `Stack.stop`.

The redis-server has its own temporary folder and a free port on 127.0.0.1, with the
append-only file on (worker.store.embedded.start_redis_server, as the embedded Redis
runs). Workers are real `python -m worker worker --concurrency N` processes in
their own sessions, configured only through NEWSWORKER_* variables, like the fault
suite's (tests/faults.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.farm import REPO, read_line
from bench.roundtrips import Tally, counting_client
from worker.store.embedded import free_port, start_redis_server, stop_redis_server, wait_until_ready

# Nothing from the developer's shell may reach the processes we start: no other Redis,
# and no HTTP proxy (every byte stays on 127.0.0.1).
_SCRUB = ("NEWSWORKER_", "REDIS_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
DEFAULT_REDIS_PORT = 6379


def worker_env(args: Any) -> dict[str, str]:
    """The bench's `--worker-env NAME=VALUE` settings, as a mapping."""
    return dict(item.split("=", 1) for item in args.worker_env)


def clean_environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_SCRUB)}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


@dataclass
class Stack:
    home: Path
    concurrency: int
    workers: int = 1
    # NEWSWORKER_HOST_CONCURRENCY; None leaves the worker's own default (far mode).
    host_concurrency: int | None = 1000
    fetch_timeout: float | None = None  # NEWSWORKER_FETCH_TIMEOUT; None: the default
    extra_env: dict[str, str] = field(default_factory=dict)  # `--worker-env`
    pool: str | None = None  # the worker's default when None
    prefix: str = "nwbench:"
    port: int = field(default_factory=free_port)
    redis_process: subprocess.Popen[bytes] | None = None
    worker_processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    trigger: subprocess.Popen[bytes] | None = None
    client: redis.Redis | None = None
    tally: Tally = field(default_factory=Tally)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def env(self) -> dict[str, str]:
        env = clean_environ()
        env.update(
            NEWSWORKER_REDIS_URL=self.url,
            NEWSWORKER_KEY_PREFIX=self.prefix,
            NEWSWORKER_DATA_DIR=str(self.home / "var"),
            NEWSWORKER_FEEDS_FILE=str(self.home / "no-feeds.yaml"),
            NEWSWORKER_ALLOW_PRIVATE_NETWORKS="true",  # the farm is on loopback
            NEWSWORKER_LOG_FORMAT="json",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(REPO),
        )
        # The loopback farm puts every feed on one host, so there the per-host cap
        # (default 2) is raised: it would measure politeness, not the worker.
        if self.host_concurrency is not None:
            env["NEWSWORKER_HOST_CONCURRENCY"] = str(self.host_concurrency)
        if self.fetch_timeout is not None:
            env["NEWSWORKER_FETCH_TIMEOUT"] = str(self.fetch_timeout)
        return env | self.extra_env

    # -- start ---------------------------------------------------------------------------
    def start(self, *, timeout: float = 90) -> Stack:
        if self.port == DEFAULT_REDIS_PORT:  # never the developer's Redis
            self.port = free_port()
        self.home.mkdir(parents=True, exist_ok=True)
        self.redis_process = start_redis_server(self.home / "redis", self.port, persistent=True)
        wait_until_ready(self.url, self.redis_process)
        self.client, self.tally = counting_client(self.url)
        for n in range(self.workers):
            args = ["worker", "--concurrency", str(self.concurrency)]
            if self.pool:
                args += ["--pool", self.pool]
            self.worker_processes.append(self._spawn(args, f"worker{n}"))
        deadline = time.monotonic() + timeout
        for n, process in enumerate(self.worker_processes):
            self._wait_ready(process, self.home / f"worker{n}.log", deadline)
        log = (self.home / "trigger.log").open("ab")
        self.trigger = subprocess.Popen(
            [sys.executable, "-m", "bench.trigger"], env=self.env(), cwd=self.home,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, start_new_session=True,
        )  # fmt: skip
        log.close()
        if read_line(self.trigger, max(1.0, deadline - time.monotonic())) != "ready":
            raise RuntimeError("the dispatch trigger did not start")
        return self

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        with (self.home / f"{name}.log").open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "worker", *args], env=self.env(), cwd=self.home,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def _wait_ready(self, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
        """Until the worker has bound its queue and said it is ready (tests/faults.py)."""
        assert self.client is not None
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{text[-3000:]}")
            if "ready" in text and self.client.exists(f"{self.prefix}_kombu.binding.newsworker"):
                return
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready:\n{log.read_text(errors='replace')[-3000:]}")

    # -- use -------------------------------------------------------------------------------
    def dispatch(self, count: int, *, timeout: float = 30) -> None:
        """Send `count` real `newsworker.dispatch_due` tasks (through the trigger)."""
        assert self.trigger is not None and self.trigger.stdin is not None
        self.trigger.stdin.write(f"dispatch {count}\n".encode())
        self.trigger.stdin.flush()
        if read_line(self.trigger, timeout) != "sent":
            raise RuntimeError("the dispatch trigger did not answer")

    def peak_rss_mb(self) -> list[dict[str, object]]:
        """VmHWM of each worker's main process and of every process under it, in MB.

        The whole tree: pool children, and whatever they or other pools the
        worker starts run in turn (`depth` 1 for children, 2 for grandchildren...).
        """
        found: list[dict[str, object]] = []
        for process in self.worker_processes:
            if process.poll() is not None:
                continue
            found.append({"pid": process.pid, "role": "main", "mb": _vm_hwm_mb(process.pid)})
            for pid, depth in _descendants(process.pid):
                role = "pool child" if depth == 1 else f"descendant (depth {depth})"
                found.append({"pid": pid, "role": role, "depth": depth, "mb": _vm_hwm_mb(pid)})
        return [f for f in found if f["mb"] is not None]

    # -- stop ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop everything this stack started; safe to call twice and after a failure."""
        if self.trigger is not None:
            _stop(self.trigger, signal.SIGTERM, 10)
            self.trigger = None
        for process in self.worker_processes:
            _stop(process, signal.SIGTERM, 30)
        self.worker_processes = []
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.redis_process is not None:
            stop_redis_server(self.redis_process.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.redis_process.wait(timeout=15)
            self.redis_process = None


def _stop(process: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """`sig` to the process (a warm shutdown), then SIGKILL to its whole group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    # Pool children left behind, or a process that ignored the signal.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _descendants(pid: int) -> list[tuple[int, int]]:
    """(pid, depth) of every process under `pid`, parents before their children."""
    found: list[tuple[int, int]] = []
    level, depth = [pid], 1
    while level and depth < 16:
        level = [child for parent in level for child in _children(parent)]
        found += [(child, depth) for child in level]
        depth += 1
    return found


def _children(pid: int) -> list[int]:
    # Every thread's list: a child started from a thread other than the main one is
    # listed under that thread only.
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        if not tasks or not (tasks[0] / "children").exists():
            raise FileNotFoundError("no CONFIG_PROC_CHILDREN")
        found: list[int] = []
        for task in tasks:
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                found += [int(x) for x in (task / "children").read_text().split()]
        return sorted(set(found))
    except OSError:  # no CONFIG_PROC_CHILDREN: scan every process's parent
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(stat.parent.name))
        return found


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
