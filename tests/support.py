"""What the tests share, apart from fixtures (conftest.py builds those from this module).

- paths and clocks: the fixture folders and the fixed `now` of each kind of test;
- documents: RSS builders, the fault suite's numbered feeds and article files;
- in-process reading: bytes to records with the real readers, no Redis;
- the `<name>.expected.json` tables of tests/cases/ and tests/feeds/;
- processes: environments, the command line, redis-server, workers and schedulers.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import redis
from pytest_httpserver import HTTPServer

from worker.model import Article
from worker.normalise.article import normalise
from worker.readers import PolledFeed, read_document, read_feed
from worker.store.embedded import free_port, start_redis_server, stop_redis_server, wait_until_ready

# --- paths and clocks -------------------------------------------------------------------------

TESTS = Path(__file__).parent
FEEDS = TESTS / "feeds"
SEED = TESTS / "fixtures" / "000_debc7dd1b5340078.txt"
FEED_URL = "https://news.example/feed"
# The clock of reading and normalising: every record's `ingested_at` in the tables.
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# The clock of the feed registry and of polling, after every date in tests/feeds/.
POLL_NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


# --- documents --------------------------------------------------------------------------------


def rss_item(
    title: str | None = None,
    *,
    guid: str | None = None,
    link: str | None = None,
    published: datetime | None = None,
    description: str | None = None,
) -> str:
    """One RSS <item>; the values go in as given, markup and entity references included."""
    parts = [
        f"<title>{title}</title>" if title is not None else "",
        f"<guid>{guid}</guid>" if guid is not None else "",
        f"<link>{link}</link>" if link is not None else "",
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>" if published else "",
        f"<description>{description}</description>" if description is not None else "",
    ]
    return f"<item>{''.join(parts)}</item>"


def rss_document(
    items: Iterable[str] = (), *, title: str = "F", channel: str = "", head: str = ""
) -> bytes:
    """An RSS 2.0 document: `head` (a DOCTYPE) after the XML declaration, `channel`
    (link, description, ttl) before the items."""
    return (
        f"<?xml version='1.0'?>\n{head}<rss version='2.0'><channel><title>{title}</title>"
        f"{channel}{''.join(items)}</channel></rss>"
    ).encode()


def feed_document(feed: int, entries: int) -> bytes:
    """Feed number `feed` with `entries` entries, titled "Feed {feed} entry {j}"."""
    return rss_document(
        (
            rss_item(
                f"Feed {feed} entry {j}",
                guid=f"f{feed}-{j}",
                link=f"https://feeds.example/{feed}/{j}",
                description=f"Entry {j} of feed {feed}, a story about the council.",
            )
            for j in range(entries)
        ),
        title=f"Feed {feed}",
        channel=f"<link>https://feeds.example/{feed}</link><description>x</description>",
    )


def write_articles(folder: Path, count: int, *, bad: int = 0) -> tuple[set[str], set[str]]:
    """`count` good article files and `bad` unparseable ones: (titles, bad paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    titles = set()
    for n in range(count):
        title = f"Fault article {n}"
        body = " ".join(f"Sentence {k} of article {n} about the harbour." for k in range(20))
        (folder / f"a{n:04d}.txt").write_text(
            f"{title}\n\nURL: https://files.example/a/{n}\n\n{body}\n"
        )
        titles.add(title)
    bad_paths = set()
    for n in range(bad):
        path = folder / f"bad{n}.txt"
        path.write_bytes(b"" if n % 2 else b"\x00\x01binary\x00" * 10)
        bad_paths.add(str(path.resolve()))
    return titles, bad_paths


def feed_content_type(name: str) -> str:
    """What the tests' HTTP server says a file of tests/feeds/ is."""
    return "application/feed+json" if name.endswith(".json") else "application/rss+xml"


def serve_feed(
    httpserver: HTTPServer,
    name: str,
    path: str = "/feed",
    *,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """Serve tests/feeds/`name` at `path`; its URL."""
    httpserver.expect_request(path).respond_with_data(
        (FEEDS / name).read_bytes(),
        content_type=content_type or feed_content_type(name),
        headers=dict(headers or {}),
    )
    return httpserver.url_for(path)


# --- in-process reading -----------------------------------------------------------------------


def ingest(data: bytes, name: str = "f.xml", *, folder: str = "/srv") -> list[Article]:
    """The records of one input file, read and normalised at NOW (nothing stored).

    The file's path is a fixed, fake `folder/name`, so ids and file:// URIs are the
    same on every machine.
    """
    drafts = read_document(data, name=name, path=f"{folder}/{name}")
    return [normalise(draft, now=NOW) for draft in drafts]


def read_feed_file(feed: Path) -> tuple[PolledFeed, list[Article]]:
    """A file of tests/feeds/ read as if polled from https://feeds.example/<name> (with
    the Content-Type the test server sends), and its entries normalised at NOW."""
    # Lower-case names, as the fetcher hands them on.
    headers = {"content-type": feed_content_type(feed.name)}
    polled = read_feed(feed.read_bytes(), url=f"https://feeds.example/{feed.name}", headers=headers)
    return polled, [normalise(draft, now=NOW) for draft in polled.drafts]


# --- tables: an input beside its <name>.expected.json -----------------------------------------

EXPECTED_SUFFIX = ".expected.json"


def table_inputs(folder: Path) -> list[Path]:
    """The inputs of a table folder: every file but the expected ones."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.endswith(EXPECTED_SUFFIX)
    )


def expected_path(case: Path) -> Path:
    stem = case.name.rsplit(".", 1)[0] if "." in case.name else case.name
    return case.parent / f"{stem}{EXPECTED_SUFFIX}"


def read_expected(case: Path) -> Any:
    """What `case` must read to: the JSON of the expected file beside it."""
    expected_file = expected_path(case)
    assert expected_file.exists(), f"{case.name} has no {expected_file.name}"
    return json.loads(expected_file.read_text(encoding="utf-8"))


def check_record(article: Article, want: dict[str, Any]) -> None:
    """`article` against one expected record: the fields it names, compared exactly
    (for `source`, only the keys given), and the checks on long text:
    `body_startswith`, `body_endswith`, `body_excludes` (list), `body_paragraphs`
    (count) and `author_names`. Then what DESIGN.md promises of every record."""
    record = article.model_dump(mode="json")
    body = record["body"]
    for key, value in want.items():
        if key == "body_startswith":
            assert body.startswith(value), body[:200]
        elif key == "body_endswith":
            assert body.endswith(value), body[-200:]
        elif key == "body_excludes":
            for fragment in value:
                assert fragment not in body, f"{fragment!r} in body"
        elif key == "body_paragraphs":
            assert len(body.split("\n\n")) == value, body
        elif key == "author_names":
            assert [a["name"] for a in record["authors"]] == value
        elif key == "source":
            assert {k: record["source"][k] for k in value} == value
        else:
            assert record[key] == value, key
    _check_invariants(record)


def _check_invariants(record: dict[str, Any]) -> None:
    assert record["ingested_at"] == record["modified_at"] == "2024-05-01T12:00:00Z"
    assert "\n\n\n" not in record["body"] and "\r" not in record["body"]
    for key, value in record.items():
        assert value != "", f"{key} is an empty string, not null"
    for author in record["authors"]:
        assert author["bio"] != ""
        assert all(h.startswith("@") for h in author["handles"])


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


def wait_ready(process: Process, client: redis.Redis, prefix: str, timeout: float = 60) -> None:
    """Until the worker has bound its queue and said it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.alive, process.text()[-4000:]
        # kombu records the queue binding once the consumer is set up.
        if "ready" in process.text() and client.exists(f"{prefix}_kombu.binding.newsworker"):
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
