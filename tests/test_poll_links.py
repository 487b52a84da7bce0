"""Relative entry links in a polled feed, in-process against a local HTTP server: they
resolve against where the document was found (after redirects) and its `xml:base`.
The same documents read without a server are in the table of tests/feeds/."""

from __future__ import annotations

import pytest
import redis
from pytest_httpserver import HTTPServer

from tests.documents import POLL_NOW as NOW
from tests.documents import serve_feed
from tests.polling import add, records
from worker.polling.poll import Poller


def _urls(client: redis.Redis, prefix: str) -> dict[str, str | None]:
    return {r["title"]: r["url"] for r in records(client, prefix)}


# Expected URLs: a path is on the test server; None is no URL.
@pytest.mark.parametrize(
    ("fixture", "served_at", "expected"),
    [
        (
            "relative_links.xml",
            "/quay/feed.xml",
            {
                "Ferry timetable changes from Monday": "/news/2024/ferry-timetable",
                "Harbour wall repairs finished": "/quay/posts/harbour-wall.html",
                "Fish market moves indoors": None,  # its guid "4512" is an id, not a link
                "Lifeboat crew honoured": "https://lifeboats.example/2024/crew-honoured",
            },
        ),
        (
            # The feed's xml:base is "/blog/", relative to the feed's URL; one entry
            # has an absolute xml:base of its own.
            "xml_base.atom",
            "/feeds/harbour",
            {
                "Winter dredging is over": "/blog/2024/03/dredging",
                "Tide tables for April": "https://mirror.example/harbour/tides/april",
            },
        ),
    ],
)
def test_relative_links_resolve_against_the_feed_url_and_xml_base(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str,
    fixture: str, served_at: str, expected: dict[str, str | None],
) -> None:  # fmt: skip
    feed_id = add(poller, serve_feed(httpserver, fixture, served_at))
    assert poller.poll(feed_id, now=NOW).new == len(expected)
    on_server = {k: httpserver.url_for(v) if v and v[0] == "/" else v for k, v in expected.items()}
    assert _urls(rclient, prefix) == on_server


@pytest.mark.parametrize("status", [301, 302])
def test_relative_links_resolve_against_the_url_after_redirects(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str, status: int
) -> None:
    httpserver.expect_request("/old/feed").respond_with_data(
        "", status=status, headers={"Location": "/moved/feed.xml"}
    )
    serve_feed(httpserver, "relative_links.xml", "/moved/feed.xml")
    feed_id = add(poller, httpserver.url_for("/old/feed"))
    assert poller.poll(feed_id, now=NOW).new == 4
    urls = _urls(rclient, prefix)
    assert urls["Harbour wall repairs finished"] == httpserver.url_for(
        "/moved/posts/harbour-wall.html"
    )
    assert urls["Ferry timetable changes from Monday"] == httpserver.url_for(
        "/news/2024/ferry-timetable"
    )
    # Only a permanent move changes the feed's URL; the links follow the document.
    moved = status == 301
    url = poller.svc.feeds.get(feed_id).url
    assert url == httpserver.url_for("/moved/feed.xml" if moved else "/old/feed")
