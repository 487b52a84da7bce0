"""`newsworker enqueue` through a real worker process and the throwaway Redis."""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import sys
import termios
from pathlib import Path

import redis
from celery import Celery
from celery.result import AsyncResult

from tests.documents import SEED
from tests.support import Worker
from worker.celery_app import build_config
from worker.settings import Settings


def client_app(worker: Worker) -> Celery:
    """A Celery client configured like the worker, to read a task's result."""
    settings = Settings(redis_url=worker.cli.env["NEWSWORKER_REDIS_URL"], key_prefix=worker.prefix)
    app = Celery("newsworker-test-client")
    app.conf.update(build_config(settings))
    return app


def test_enqueue_wait_reports_each_outcome(celery_worker: Worker, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.txt").write_text("Enqueued title A\n\nBody of the first enqueued article.\n")
    (folder / "b.md").write_text("---\ntitle: Enqueued title B\n---\n\nBody of the second one.\n")
    (folder / "empty.txt").write_bytes(b"")

    code, lines = celery_worker.cli.json_lines("enqueue", str(folder), "--wait", "--json")
    assert code == 1
    by_path = {Path(line["path"]).name: line for line in lines}
    assert by_path["a.txt"]["outcome"] == "created"
    assert by_path["b.md"]["outcome"] == "created"
    assert by_path["empty.txt"]["outcome"] == "failed"
    assert "empty" in by_path["empty.txt"]["error"]

    # Safe to repeat: the same files again are all unchanged, never a second record.
    code, lines = celery_worker.cli.json_lines("enqueue", str(folder / "*.*"), "--wait", "--json")
    outcomes = {Path(line["path"]).name: line["outcome"] for line in lines}
    assert outcomes == {"a.txt": "unchanged", "b.md": "unchanged", "empty.txt": "failed"}


def test_stdin_and_seed(celery_worker: Worker, redis_server) -> None:
    code, lines = celery_worker.cli.json_lines(
        "enqueue", "-", "--wait", "--json", input=SEED.read_bytes()
    )
    assert code == 0, lines
    assert lines[0]["path"] == "-"
    assert lines[0]["outcome"] in ("created", "unchanged")
    client: redis.Redis = redis_server.client()
    record = json.loads(client.get(f"{celery_worker.prefix}article:{lines[0]['id']}"))
    assert record["authors"][0]["handles"] == ["@decampdave"]


def test_contents_travel_in_the_message(celery_worker: Worker, tmp_path: Path) -> None:
    """The worker does not read the enqueuer's file: it may be gone by the time the task runs."""
    path = tmp_path / "gone.txt"
    path.write_text("Title of a file that vanishes\n\nIts body paragraph.\n")
    done = celery_worker.cli.run("enqueue", str(path), "--json")
    assert done.returncode == 0
    queued = json.loads(done.stdout)
    assert queued["outcome"] == "queued"
    path.unlink()
    result = AsyncResult(queued["task_id"], app=client_app(celery_worker)).get(timeout=60)
    assert result[0]["outcome"] == "created"


def test_over_the_cap_is_refused_before_sending(celery_worker: Worker, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("Big title\n\n" + "word " * 20_000)  # over the worker fixture's 64 KiB cap
    code, lines = celery_worker.cli.json_lines("enqueue", str(big), "--wait", "--json")
    assert code == 1
    assert "limit" in lines[0]["error"]


def test_bad_input_lands_in_dead_letters(celery_worker: Worker, tmp_path: Path) -> None:
    bad = tmp_path / "garbage.txt"
    bad.write_bytes(b"\x00\x01\x02\x03" * 100)
    code, lines = celery_worker.cli.json_lines("enqueue", str(bad), "--wait", "--json")
    assert code == 1
    code, failures = celery_worker.cli.json_lines("failed", "list", "--json")
    assert code == 0
    entry = next(f for f in failures if f["input"] == str(bad.resolve()))
    assert "binary" in entry["reason"]
    assert entry["failed_at"].endswith("Z")

    # The worker survived: it still stores good input.
    good = tmp_path / "fine.txt"
    good.write_text("Still alive\n\nThe worker keeps going after bad input.\n")
    code, lines = celery_worker.cli.json_lines("enqueue", str(good), "--wait", "--json")
    assert code == 0
    assert lines[0]["outcome"] == "created"


def test_every_step_is_logged_as_json(celery_worker: Worker, tmp_path: Path) -> None:
    path = tmp_path / "logged.txt"
    path.write_text("Logged title\n\nA body for the log test.\n")
    code, _lines = celery_worker.cli.json_lines("enqueue", str(path), "--wait", "--json")
    assert code == 0
    events = [e for e in celery_worker.log_events() if e.get("input") == str(path)]
    steps = {e["event"]: e for e in events}
    for name in ("read", "parse", "normalise", "store"):
        assert name in steps, f"no {name} event in {events}"
        assert steps[name]["task_id"]
        assert isinstance(steps[name]["duration_ms"], float)
        assert steps[name]["outcome"] == "ok"
    assert steps["store"]["created"] == 1
    # Celery's own records go through the same JSON renderer.
    assert any(e.get("logger", "").startswith("celery") for e in celery_worker.log_events())
    # Never a whole body in the logs.
    assert "A body for the log test" not in celery_worker.process.text()


def test_status_reports_workers_queues_and_counts(celery_worker: Worker) -> None:
    done = celery_worker.cli.run("status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["workers"], status
    assert set(status["feeds"]) == {"total", "ok", "error", "broken", "disabled"}
    assert status["queues"]["newsworker"] >= 0
    assert isinstance(status["articles"], int)
    assert isinstance(status["failed"], int)
    assert status["memory"]["used_bytes"] > 0


def test_failed_retry_sends_the_file_again(celery_worker: Worker, tmp_path: Path) -> None:
    path = tmp_path / "fixed-later.txt"
    path.write_bytes(b"")
    code, _ = celery_worker.cli.json_lines("enqueue", str(path), "--wait", "--json")
    assert code == 1
    _, failures = celery_worker.cli.json_lines("failed", "list", "--json")
    entry = next(f for f in failures if f["input"] == str(path.resolve()))

    path.write_text("Fixed title\n\nThe editor fixed the file and retried it.\n")
    code, lines = celery_worker.cli.json_lines("failed", "retry", entry["id"], "--wait", "--json")
    assert code == 0, lines
    assert lines[0]["outcome"] == "created"
    _, failures = celery_worker.cli.json_lines("failed", "list", "--json")
    assert all(f["id"] != entry["id"] for f in failures)
    assert celery_worker.cli.run("failed", "retry").returncode == 2


def test_progress_bar_on_a_terminal_and_json_alone_on_stdout(
    celery_worker: Worker, tmp_path: Path
) -> None:
    for n in range(3):
        (tmp_path / f"p{n}.txt").write_text(f"Progress title {n}\n\nBody of article {n}.\n")
    primary, secondary = os.openpty()
    # A new pseudo-terminal is 0 columns wide, and tqdm draws nothing in 0 columns.
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "worker", "enqueue", str(tmp_path), "--wait", "--json"],
            env=celery_worker.cli.env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=120,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert done.returncode == 0
    assert "enqueue" in terminal and "stored" in terminal and "100%" in terminal, terminal
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [line["outcome"] for line in lines] == ["created"] * 3


def test_a_message_that_keeps_killing_workers_is_set_aside(
    celery_worker: Worker, tmp_path: Path
) -> None:
    """After 5 deliveries that never finished, the 6th records a dead letter instead."""
    import uuid

    from worker.model import InputFile
    from worker.tasks import file_payload

    path = tmp_path / "poison.txt"
    path.write_text("A poison title\n\nA body that killed its worker five times.\n")
    task_id = str(uuid.uuid4())
    client = redis.Redis.from_url(celery_worker.cli.env["NEWSWORKER_REDIS_URL"])
    # What five deliveries that died mid-task leave behind.
    client.set(f"{celery_worker.prefix}deliveries:{task_id}:0", 5)
    payload = file_payload(InputFile(str(path), path.read_bytes(), str(path.resolve())))
    app = client_app(celery_worker)
    app.send_task("newsworker.ingest_file", args=[payload], task_id=task_id)
    result = AsyncResult(task_id, app=app).get(timeout=60)
    assert result[0]["outcome"] == "failed"
    assert "6 deliveries" in result[0]["error"]
    code, failures = celery_worker.cli.json_lines("failed", "list", "--json")
    assert code == 0
    entry = next(f for f in failures if f["input"] == str(path.resolve()))
    assert "worker died or hung" in entry["reason"]
