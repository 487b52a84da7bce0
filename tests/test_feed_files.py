"""Table test: every tests/feeds/<name>.<ext>, read as a polled feed, must give
<name>.expected.json.

The feed is read as if fetched from https://feeds.example/<name>, with the
Content-Type the tests' HTTP server sends (tests/documents.py, `read_feed_file`).
The expected file holds what the document says of itself (`ttl` in seconds, the
`warning` of a malformed document whose entries were recovered) and `entries`:
one record per entry, in order, checked like tests/cases/ (`check_record`: the
fields given, compared exactly). Adding a feed is adding two files;
`python -m tests.make_cases` drafts the second, to be read and corrected by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.documents import FEEDS, check_record, read_expected, read_feed_file, table_inputs
from worker.readers import read_feed


@pytest.mark.parametrize("feed", table_inputs(FEEDS), ids=lambda p: p.name)
def test_feed_file(feed: Path) -> None:
    expected = read_expected(feed)
    polled, articles = read_feed_file(feed)
    assert (polled.ttl, polled.warning) == (expected["ttl"], expected["warning"])
    assert [a.title for a in articles] == [e["title"] for e in expected["entries"]]
    for article, want in zip(articles, expected["entries"], strict=True):
        check_record(article, want)


def test_header_names_are_matched_in_any_case() -> None:
    """`Content-Type` as a server spells it counts like `content-type` (its charset too)."""
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
        "<item><title>Caf\u00e9 cr\u00e8me</title><link>https://a.example/1</link></item>"
        "</channel></rss>"
    ).encode("latin-1")
    for name in ("content-type", "Content-Type", "CONTENT-TYPE"):
        polled = read_feed(
            body, url="https://feeds.example/x", headers={name: "text/xml; charset=ISO-8859-1"}
        )
        assert polled.warning is None, name
        assert [d.title for d in polled.drafts] == ["Caf\u00e9 cr\u00e8me"], name
