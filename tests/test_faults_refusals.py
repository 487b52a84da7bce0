"""The fault suite, part two: a store (and a broker) that refuses writes.

Redis answers the writes it will not make with an error and keeps running: at
`maxmemory` (OOM), as a replica (READONLY). Each test refuses writes in the
middle of real work, checks that no command hangs past its timeout or prints a
traceback, that every input is reported, then lets Redis accept writes again and
accounts for every input: one record or one dead letter each, none twice, none
lost. The lines join the fault suite's summary (docs/reliability.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.documents import write_articles
from tests.faults import Rig, add_feeds, settle, started_rig, stored_count
from tests.support import RedisProcess
from tests.test_faults import serve_feeds
from worker.store.embedded import free_port

pytestmark = pytest.mark.slow

# About a hundred small records' worth of memory above what the server uses at the start.
HEADROOM = 300_000
OOM = "store refuses writes (OOM command not allowed when used memory > 'maxmemory'"


@pytest.fixture
def apart(tmp_path: Path) -> Iterator[Rig]:
    with started_rig(tmp_path, broker_apart=True) as rig:
        yield rig


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Rig]:
    with started_rig(tmp_path) as rig:
        yield rig


def cap_memory(server: RedisProcess, headroom: int) -> None:
    client = server.client()
    client.config_set("maxmemory", int(client.info("memory")["used_memory"]) + headroom)


def free_memory(server: RedisProcess) -> None:
    server.client().config_set("maxmemory", 0)


def enqueue_wait(rig: Rig, folder: Path, timeout: float) -> tuple[list[dict], float]:
    started = time.monotonic()
    done = rig.cli.run("enqueue", str(folder), "--wait", "--timeout", str(timeout), "--json")
    took = time.monotonic() - started
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], took


def test_store_full_during_an_enqueue_broker_apart(apart: Rig) -> None:
    rig = apart
    titles, bad = write_articles(rig.home / "in", 300, bad=4)
    worker = rig.worker("w1")
    rig.ready(worker)
    cap_memory(rig.redis, HEADROOM)
    outcomes, took = enqueue_wait(rig, rig.home / "in", timeout=15)
    assert took < 15 + 15, "the wait ends about its timeout (plus start-up and sending)"
    assert len(outcomes) == 304  # every input reported
    waiting = [o for o in outcomes if (o["error"] or "").startswith(f"not stored yet: {OOM}")]
    assert waiting, outcomes[-3:]
    assert stored_count(rig) < 300
    assert worker.alive
    free_memory(rig.redis)
    fault = (
        f"store full (OOM) during an enqueue, broker apart ({len(waiting)} waiting at --wait's end)"
    )
    settle(rig, fault, titles, bad, timeout=120)
    assert worker.alive
    assert "store_refuses_writes" in worker.text()
    assert "store_accepts_writes" in worker.text()


def test_store_and_broker_full_during_an_enqueue(shared: Rig) -> None:
    rig = shared
    titles, bad = write_articles(rig.home / "in", 300, bad=4)
    worker = rig.worker("w1")
    rig.ready(worker)
    cap_memory(rig.redis, HEADROOM)
    outcomes, _ = enqueue_wait(rig, rig.home / "in", timeout=15)
    assert len(outcomes) == 304
    refused = [o for o in outcomes if (o["error"] or "").startswith("not sent: broker refuses")]
    assert refused, outcomes[-3:]
    free_memory(rig.redis)
    # What was not sent stays with the user, who sends it again: then every input is in.
    done = rig.cli.run("enqueue", *(o["path"] for o in refused), "--json")
    assert done.returncode == 0, done.stderr
    fault = f"store and broker full (OOM) during an enqueue ({len(refused)} not sent, sent again)"
    settle(rig, fault, titles, bad, timeout=120)
    assert worker.alive, "a broker that refuses writes never stops the worker"


def test_store_full_during_a_poll_cycle(apart: Rig, httpserver: HTTPServer) -> None:
    rig = apart
    titles = serve_feeds(httpserver, 10, 20)
    add_feeds(rig, [httpserver.url_for(f"/feed/{n}") for n in range(10)])
    cap_memory(rig.redis, 20_000)
    worker = rig.worker("w1")
    rig.ready(worker)
    rig.beat("b1")
    time.sleep(8)  # polls, store writes refused; the dispatcher claims nothing more
    assert stored_count(rig) < len(titles)
    assert worker.alive
    free_memory(rig.redis)
    settle(rig, "store full (OOM) during a poll cycle", titles, set(), timeout=120)
    code, feeds = rig.cli.json_lines("feeds", "list", "--json")
    assert code == 0 and all(f["status"] == "ok" for f in feeds), feeds


def test_store_turned_replica_then_primary_again(apart: Rig) -> None:
    rig = apart
    titles, bad = write_articles(rig.home / "in", 60, bad=2)
    worker = rig.worker("w1")
    rig.ready(worker)
    # A replica of a primary that does not answer keeps its data and refuses writes.
    store = rig.redis.client()
    store.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    done = rig.cli.run("enqueue", str(rig.home / "in"), "--json")
    assert done.returncode == 0, done.stderr
    time.sleep(5)
    assert stored_count(rig) == 0
    assert "READONLY" in worker.text()
    store.execute_command("REPLICAOF", "NO", "ONE")
    settle(rig, "store read-only (a replica), then primary again", titles, bad, timeout=120)


def test_ingest_into_a_full_store_says_not_stored(shared: Rig) -> None:
    rig = shared
    write_articles(rig.home / "in", 5)
    rig.redis.client().config_set("maxmemory", 1)
    done = rig.cli.run("ingest", str(rig.home / "in"), "--json")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 5
    assert all(line["error"].startswith(f"not stored: {OOM}") for line in lines), lines


def test_status_warns_from_80_percent_and_names_what_holds_the_memory(shared: Rig) -> None:
    rig = shared
    write_articles(rig.home / "in", 40)
    assert rig.cli.run("ingest", str(rig.home / "in")).returncode == 0
    code, [before] = rig.cli.json_lines("status", "--json")
    assert code == 0 and before["warnings"] == []
    holders = before["memory"]["holders"]
    assert holders["records"] > 40 * 500 and holders["indexes"] > 0 and holders["stream"] > 0
    assert "broker" in holders  # the broker is this server too
    used = before["memory"]["used_bytes"]
    rig.redis.client().config_set("maxmemory", int(used / 0.85))
    done = rig.cli.run("status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    [warning] = status["warnings"]
    assert status["memory"]["used_percent"] >= 80
    assert "of maxmemory" in warning and "Held by: records" in warning
    assert f"warning: {warning}" in done.stderr
