"""The documents the tests read, and reading them in-process (no Redis, no network).

- paths, clocks and sizes: the fixture folders, the fixed `now` of each kind of test;
- documents: RSS builders, the fault suite's numbered feeds and article files;
  `SECRET`, what no hostile document may read into a record;
- in-process reading: bytes to records with the real readers, no Redis;
- the `<name>.expected.json` tables of tests/cases/ and tests/feeds/.

The processes the tests start (the command line, redis-server, workers) are in
tests/support.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from worker.model import Article
from worker.normalise.article import normalise
from worker.readers import PolledFeed, read_document, read_feed

# --- paths, clocks and sizes -----------------------------------------------------------------

TESTS = Path(__file__).parent
FEEDS = TESTS / "feeds"
SEED = TESTS / "fixtures" / "000_debc7dd1b5340078.txt"
FEED_URL = "https://news.example/feed"
# The clock of reading and normalising: every record's `ingested_at` in the tables.
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# The clock of the feed registry and of polling, after every date in tests/feeds/.
POLL_NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MB = 1024 * 1024
# What the file the hostile tests try to read holds: it must never reach a record.
SECRET = "s3cr3t-b7d1e0-never-in-a-record"


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


def rss(item_title: str, head: str = "", body: str = "Body.") -> bytes:
    """One item in a feed; `head` (a DOCTYPE) after the XML declaration."""
    item = rss_item(item_title, link="https://news.example/1", description=body)
    return rss_document([item], head=head)


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
