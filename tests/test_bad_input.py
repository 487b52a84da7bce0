"""Inputs that can never become records: each fails with BadInput and a clear reason.

Pure level (read_document + normalise, no Redis). The property test at the end
feeds arbitrary bytes in: the only acceptable failure is a BadInput.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.documents import FEEDS, NOW, ingest, rss_document, rss_item
from worker.errors import BadInput, ParseError
from worker.normalise.article import normalise
from worker.readers import read_document, read_feed


def _random_bytes_with_nuls() -> bytes:
    rng = random.Random(1234)
    return bytes(rng.randrange(256) for _ in range(2048)) + b"\x00\x00"


# Feed entries with nothing a title could come from: no title, text or link.
RSS_NOTHING = rss_document([rss_item(published=NOW)])
RSS_THIRD_NOTHING = rss_document(
    [
        rss_item("One", guid="g-1", description="Body."),
        rss_item("Two", guid="g-2", description="Body."),
        rss_item(guid="g-3", published=NOW),
    ]
)
JSON_FEED_NOTHING = (
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "F", "items": ['
    b'{"id": "i-1", "title": "One", "content_text": "Body."}, {"id": "i-2", "tags": ["x"]}]}'
)
EMPTY_RSS = rss_document()
# No entries, and an error feedparser read past (the bare "&" in the title).
EMPTY_MALFORMED_RSS = rss_document(title="Quiet &amp Empty")
EMPTY_ATOM = b"<feed xmlns='http://www.w3.org/2005/Atom'><title>F</title></feed>"
EMPTY_JSON_FEED = b'{"version": "https://jsonfeed.org/version/1.1", "title": "F", "items": []}'
# Mostly bytes that are undefined in Windows-1252 and invalid in UTF-8.
UNDECODABLE = b"ab \x81\x8d\x8f\x90\x9d\x81\x8d\x8f\x90\x9d" * 20
BAD_INPUTS = [
    # (file name, bytes, expected error class, message fragment)
    pytest.param("a.txt", b"", BadInput, "empty", id="empty"),
    pytest.param("a.txt", b"  \r\n\t\n   \n", BadInput, "empty", id="whitespace"),
    pytest.param("a.txt", "   \n \n".encode("utf-16"), BadInput, "empty", id="utf16-blank"),
    pytest.param("a.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40, BadInput, "PNG",
                 id="png"),
    pytest.param("paper", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", BadInput, "PDF", id="pdf"),
    pytest.param("a.json", b"\x1f\x8b\x08\x00" + bytes(range(200)), BadInput, "gzip", id="gzip"),
    pytest.param("a.bin", _random_bytes_with_nuls(), BadInput, "binary", id="random-nuls"),
    pytest.param("a.txt", bytes(range(1, 9)) * 50, BadInput, "binary", id="controls"),
    pytest.param("a.txt", b"\xef\xbb\xbfTitle\n\nBody \xff\xfe\xfd", BadInput, "undecodable",
                 id="bad-bom"),
    pytest.param("f.xml", b"<?xml version='1.0'?><rss version='2.0'><channel><t", ParseError,
                 "line 1", id="feed-truncated"),
    pytest.param("f.xml", b"<?xml version='1.0'?><note><to>x</to></note>", ParseError,
                 "not a feed", id="xml-not-feed"),
    pytest.param("r.json", b'{"title": "x",\n  "body": ', ParseError, "line 2", id="json-broken"),
    pytest.param("r.ndjson", b'{"title": "a", "body": "b"}\n{"title": oops}\n', ParseError,
                 "line 2", id="ndjson-broken"),
    pytest.param("r.json", b"[" * 100_000 + b"]" * 100_000, ParseError, "JSON", id="json-deep"),
    pytest.param("r.json", b"[1, 2]", BadInput, "not a record", id="json-not-object"),
    pytest.param("r.json", b'{"id": "abc", "body": "text"}', BadInput, "no title",
                 id="json-no-title"),
    pytest.param("a.md", b"---\ntitle: [unclosed\n---\nBody.\n", ParseError, "bad YAML",
                 id="yaml-broken"),
    pytest.param("a.md", b"---\n- a\n- b\n---\nBody.\n", ParseError, "not a mapping",
                 id="yaml-not-mapping"),
    pytest.param("a.txt", b"Date: 2022-01-01\nURL: https://example.com/x\n", BadInput, "no title",
                 id="headers-only"),
    pytest.param("a.md", b"---\ntags: [x]\n---\n" + b"A long first paragraph. " * 20, BadInput,
                 "no title", id="md-no-title"),
    pytest.param("p.html", b"<html><body><script>x()</script></body></html>", BadInput, "no text",
                 id="html-empty"),
    pytest.param("f.rss", RSS_NOTHING, BadInput, "entry 1: no title and no body",
                 id="feed-entry-nothing"),
    pytest.param("f.rss", RSS_THIRD_NOTHING, BadInput, "entry 3 (guid g-3): no title and no body",
                 id="feed-third-entry-nothing"),
    pytest.param("f.json", JSON_FEED_NOTHING, BadInput, "entry 2 (id i-2): no title and no body",
                 id="json-feed-entry-nothing"),
    pytest.param("f.rss", EMPTY_RSS, BadInput, "feed has no entries", id="feed-empty-rss"),
    pytest.param("f.rss", EMPTY_MALFORMED_RSS, BadInput,
                 "feed has no entries (malformed feed: line 2, column", id="feed-empty-malformed"),
    pytest.param("f.atom", EMPTY_ATOM, BadInput, "feed has no entries", id="feed-empty-atom"),
    pytest.param("noext", EMPTY_RSS, BadInput, "feed has no entries", id="feed-empty-sniffed"),
    pytest.param("f.json", EMPTY_JSON_FEED, BadInput, "feed has no entries",
                 id="json-feed-empty"),
    pytest.param("r.json", b"[]", BadInput, "no records", id="json-empty-list"),
    pytest.param("a.md", b"---\ntitle: T\ndate: !!timestamp 2024-13-45\n---\nBody.\n", ParseError,
                 "bad YAML front matter: month must be in 1..12", id="yaml-bad-timestamp"),
    pytest.param("a.md", b"---\ntitle: T\nn: !!float abc\n---\nBody.\n", ParseError,
                 "bad YAML front matter: could not convert", id="yaml-bad-float"),
    pytest.param("a.txt", UNDECODABLE, BadInput, "undecodable", id="undecodable"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "data", "error", "fragment"), BAD_INPUTS)
def test_bad_input(name: str, data: bytes, error: type[BadInput], fragment: str) -> None:
    with pytest.raises(error) as caught:
        ingest(data, name, folder="/srv/bad")
    assert fragment.lower() in str(caught.value).lower()


NAMES = st.sampled_from(
    ["a.txt", "a.md", "a.html", "a.xml", "a.rss", "a.json", "a.ndjson", "noext", "a.bin"]
)
# Text-like inputs reach the parsers (random bytes mostly stop at decoding).
TEXTISH = st.one_of(
    st.binary(max_size=1500),
    st.text(max_size=800).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(
        st.sampled_from(
            ["---", "title: x", "<rss>", "<item>", "<title>T</title>", "{", "}", '"title":',
            "Author: A and B", "By X", "Date: 2022-02-30", "URL: http://[::1", "\n", "\n\n",
            "<html>", "# H", "&amp;", "\r", "\ufeff", "\x00", "[", "]", "é", "@x"]
        ),
        max_size=40,
    ).map(lambda parts: " ".join(parts).encode("utf-8", "surrogatepass")),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=TEXTISH, name=NAMES)
def test_any_bytes_give_articles_or_bad_input(data: bytes, name: str) -> None:
    try:
        drafts = read_document(data, name=name, path=f"/srv/fuzz/{name}")
    except BadInput:
        return
    for draft in drafts:
        try:
            article = normalise(draft, now=NOW)
        except BadInput:
            continue
        assert article.title and article.id


def test_malformed_feed_keeps_its_entries_with_a_warning() -> None:
    data = (FEEDS / "illformed.xml").read_bytes()
    feed = read_feed(data, url="http://bad.example/feed", headers={"Content-Type": "text/xml"})
    assert [d.title for d in feed.drafts] == ["Still readable entry", "Second entry"]
    assert feed.warning and "line" in feed.warning


def test_polled_feed_without_entries_is_not_an_error() -> None:
    assert read_feed(EMPTY_RSS, url="https://news.example/feed").drafts == []


def test_polled_feed_without_entries_keeps_its_recovered_error_as_a_warning() -> None:
    feed = read_feed(EMPTY_MALFORMED_RSS, url="https://news.example/feed")
    assert feed.drafts == []
    assert feed.warning == "line 2, column 45: not well-formed (invalid token)"


def test_feed_cut_short_without_entries_is_still_unreadable() -> None:
    """No entries in a document that ends early: they may have been cut off with it."""
    for data in (
        EMPTY_RSS[:-20],
        EMPTY_RSS.removesuffix(b"</channel></rss>"),
        rss_document(title="<![CDATA[T"),
    ):
        with pytest.raises(ParseError, match="not a readable feed"):
            read_feed(data, url="https://news.example/feed")


@pytest.mark.parametrize(
    ("data", "name", "titles"),
    [
        (rss_document([rss_item(description="Only a body here. And more.")]), "f.rss",
         ["Only a body here."]),
        (rss_document([rss_item(link="https://news.example/nt")]), "f.rss",
         ["https://news.example/nt"]),
        (b'{"version": "https://jsonfeed.org/version/1.1", "title": "F", "items": ['
         b'{"id": "i-1", "title": "One", "content_text": "Body."}, {"id": "i-2", "summary": "B"},'
         b' {"id": "i-3", "url": "https://news.example/i-3?utm_source=x"}]}',
         "f.json", ["One", "B", "https://news.example/i-3"]),
    ],
)  # fmt: skip
def test_feed_entries_without_a_title_are_records(
    data: bytes, name: str, titles: list[str]
) -> None:
    """Formerly refused as "no title": a text or a link is enough (tests/cases/ has more).

    An entry with only a link is here rather than in tests/cases/: its `body` is ""
    (as for a titled entry without text), which the tables' record checks refuse.
    """
    articles = ingest(data, name, folder="/srv/bad")
    assert [a.title for a in articles] == titles
    assert [a.title_derived for a in articles] == [t != "One" for t in titles]


def test_exported_record_with_an_unsafe_id_is_refused() -> None:
    data = b'{"id": "../../etc passwd", "title": "T", "body": "B"}'
    drafts = read_document(data, name="bad.json")
    with pytest.raises(BadInput, match="invalid record: id"):
        normalise(drafts[0], now=NOW)
