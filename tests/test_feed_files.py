"""Table test: every tests/feeds/<name>.<ext>, read as a polled feed, must give
<name>.expected.json.

The feed is read as if fetched from https://feeds.example/<name>, with the
Content-Type the tests' HTTP server sends (tests/support.py, `read_feed_file`).
The expected file holds what the document says of itself (`ttl` in seconds, the
`warning` of a malformed document whose entries were recovered) and `entries`:
one record per entry, in order, checked like tests/cases/ (`check_record`: the
fields given, compared exactly). Adding a feed is adding two files;
`python -m tests.make_cases` drafts the second, to be read and corrected by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import FEEDS, check_record, read_expected, read_feed_file, table_inputs


@pytest.mark.parametrize("feed", table_inputs(FEEDS), ids=lambda p: p.name)
def test_feed_file(feed: Path) -> None:
    expected = read_expected(feed)
    polled, articles = read_feed_file(feed)
    assert (polled.ttl, polled.warning) == (expected["ttl"], expected["warning"])
    assert [a.title for a in articles] == [e["title"] for e in expected["entries"]]
    for article, want in zip(articles, expected["entries"], strict=True):
        check_record(article, want)
