"""The fault suite, part two: a store (and a broker) that refuses writes.

Redis answers the writes it will not make with an error and keeps running: at
`maxmemory` (OOM), as a replica (READONLY). Each test refuses writes in the
middle of real work (and MISCONF: a failed save, a full disk), checks that no
command hangs past its timeout or prints a
traceback, that every input is reported, then lets Redis accept writes again and
accounts for every input: one record or one dead letter each, none twice, none
lost. The lines join the fault suite's summary (docs/reliability.md).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.documents import write_articles
from tests.faults import Rig, add_feeds, settle, started_rig, stored_count
from tests.support import Process, RedisProcess
from tests.test_faults import serve_feeds
from worker.store.embedded import free_port

pytestmark = pytest.mark.slow

# Room for some of the inputs above what the server uses at the start, not for all.
HEADROOM = 1_000_000
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


def enqueue_into_a_full_store(rig: Rig) -> tuple[Process, set[str], set[str], list[dict]]:
    """A worker; 300 good files and 4 bad ones sent with `enqueue --wait --timeout 15`
    once memory is capped: (the worker, titles, bad paths, the outcome of each input)."""
    titles, bad = write_articles(rig.home / "in", 300, bad=4)
    worker = rig.worker("w1")
    rig.ready(worker)
    cap_memory(rig.redis, HEADROOM)
    started = time.monotonic()
    done = rig.cli.run("enqueue", str(rig.home / "in"), "--wait", "--timeout", "15", "--json")
    assert time.monotonic() - started < 15 + 15, "the wait ends about its timeout"
    (rig.home / "enqueue.json").write_text(done.stdout)  # for the failure's post-mortem
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    outcomes = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(outcomes) == 304  # every input reported
    return worker, titles, bad, outcomes


def test_store_full_during_an_enqueue_broker_apart(apart: Rig) -> None:
    rig = apart
    worker, titles, bad, outcomes = enqueue_into_a_full_store(rig)
    full = "not stored yet: store refuses writes (OOM "
    waiting = [o for o in outcomes if (o["error"] or "").startswith(full)]
    assert waiting, outcomes[-3:]
    assert stored_count(rig) < 300
    assert worker.alive
    free_memory(rig.redis)
    fault = f"store full (OOM) during an enqueue, broker apart ({len(waiting)} not stored in time)"
    settle(rig, fault, titles, bad, timeout=120)
    assert worker.alive
    assert "store_refuses_writes" in worker.text()
    assert "store_accepts_writes" in worker.text()


def test_store_and_broker_full_during_an_enqueue(shared: Rig) -> None:
    rig = shared
    worker, titles, bad, outcomes = enqueue_into_a_full_store(rig)
    refused = [o for o in outcomes if (o["error"] or "").startswith("not sent: broker refuses")]
    assert refused, outcomes[-3:]
    # Once the broker refuses, the rest is not sent (and said so): nothing in between.
    not_sent = [o for o in outcomes if (o["error"] or "").startswith("not sent")]
    assert not_sent == refused
    free_memory(rig.redis)
    # What was not sent stays with the user, who sends it again: then every input is in.
    done = rig.cli.run("enqueue", *(o["path"] for o in refused), "--json")
    assert done.returncode == 0, done.stderr
    fault = f"store and broker full (OOM) during an enqueue ({len(refused)} not sent, sent again)"
    settle(rig, fault, titles, bad, timeout=120)
    assert worker.alive, "a broker that refuses writes never stops the worker"


@pytest.mark.parametrize("broker", ["apart", "shared"])
def test_store_full_during_a_poll_cycle(
    broker: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    with started_rig(tmp_path, broker_apart=broker == "apart") as rig:
        poll_cycle_with_a_full_store(rig, httpserver, broker)


def poll_cycle_with_a_full_store(rig: Rig, httpserver: HTTPServer, broker: str) -> None:
    titles = serve_feeds(httpserver, 10, 20)
    add_feeds(rig, [httpserver.url_for(f"/feed/{n}") for n in range(10)])
    worker = rig.worker("w1")
    rig.ready(worker)
    cap_memory(rig.redis, 20_000)
    rig.beat("b1")
    time.sleep(8)  # polls, store writes refused; the dispatcher claims nothing more
    assert stored_count(rig) < len(titles)
    assert worker.alive
    free_memory(rig.redis)
    where = "broker apart" if broker == "apart" else "broker on the same Redis"
    settle(rig, f"store full (OOM) during a poll cycle, {where}", titles, set(), timeout=120)
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


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def bgsave_status(server: RedisProcess) -> str:
    return str(server.client().info("persistence")["rdb_last_bgsave_status"])


def test_store_that_cannot_save_refuses_writes_until_it_can(apart: Rig) -> None:
    rig = apart
    titles, bad = write_articles(rig.home / "in", 100, bad=2)
    worker = rig.worker("w1")
    rig.ready(worker)
    store = rig.redis.client()
    folder, name = store.config_get("dir")["dir"], store.config_get("dbfilename")["dbfilename"]
    blocker = Path(folder) / name
    blocker.mkdir()  # the snapshot cannot be renamed into place: the save fails
    store.bgsave()
    wait_until(lambda: bgsave_status(rig.redis) == "err", "a failed background save")
    done = rig.cli.run("enqueue", str(rig.home / "in"), "--json")
    assert done.returncode == 0, done.stderr
    time.sleep(4)
    assert stored_count(rig) == 0
    assert "MISCONF" in worker.text()
    blocker.rmdir()
    store.bgsave()
    settle(rig, "store cannot save (MISCONF), then can", titles, bad, timeout=120)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs for the store's files, where this machine lets the test mount one."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    except OSError as exc:
        pytest.skip(f"cannot mount a small tmpfs here: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_store_disk_full_under_the_append_only_file(small_disk: Path, tmp_path: Path) -> None:
    with started_rig(tmp_path, broker_apart=True, store_dir=small_disk / "redis") as rig:
        titles, bad = write_articles(rig.home / "in", 300, bad=2)
        worker = rig.worker("w1")
        rig.ready(worker)
        assert rig.cli.run("enqueue", str(rig.home / "in"), "--json").returncode == 0
        wait_until(lambda: "MISCONF" in worker.text(), "the store to refuse writes", 60)
        assert stored_count(rig) < 300
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        rig.redis.client().bgsave()
        settle(rig, "store disk full under the append-only file, then room", titles, bad, 120)
        assert worker.alive


def test_store_and_broker_turned_replica(shared: Rig) -> None:
    """A broker that turns replica refuses even BRPOP and the queue declarations Celery
    makes when it reconnects: the worker may stop (a supervisor starts it again) but
    nothing is lost, and every input sent meanwhile is reported not sent."""
    rig = shared
    titles, bad = write_articles(rig.home / "in", 40, bad=2)
    rig.ready(rig.worker("w1"))
    store = rig.redis.client()
    store.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    time.sleep(3)
    done = rig.cli.run("enqueue", str(rig.home / "in"), "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    outcomes = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(outcomes) == 42
    assert all(o["error"].startswith("not sent: broker refuses writes (READONLY") for o in outcomes)
    store.execute_command("REPLICAOF", "NO", "ONE")
    if not rig.processes[0].alive:
        rig.ready(rig.worker("w2"))
    assert rig.cli.run("enqueue", str(rig.home / "in"), "--json").returncode == 0
    settle(rig, "store and broker read-only (a replica), then primary again", titles, bad, 120)
