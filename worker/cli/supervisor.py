"""The processes `run` and `worker` start by default, one per role, kept running.

- `files`: a Celery worker on the main queue with the prefork pool, one child per
  core: file ingests (CPU-bound), the dispatcher and retention.
- `polls`: Celery workers on the poll queue with the threads pool, one per core
  (NEWSWORKER_POLL_PROCESSES): each works on several poll batches at once over
  its fetch threads (worker/polling/batch.py).
- `beat`: the scheduler (`run` only).

Each is `python -m worker worker --role ROLE` (or `beat`) with this process's
environment, the embedded Redis's URL included. SIGTERM or SIGINT is passed on
as SIGTERM (a warm shutdown: tasks under way finish) and waited for. A process
that dies is started again after a pause that doubles up to 30 s, as a pool
replaces a lost child. Each child gets SIGTERM when the supervisor dies, even by
SIGKILL (PR_SET_PDEATHSIG), so no worker outlives it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

from worker.log import get_logger

log = get_logger("newsworker.supervisor")

_PR_SET_PDEATHSIG = 1
_RESTART_MAX = 30.0  # seconds between two starts of a process that keeps dying
_STEADY = 60.0  # a process that ran this long is healthy again: its backoff resets


@dataclass
class Role:
    name: str
    argv: list[str]  # after `python -m worker`
    popen: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None


def _die_with_parent(parent: int) -> None:  # in the child, between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the supervisor died before the line above
        os._exit(1)


def _start(role: Role, env: dict[str, str]) -> None:
    argv = [sys.executable, "-m", "worker", *role.argv]
    parent = os.getpid()
    preexec = (lambda: _die_with_parent(parent)) if sys.platform.startswith("linux") else None
    role.popen = subprocess.Popen(argv, env=env, preexec_fn=preexec)
    role.started = time.monotonic()
    role.restart_at = None
    log.info("process_started", role=role.name, pid=role.popen.pid)


def _signal_all(roles: list[Role], signum: int) -> None:
    for role in roles:
        if role.popen is not None and role.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                role.popen.send_signal(signum)


def supervise(roles: list[Role], env: dict[str, str]) -> int:
    """Run every role until SIGTERM or SIGINT; 0 once all have stopped.

    The first signal is passed on as SIGTERM (Celery's warm shutdown), a second
    one as SIGQUIT (its cold shutdown: the work under way goes back to the broker).
    """
    stop: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.append(signum)
        _signal_all(roles, signal.SIGTERM if len(stop) == 1 else signal.SIGQUIT)

    previous: dict[int, Any] = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        for role in roles:
            if stop:
                break
            _start(role, env)
        while not stop:
            _keep_running(roles, env)
            time.sleep(0.2)
        # A process started while the signal was being handled has not had it yet.
        _signal_all(roles, signal.SIGTERM)
        for role in roles:
            if role.popen is not None:
                role.popen.wait()
        log.info("stopped", signal=signal.Signals(stop[0]).name)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _keep_running(roles: list[Role], env: dict[str, str]) -> None:
    now = time.monotonic()
    for role in roles:
        assert role.popen is not None
        if role.restart_at is not None:
            if now >= role.restart_at:
                _start(role, env)
            continue
        code = role.popen.poll()
        if code is None:
            continue
        role.failures = 1 if now - role.started >= _STEADY else role.failures + 1
        delay = min(2.0 ** (role.failures - 1), _RESTART_MAX)
        role.restart_at = now + delay
        log.warning(
            "process_exited", role=role.name, pid=role.popen.pid, code=code, restart_in=delay
        )


def poll_processes(configured: int | None) -> int:
    if configured:
        return configured
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on (Linux)
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1
