"""Documents far over the size caps, and the caps at their edges: the reader with a
large feed, files, standard input and the fetcher (200 MB bodies, gzip bombs served
as files). Each is refused in bounded memory or read whole.

The fetcher's own caps (endless, chunked and compressed bodies): tests/test_fetch_limits.py.
"""

from __future__ import annotations

import gzip
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.documents import FEED_URL, MB, NOW, ingest, rss_document, rss_item
from worker.errors import BadInput, FetchError, ParseError
from worker.inputs.fetch import FetchConfig, Fetcher
from worker.inputs.files import InputRef, read_input
from worker.readers import read_feed
from worker.settings import Settings

# --- size: the reader with a large document, the caps at their edges --------------------


def big_feed(size: int) -> bytes:
    body = "Words of the article body. " * 40
    items: list[str] = []
    total = 0
    while total < size:
        n = len(items) + 1
        link = f"https://news.example/a/{n}"
        items.append(
            rss_item(f"Headline {n}", guid=f"g-{n}", link=link, published=NOW, description=body)
        )
        total += len(items[-1])
    return rss_document(items, title="Big")


def test_large_feed_is_read_whole() -> None:
    data = big_feed(8 * MB)
    started = time.perf_counter()
    feed = read_feed(data, url=FEED_URL)
    assert len(feed.drafts) == data.count(b"<item>") > 4000
    assert time.perf_counter() - started < 60.0


def test_default_caps() -> None:
    assert Settings.model_fields["max_file_bytes"].default == 10 * MB
    assert Settings.model_fields["max_feed_bytes"].default == 15 * MB
    assert FetchConfig().max_bytes == 15 * MB


def write_sparse(path: Path, size: int, head: bytes) -> Path:
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def test_200mb_file_is_refused_unread(
    tmp_path: Path, no_root: None, peak_memory: Callable[[], int]
) -> None:
    path = write_sparse(tmp_path / "huge.xml", 200 * MB, b"<rss version='2.0'><channel>")
    with pytest.raises(BadInput, match=f"is {200 * MB} bytes, over the {10 * MB}-byte limit"):
        read_input(InputRef(str(path), path), max_bytes=10 * MB)
    assert peak_memory() < 2 * MB


def test_file_cap_edge(tmp_path: Path, no_root: None) -> None:
    cap = 10 * MB
    path = write_sparse(tmp_path / "edge.txt", cap, b"Title\n\n")
    assert len(read_input(InputRef(str(path), path), max_bytes=cap).data) == cap
    write_sparse(path, cap + 1, b"Title\n\n")
    with pytest.raises(BadInput, match="over the"):
        read_input(InputRef(str(path), path), max_bytes=cap)


class Endless(io.RawIOBase):
    """A standard input that never ends."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:] = b"x" * len(buffer)
        return len(buffer)


def test_endless_stdin_stops_at_cap(peak_memory: Callable[[], int]) -> None:
    with pytest.raises(BadInput, match="over the 1048576-byte limit"):
        read_input(InputRef("-", None), max_bytes=MB, stdin=io.BufferedReader(Endless()))
    assert peak_memory() < 8 * MB


def test_200mb_feed_through_the_fetcher(http: HTTPServer, peak_memory: Callable[[], int]) -> None:
    def feed() -> Iterator[bytes]:
        yield b"<rss version='2.0'><channel><title>Huge</title>"
        chunk = b"<item><title>x</title></item>" * 2048
        for _ in range(200 * MB // len(chunk)):
            yield chunk

    response = Response(feed(), headers={"Content-Length": str(200 * MB)})
    http.expect_request("/huge").respond_with_response(response)
    fetcher = Fetcher(FetchConfig(allow_private_networks=True, total_timeout=30))
    try:
        with pytest.raises(FetchError, match=f"over the {15 * MB}-byte limit"):
            fetcher.fetch(http.url_for("/huge"))
    finally:
        fetcher.close()
    assert peak_memory() < 80 * MB


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_fetch_cap_edge(http: HTTPServer, encoding: str) -> None:
    cap = 100_000
    fetcher = Fetcher(FetchConfig(allow_private_networks=True, total_timeout=10, max_bytes=cap))
    try:
        for size, fits in ((cap, True), (cap + 1, False)):
            body = b"x" * size
            headers = {"Content-Encoding": "gzip"} if encoding == "gzip" else {}
            http.clear()
            http.expect_request("/edge").respond_with_data(
                gzip.compress(body) if encoding == "gzip" else body, headers=headers
            )
            if fits:
                assert fetcher.fetch(http.url_for("/edge")).body == body
            else:
                with pytest.raises(FetchError, match=f"over the {cap}-byte limit"):
                    fetcher.fetch(http.url_for("/edge"))
    finally:
        fetcher.close()


def test_gzip_bomb_without_content_encoding(http: HTTPServer) -> None:
    # Served as a file, not a transfer encoding: the fetcher passes the bytes on, and
    # the readers must not inflate them. (Content-Encoding bombs: tests/test_fetch_limits.py.)
    bomb = gzip.compress(bytes(50 * MB), compresslevel=9)
    http.expect_request("/feed.xml.gz").respond_with_data(bomb, content_type="application/rss+xml")
    fetcher = Fetcher(FetchConfig(allow_private_networks=True, total_timeout=10))
    try:
        result = fetcher.fetch(http.url_for("/feed.xml.gz"))
    finally:
        fetcher.close()
    assert result.body == bomb
    with pytest.raises(ParseError):
        read_feed(result.body, url=FEED_URL, headers=result.headers)
    with pytest.raises(BadInput, match="gzip"):
        ingest(bomb)
